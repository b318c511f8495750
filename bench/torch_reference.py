#!/usr/bin/env python3
"""The same models and training loop in PyTorch, for `deno task bench` to measure side by side.

Reads a prepared directory (deno task prepare: summary.json, vocab.json, pairs.bin as int32 little-endian
train inputs, train targets, ...; with or without --boundaries, whose framing the pairs already carry; and,
for --model-kind headline, headlines.bin), trains the window model (the notebook's: pairs) or the headline
model (rows <s> w1 .. wn -> w1 .. wn </s> in file order, each batch padded to its longest row, padding
ignored by the loss) with Adam (lr 1e-3), the given batch, optional dropout (nn.Dropout at the project's
places) and clip_grad_norm_, then with --words draws that many words for --samples samples at once (a
headline model carrying nn.LSTM's state, a window model recomputing its window) and prints one JSON line:
{"device", "threads", "torch", "steps", "pairs" (rows of the median epoch: pairs or headlines),
"epoch_seconds": [...] (in the order run), "pairs_per_s" (of the median epoch), "last_loss",
"ms_per_word" (with --words), "max_rss_bytes" (this process's peak resident memory), "blas" (the BLAS
library loaded)}.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
from torch import nn

BOS, EOS, IGNORE = 0, 1, -1


class NextWord(nn.Module):
    """The notebook's window model; `head` is fc1's width (None: the vocabulary, the notebook's; 0: a direct
    head, fc2 alone on the flattened LSTM output). Dropout (rate `dropout`) as the project's: the embedding
    output, between LSTM layers, before fc1 and before fc2."""

    def __init__(self, vocab, embed, hidden, layers, window, head=None, dropout=0.0):
        super().__init__()
        head = vocab if head is None else head
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.fc1 = nn.Linear(window * hidden, head) if head else None
        self.fc2 = nn.Linear(head or window * hidden, vocab)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        h, _ = self.lstm(self.drop(self.embed(x)))
        h = self.drop(h.reshape(h.shape[0], -1))
        if self.fc1 is not None:
            h = self.drop(torch.relu(self.fc1(h)))
        return self.fc2(h)


class HeadlineModel(nn.Module):
    """The headline model (docs/headline-model.md): the LSTM over a whole headline, the head at every
    position: logits [B, T, V]. Dropout (rate `dropout`) at the embedding output, between LSTM layers
    (nn.LSTM's dropout=), before fc1 and before fc2, as nn.Dropout in training mode."""

    def __init__(self, vocab, embed, hidden, layers, head, dropout=0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        # head 0: a direct head, fc2 alone on the LSTM's output.
        self.fc1 = nn.Linear(hidden, head) if head else None
        self.fc2 = nn.Linear(head or hidden, vocab)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        h, _ = self.lstm(self.drop(self.embed(x)))
        return self.head(h)

    def head(self, h):
        """The head over LSTM outputs h [..., H] (dropping before each Linear in training mode)."""
        h = self.drop(h)
        if self.fc1 is not None:
            h = self.drop(torch.relu(self.fc1(h)))
        return self.fc2(h)

    def step(self, x, state):
        """One position of every row: ids x [B, 1] from nn.LSTM's state (None: zeros) -> (logits [B, V], state)."""
        h, state = self.lstm(self.drop(self.embed(x)), state)
        return self.head(h[:, -1]), state


def read_headlines(prepared):
    """summary, vocab and the training headlines' ids (lists) of a prepared directory, checked."""
    with open(os.path.join(prepared, "summary.json")) as f:
        summary = json.load(f)
    with open(os.path.join(prepared, "vocab.json")) as f:
        vocab = json.load(f)
    if not summary.get("boundaries") or vocab[:2] != ["<s>", "</s>"]:
        sys.exit(f"{prepared}: a headline model needs a directory prepared with --boundaries")
    file = summary.get("headlines_file")
    if not file:
        sys.exit(f"{prepared}: no headlines.bin (prepared before headline models): prepare it again")
    with open(os.path.join(prepared, file["name"]), "rb") as f:
        ints = np.frombuffer(f.read(), dtype="<i4")
    n = file["train"] + file["val"]
    lengths = ints[:n]
    if len(ints) != n + int(lengths.sum()):
        sys.exit(f"{prepared}: headlines.bin does not hold {n} headlines")
    out, at = [], n
    for length in lengths[: file["train"]]:
        out.append([int(i) for i in ints[at : at + length]])
        at += length
    if any(i < 0 or i >= len(vocab) for ids in out for i in ids):
        sys.exit(f"{prepared}: a training headline holds an id outside the vocabulary")
    return summary, vocab, out


def rows_of(headlines):
    """One row per headline with words: inputs <s> w1 .. wn, targets w1 .. wn </s>."""
    return [([BOS] + ids, ids + [EOS]) for ids in headlines if ids]


def batch_tensors(rows):
    """A batch's inputs and targets [B, T], padded to its longest row (inputs <s>, targets -1)."""
    T = max(len(i) for i, _ in rows)
    inputs = torch.full((len(rows), T), BOS, dtype=torch.long)
    targets = torch.full((len(rows), T), IGNORE, dtype=torch.long)
    for r, (i, t) in enumerate(rows):
        inputs[r, : len(i)] = torch.tensor(i)
        targets[r, : len(t)] = torch.tensor(t)
    return inputs, targets


def blas_library():
    """The BLAS shared library(ies) this process mapped: on CPU, PyTorch's GEMM speed is mostly theirs
    (Debian's torch calls whatever libblas.so.3 points to: the netlib reference one, OpenBLAS, ...)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if line.rstrip().endswith(".so") or ".so." in line}
    except OSError:
        return None
    found = sorted(p for p in paths if "blas" in os.path.basename(p) or "mkl" in os.path.basename(p))
    return ", ".join(found) or None


def window_batches(prepared, summary, batch, device):
    """A window model's batches: the training pairs in file order, `batch` at a time."""
    T, P = summary["window"], summary["pairs"]
    with open(os.path.join(prepared, "pairs.bin"), "rb") as f:
        raw = torch.frombuffer(bytearray(f.read()), dtype=torch.int32)
    inputs = raw[: P * T].reshape(P, T).long().to(device)
    targets = raw[P * T : P * T + P].long().to(device)
    return [(inputs[s : s + batch], targets[s : s + batch]) for s in range(0, P, batch)]


def headline_batches(prepared, batch, device):
    """A headline model's batches: its training rows in file order, `batch` at a time, each padded to its
    longest row (made before timing, as the GPU backend's rows are uploaded once)."""
    rows = rows_of(read_headlines(prepared)[2])
    out = []
    for s in range(0, len(rows), batch):
        xb, yb = batch_tensors(rows[s : s + batch])
        out.append((xb.to(device), yb.to(device)))
    return out


def word_latency(model, kind, context, words, samples):
    """Milliseconds per word of drawing `words` words for `samples` samples together (temperature 1), after a
    warm-up of 2: a headline model one LSTM step from the carried state per word, a window model its window's
    forward."""
    gen = torch.Generator().manual_seed(0)
    model.eval()

    def draw(n):
        if kind == "headline":
            x, state = torch.full((samples, 1), BOS, dtype=torch.long), None
            for _ in range(n):
                logits, state = model.step(x, state)
                x = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)
        else:
            window = context.repeat(samples, 1)
            for _ in range(n):
                logits = model(window)
                nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)
                window = torch.cat([window[:, 1:], nxt], 1)

    with torch.no_grad():
        draw(2)
        t0 = time.perf_counter()
        draw(words)
        ms = (time.perf_counter() - t0) * 1000 / words
    model.train()
    return ms


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prepared")
    ap.add_argument("--model-kind", choices=["window", "headline"], default="window")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    ap.add_argument("--max-steps", type=int, default=0, help="steps per epoch (0 = all)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--embed", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--head", type=int, default=None, help="fc1's width (default: the vocabulary; 0: direct)")
    ap.add_argument("--tie", action="store_true", help="fc2.weight is embed.weight")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--clip", type=float, default=None, help="clip_grad_norm_ before every step")
    ap.add_argument("--words", type=int, default=0, help="then draw this many words per sample, timed")
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(os.path.join(args.prepared, "summary.json")) as f:
        summary = json.load(f)
    V = summary["vocab"]
    headline = args.model_kind == "headline"
    if headline:
        batches = headline_batches(args.prepared, args.batch, args.device)
        head = V if args.head is None else args.head
        model = HeadlineModel(V, args.embed, args.hidden, args.layers, head, args.dropout)
    else:
        batches = window_batches(args.prepared, summary, args.batch, args.device)
        model = NextWord(V, args.embed, args.hidden, args.layers, summary["window"], args.head, args.dropout)
    if args.tie:
        model.fc2.weight = model.embed.weight
    model = model.to(args.device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE)
    steps_per_epoch = len(batches)
    if args.max_steps:
        steps_per_epoch = min(steps_per_epoch, args.max_steps)

    def epoch():
        rows = 0
        for xb, yb in batches[:steps_per_epoch]:
            opt.zero_grad()
            loss = loss_fn(model(xb).reshape(-1, V), yb.reshape(-1))
            loss.backward()
            if args.clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            rows += len(yb)
        if args.device == "cuda":
            torch.cuda.synchronize()
        return rows, loss.item()

    epoch()  # warm-up
    times, rows = [], 0
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        n, last = epoch()
        times.append(time.perf_counter() - t0)
        rows = n
    median = sorted(times)[len(times) // 2]
    result = {
        "device": args.device if args.device != "cuda" else torch.cuda.get_device_name(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "steps": steps_per_epoch,
        "pairs": rows,
        "epoch_seconds": times,
        "pairs_per_s": rows / median,
        "last_loss": last,
    }
    if args.words > 0 and args.device == "cpu":
        context = batches[0][0][:1].cpu()
        result["ms_per_word"] = word_latency(model, args.model_kind, context, args.words, args.samples)
    # Linux reports ru_maxrss in KiB.
    result["max_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["blas"] = blas_library()
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
