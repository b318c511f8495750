#!/usr/bin/env python3
"""A PyTorch parity fixture: the project's model trained by PyTorch, for tests/parity_*_test.ts to replay.

Reads a prepared directory (`deno task prepare`: summary.json, vocab.json, pairs.bin as int32 little-endian
train inputs, train targets, val inputs, val targets) and trains the model of bench/torch_reference.py
(NextWord, the same class the bench measures) on its training pairs in file order: no shuffle, step s takes
batch (s mod steps_per_epoch) of the epoch, the last batch of an epoch shorter; nn.CrossEntropyLoss (mean),
torch.optim.Adam(lr=1e-3) with its defaults (with --clip MAX_NORM, torch.nn.utils.clip_grad_norm_ between
backward and the step), float32 on the CPU, torch.manual_seed(SEED) just before the model is built.
Everything about the data (window, vocabulary, pairs) comes from the prepared directory, so any other
prepared directory (another corpus, --min-count, a validation split) makes a fixture unchanged.

Writes into OUT (created if needed; these four files are overwritten):
  init.safetensors   the weights before step 1 (PyTorch state_dict names and order, F32)
  final.safetensors  the weights after the last step
  steps.json         {"losses": [one per step], "grad_norms": [with --clip: clip_grad_norm_'s total norm
                     of each step, before clipping], "settings": {model sizes, batch, steps, seed, optimizer,
                     loss, order, the prepared directory's summary and the SHA-256 of its pairs.bin,
                     torch version, threads, the command}}
  vocab.json         the prepared directory's vocabulary, copied

One thread (--threads 1, the default) makes the run reproducible bit for bit on one machine: PyTorch may
split a GEMM's sums differently across threads.

--corpus CSV rebuilds the training pairs here, in Python, from the CSV the directory was prepared from (the
notebook's cleaning: drop "Unknown", delete string.punctuation, lower-case, split; the vocabulary in order of
first appearance; with the directory's headline boundaries, each headline framed as `window` "<s>", its
words, "</s>", with "<s>" and "</s>" at ids 0 and 1) and refuses to train unless they equal pairs.bin's:
the framing is then checked by a second implementation, not only replayed. It needs a directory prepared
with --min-count 1 and no validation split.
"""
import argparse
import csv
import hashlib
import json
import os
import shlex
import string
import sys

import torch
from torch import nn

from torch_reference import NextWord

LR = 1e-3


def read_prepared(prepared):
    """summary, vocab, train inputs [P, T] and targets [P] (int64) of a prepared directory, checked."""
    with open(os.path.join(prepared, "summary.json")) as f:
        summary = json.load(f)
    with open(os.path.join(prepared, "vocab.json")) as f:
        vocab = json.load(f)
    V, T, P, PV = summary["vocab"], summary["window"], summary["pairs"], summary["val_pairs"]
    if len(vocab) != V:
        sys.exit(f"{prepared}: vocab.json has {len(vocab)} words, summary.json says {V}")
    with open(os.path.join(prepared, "pairs.bin"), "rb") as f:
        raw_bytes = f.read()
    want = 4 * (P + PV) * (T + 1)
    if len(raw_bytes) != want:
        sys.exit(f"{prepared}: pairs.bin has {len(raw_bytes)} bytes, expected {want}")
    # '<i4' is little-endian whatever the host; frombuffer needs a writable buffer to avoid a warning.
    raw = torch.frombuffer(bytearray(raw_bytes), dtype=torch.int32)
    if sys.byteorder != "little":
        sys.exit("make_parity_fixture: pairs.bin is little-endian; this host is not")
    inputs = raw[: P * T].reshape(P, T).long()
    targets = raw[P * T : P * T + P].long()
    if int(raw.min()) < 0 or int(raw.max()) >= V:
        sys.exit(f"{prepared}: pairs.bin holds ids outside the vocabulary of {V}")
    return summary, vocab, inputs, targets, hashlib.sha256(raw_bytes).hexdigest()


def corpus_pairs(path, column, window, boundaries):
    """Vocabulary and training pairs (inputs [P, T], targets [P], int64) of a CSV, built here in Python."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        fields = [row[column] for row in csv.DictReader(f)]
    drop = str.maketrans("", "", string.punctuation)
    headlines = [h.translate(drop).lower().split() for h in fields if h != "Unknown"]
    specials = ["<s>", "</s>"] if boundaries else []
    vocab = list(specials)
    for words in headlines:
        for w in words:
            if w not in vocab:
                vocab.append(w)
    ids = {w: i for i, w in enumerate(vocab)}
    inputs, targets = [], []
    for words in headlines:
        if boundaries and not words:
            continue  # nothing to frame
        seq = [ids[w] for w in words]
        if boundaries:
            seq = [ids["<s>"]] * window + seq + [ids["</s>"]]
        for i in range(len(seq) - window):
            inputs.append(seq[i : i + window])
            targets.append(seq[i + window])
    return vocab, torch.tensor(inputs, dtype=torch.long).reshape(-1, window), torch.tensor(targets, dtype=torch.long)


def check_corpus(path, summary, vocab, inputs, targets):
    """Exits unless the pairs rebuilt from `path` by corpus_pairs are the prepared directory's."""
    if summary["min_count"] != 1 or summary["val_pairs"] != 0:
        sys.exit("--corpus: the prepared directory must have --min-count 1 and no validation split")
    boundaries = summary.get("boundaries", False)
    ours, ins, tgts = corpus_pairs(path, summary.get("column", "headline"), summary["window"], boundaries)
    if ours != vocab:
        sys.exit(f"--corpus: the vocabulary rebuilt from {path} differs from the prepared one")
    if not (torch.equal(ins, inputs) and torch.equal(tgts, targets)):
        sys.exit(f"--corpus: the pairs rebuilt from {path} differ from pairs.bin's")
    print(f"{path}: {len(tgts)} pairs rebuilt in Python (boundaries {boundaries}) equal pairs.bin's")


def write_safetensors(path, state):
    """The safetensors format (u64 LE header length, JSON header padded with spaces to 8 bytes, raw
    little-endian data), written here so the fixture needs no package beyond torch."""
    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prepared", help="a prepared directory (deno task prepare --out DIR)")
    ap.add_argument("out", help="the fixture directory to write")
    ap.add_argument("--embed", type=int, required=True)
    ap.add_argument("--hidden", type=int, required=True)
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--steps", type=int, required=True, help="optimizer steps (may run past one epoch)")
    ap.add_argument("--seed", type=int, default=0, help="torch.manual_seed before the model is built")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--corpus", help="the CSV the directory was prepared from: rebuild its pairs and compare")
    ap.add_argument("--clip", type=float, help="clip_grad_norm_(params, CLIP) before each step")
    args = ap.parse_args()
    if args.clip is not None and not args.clip > 0:
        ap.error("--clip must be a positive number")
    for name in ("embed", "hidden", "layers", "batch", "steps", "threads"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be a positive integer")

    torch.set_num_threads(args.threads)
    summary, vocab, inputs, targets, pairs_sha256 = read_prepared(args.prepared)
    if args.corpus:
        check_corpus(args.corpus, summary, vocab, inputs, targets)
    V, T = summary["vocab"], summary["window"]
    P = inputs.shape[0]
    steps_per_epoch = (P + args.batch - 1) // args.batch

    torch.manual_seed(args.seed)
    model = NextWord(V, args.embed, args.hidden, args.layers, T)
    os.makedirs(args.out, exist_ok=True)
    write_safetensors(os.path.join(args.out, "init.safetensors"), model.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    losses, grad_norms = [], []
    for s in range(args.steps):
        start = (s % steps_per_epoch) * args.batch
        xb, yb = inputs[start : start + args.batch], targets[start : start + args.batch]
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        if args.clip is not None:
            grad_norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip).item())
        opt.step()
        losses.append(loss.item())
    write_safetensors(os.path.join(args.out, "final.safetensors"), model.state_dict())

    defaults = opt.defaults
    settings = {
        "model": {"vocab": V, "embed": args.embed, "hidden": args.hidden, "layers": args.layers, "window": T},
        "batch": args.batch,
        "steps": args.steps,
        "steps_per_epoch": steps_per_epoch,
        "seed": args.seed,
        "order": "file order, no shuffle; step s takes batch s mod steps_per_epoch",
        "loss": "nn.CrossEntropyLoss, mean over the batch",
        "optimizer": {
            "name": "torch.optim.Adam",
            "lr": defaults["lr"],
            "betas": list(defaults["betas"]),
            "eps": defaults["eps"],
            "weight_decay": defaults["weight_decay"],
            **({"clip_grad_norm": args.clip} if args.clip is not None else {}),
        },
        "data": {k: v for k, v in summary.items() if k not in ("format", "pairs_file")},
        "pairs_sha256": pairs_sha256,
        "pairs_rebuilt_in_python_from": os.path.basename(args.corpus) if args.corpus else None,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
    }
    steps = {"losses": losses, "settings": settings}
    if args.clip is not None:
        steps = {"losses": losses, "grad_norms": grad_norms, "settings": settings}
    write_json(os.path.join(args.out, "steps.json"), steps)
    write_json(os.path.join(args.out, "vocab.json"), vocab)
    print(
        f"{args.out}: {args.steps} steps ({steps_per_epoch} an epoch) of V={V} E={args.embed} H={args.hidden} "
        f"L={args.layers} T={T} batch {args.batch}: loss {losses[0]:.6f} -> {losses[-1]:.6f}"
    )
    if args.clip is not None:
        clipped = sum(1 for n in grad_norms if args.clip / (n + 1e-6) < 1)
        span = f"norms {min(grad_norms):.4g} to {max(grad_norms):.4g}"
        print(f"clip {args.clip}: {clipped} of {args.steps} steps clipped ({span})")


if __name__ == "__main__":
    sys.exit(main())
