#!/usr/bin/env python3
"""The same model and training loop in PyTorch, for `deno task bench` to measure side by side.

Reads a prepared directory (deno task prepare: summary.json, vocab.json, pairs.bin as int32 little-endian
train inputs, train targets, ...; with or without --boundaries, whose framing the pairs already carry), trains
with the notebook's model, Adam and batch size, and prints one JSON
line: {"device", "threads", "torch", "steps", "pairs", "epoch_seconds": [...] (in the order run),
"pairs_per_s" (of the median epoch), "last_loss", "max_rss_bytes" (this process's peak resident memory),
"blas" (the BLAS library loaded)}.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
from torch import nn


class NextWord(nn.Module):
    """The notebook's window model; `head` is fc1's width (None: the vocabulary, the notebook's)."""

    def __init__(self, vocab, embed, hidden, layers, window, head=None):
        super().__init__()
        head = head or vocab
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.fc1 = nn.Linear(window * hidden, head)
        self.fc2 = nn.Linear(head, vocab)

    def forward(self, x):
        h, _ = self.lstm(self.embed(x))
        return self.fc2(torch.relu(self.fc1(h.reshape(h.shape[0], -1))))


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
        h = self.drop(h)
        if self.fc1 is not None:
            h = self.drop(torch.relu(self.fc1(h)))
        return self.fc2(h)


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


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("prepared")
    ap.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    ap.add_argument("--max-steps", type=int, default=0, help="steps per epoch (0 = all)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--embed", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with open(os.path.join(args.prepared, "summary.json")) as f:
        summary = json.load(f)
    V, T, P = summary["vocab"], summary["window"], summary["pairs"]
    raw = torch.frombuffer(bytearray(open(os.path.join(args.prepared, "pairs.bin"), "rb").read()), dtype=torch.int32)
    inputs = raw[: P * T].reshape(P, T).long().to(args.device)
    targets = raw[P * T : P * T + P].long().to(args.device)

    model = NextWord(V, args.embed, args.hidden, args.layers, T).to(args.device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    steps_per_epoch = (P + args.batch - 1) // args.batch
    if args.max_steps:
        steps_per_epoch = min(steps_per_epoch, args.max_steps)

    def epoch():
        pairs = 0
        for s in range(steps_per_epoch):
            xb = inputs[s * args.batch : (s + 1) * args.batch]
            yb = targets[s * args.batch : (s + 1) * args.batch]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            pairs += len(yb)
        if args.device == "cuda":
            torch.cuda.synchronize()
        return pairs, loss.item()

    epoch()  # warm-up
    times, pairs = [], 0
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        n, last = epoch()
        times.append(time.perf_counter() - t0)
        pairs = n
    median = sorted(times)[len(times) // 2]
    print(json.dumps({
        "device": args.device if args.device != "cuda" else torch.cuda.get_device_name(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "steps": steps_per_epoch,
        "pairs": pairs,
        "epoch_seconds": times,
        "pairs_per_s": pairs / median,
        "last_loss": last,
        # Linux reports ru_maxrss in KiB.
        "max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "blas": blas_library(),
    }))


if __name__ == "__main__":
    sys.exit(main())
