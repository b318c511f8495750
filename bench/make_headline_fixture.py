#!/usr/bin/env python3
"""A PyTorch parity fixture for the headline model (docs/headline-model.md), with dropout whose masks are fed
to PyTorch: tests/parity_*_test.ts replay it on the CPU reference and on WebGPU.

Reads a prepared directory made with --boundaries (`deno task prepare`: summary.json, vocab.json and
headlines.bin, int32 little-endian: each headline's word count, training then validation, then their word
ids) and trains bench/torch_reference.py's HeadlineModel on its training headlines: a headline of n words is
one row, inputs <s> w1 .. wn, targets w1 .. wn </s>; rows in file order, no shuffle; step s takes batch
(s mod steps_per_epoch), the last batch of an epoch shorter; a batch's rows are padded to its longest row
(targets -1, ignored: nn.CrossEntropyLoss(ignore_index=-1), mean over the batch's targets);
torch.optim.Adam(lr) with its defaults, float32 on the CPU, torch.manual_seed(SEED) just before the model is
built.

Dropout masks are not PyTorch's own: they are computed here from the project's counter hash, exactly as the
CPU reference and the WGSL kernels compute them (src/model/dropout.ts), and multiplied in by a forward pass
written out from the model's parameters (the LSTM cell spelled out, as nn.LSTM computes it: gate order
i, f, g, o); without dropout that pass is checked against the model's own forward (nn.LSTM) first.
  lb(x)                  = x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16 (u32)
  key(seed, step, site)  = lb(seed ^ lb(step ^ lb(site)))
  kept(i)                = lb(key ^ lb(i)) >= floor(rate * 2^32), kept values times float32(1 / (1 - rate))
step: the optimizer step being taken (1-based); site: 0 the embedding output, k the input of LSTM layer k,
layers before fc1, layers + 1 before fc2; i: the element's index in the site's [rows * positions, width]
activation of the batch.

Writes into OUT: init.safetensors, final.safetensors, steps.json ({"losses", "settings"}), vocab.json (as
bench/make_parity_fixture.py). --corpus CSV rebuilds the headlines' ids here, in Python, from the CSV the
directory was prepared from and refuses to train unless they equal headlines.bin's (needs --min-count 1 and
no validation split).
"""
import argparse
import json
import os
import shlex
import sys

import numpy as np
import torch
from torch import nn

from make_parity_fixture import corpus_pairs, write_json, write_safetensors
from torch_reference import EOS, IGNORE, HeadlineModel, batch_tensors, read_headlines, rows_of


def lowbias32(x):
    """Elementwise over u32 values (an int or an array), in uint64 so the products do not wrap early."""
    u = np.uint64
    x = np.asarray(x, dtype=u) & u(0xFFFFFFFF)
    x = x ^ (x >> u(16))
    x = (x * u(0x7FEB352D)) & u(0xFFFFFFFF)
    x = x ^ (x >> u(15))
    x = (x * u(0x846CA68B)) & u(0xFFFFFFFF)
    return x ^ (x >> u(16))


def dropout_mask(rate, seed, step, site, n):
    """The mask (0 or the float32 keep scale) of n elements of one site at one step, as a float32 tensor."""
    key = int(lowbias32(seed ^ int(lowbias32(step ^ int(lowbias32(site))))))
    kept = lowbias32(np.uint64(key) ^ lowbias32(np.arange(n, dtype=np.uint64))) >= np.uint64(int(rate * 2.0**32))
    scale = np.float32(1.0 / (1.0 - rate))
    return torch.from_numpy(np.where(kept, scale, np.float32(0)).astype(np.float32))


def forward_masked(model, x, rate, seed, step):
    """The model's logits [B, T, V] for ids x [B, T], with the hash's masks at the four sites (rate 0: none)."""
    B, T = x.shape
    L, H = model.lstm.num_layers, model.lstm.hidden_size

    def drop(a, site):
        if rate == 0:
            return a
        return a * dropout_mask(rate, seed, step, site, a.numel()).view(a.shape)

    inp = drop(model.embed(x), 0)
    for k in range(L):
        if k > 0:
            inp = drop(inp, k)
        w_ih, w_hh = getattr(model.lstm, f"weight_ih_l{k}"), getattr(model.lstm, f"weight_hh_l{k}")
        b_ih, b_hh = getattr(model.lstm, f"bias_ih_l{k}"), getattr(model.lstm, f"bias_hh_l{k}")
        h = torch.zeros(B, H)
        c = torch.zeros(B, H)
        outs = []
        for t in range(T):
            gates = inp[:, t] @ w_ih.t() + b_ih + h @ w_hh.t() + b_hh
            i, f, g, o = gates.chunk(4, dim=1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
            c = f * c + i * g
            h = o * torch.tanh(c)
            outs.append(h)
        inp = torch.stack(outs, dim=1)
    out = drop(inp, L)
    if model.fc1 is not None:
        out = drop(torch.relu(model.fc1(out)), L + 1)
    return model.fc2(out)


def check_corpus(path, summary, vocab, headlines):
    """Exits unless the headlines rebuilt from `path` in Python are headlines.bin's training ones."""
    if summary["min_count"] != 1 or summary["val_fraction"] != 0:
        sys.exit("--corpus: the prepared directory must have --min-count 1 and no validation split")
    # corpus_pairs with window 1 and boundaries: each headline's pairs are <s>->w1, ..., wn-></s>.
    ours, inputs, targets = corpus_pairs(path, summary.get("column", "headline"), 1, True)
    if ours != vocab:
        sys.exit(f"--corpus: the vocabulary rebuilt from {path} differs from the prepared one")
    rebuilt, current = [], []
    for t in targets.tolist():
        if t == EOS:
            rebuilt.append(current)
            current = []
        else:
            current.append(t)
    if rebuilt != [ids for ids in headlines if ids]:
        sys.exit(f"--corpus: the headlines rebuilt from {path} differ from headlines.bin's")
    print(f"{path}: {len(rebuilt)} headlines rebuilt in Python equal headlines.bin's")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prepared")
    ap.add_argument("out")
    for name in ("embed", "hidden", "layers", "head", "batch", "steps"):
        ap.add_argument(f"--{name}", type=int, required=True, help="--head 0: a direct head" if name == "head" else None)
    ap.add_argument("--dropout", type=float, default=0.0, help="rate at the four sites, in [0, 1)")
    ap.add_argument("--tie", action="store_true", help="fc2.weight is embed.weight (needs fc2's inputs = --embed)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0, help="torch.manual_seed, and the dropout masks' seed")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--corpus")
    args = ap.parse_args()
    if not 0 <= args.dropout < 1:
        ap.error("--dropout must be in [0, 1)")

    torch.set_num_threads(args.threads)
    summary, vocab, headlines = read_headlines(args.prepared)
    if args.corpus:
        check_corpus(args.corpus, summary, vocab, headlines)
    rows = rows_of(headlines)
    V = len(vocab)
    steps_per_epoch = (len(rows) + args.batch - 1) // args.batch

    torch.manual_seed(args.seed)
    model = HeadlineModel(V, args.embed, args.hidden, args.layers, args.head, args.dropout)
    if args.tie:
        if (args.head or args.hidden) != args.embed:
            ap.error("--tie needs fc2's inputs (--head, or --hidden with --head 0) equal to --embed")
        model.fc2.weight = model.embed.weight
    # The spelled-out pass is the model's own without dropout.
    probe_in, _ = batch_tensors(rows[: args.batch])
    model.eval()
    with torch.no_grad():
        ours, theirs = forward_masked(model, probe_in, 0.0, 0, 1), model(probe_in)
    if not torch.allclose(ours, theirs, rtol=1e-5, atol=1e-6):
        sys.exit(f"the spelled-out forward differs from nn.LSTM's by {float((ours - theirs).abs().max())}")
    model.train()
    os.makedirs(args.out, exist_ok=True)
    write_safetensors(os.path.join(args.out, "init.safetensors"), model.state_dict())
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss(ignore_index=IGNORE)
    losses = []
    for s in range(args.steps):
        first = (s % steps_per_epoch) * args.batch
        xb, yb = batch_tensors(rows[first : first + args.batch])
        opt.zero_grad()
        logits = forward_masked(model, xb, args.dropout, args.seed, s + 1)
        loss = loss_fn(logits.reshape(-1, V), yb.reshape(-1))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    write_safetensors(os.path.join(args.out, "final.safetensors"), model.state_dict())

    d = opt.defaults
    settings = {
        "model": {
            "kind": "headline",
            "vocab": V,
            "embed": args.embed,
            "hidden": args.hidden,
            "layers": args.layers,
            "window": 1,
            "head": args.head,
            **({"tie": True} if args.tie else {}),
        },
        "dropout": {"rate": args.dropout, "seed": args.seed},
        "batch": args.batch,
        "steps": args.steps,
        "steps_per_epoch": steps_per_epoch,
        "seed": args.seed,
        "order": "file order, no shuffle; step s takes batch s mod steps_per_epoch, padded to its longest row",
        "loss": "nn.CrossEntropyLoss(ignore_index=-1), mean over the batch's targets",
        "optimizer": {
            "name": "torch.optim.Adam",
            "lr": d["lr"],
            "betas": list(d["betas"]),
            "eps": d["eps"],
            "weight_decay": d["weight_decay"],
        },
        "data": {k: v for k, v in summary.items() if k not in ("format", "pairs_file", "headlines_file")},
        "headlines_rebuilt_in_python_from": os.path.basename(args.corpus) if args.corpus else None,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "command": " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]),
    }
    write_json(os.path.join(args.out, "steps.json"), {"losses": losses, "settings": settings})
    write_json(os.path.join(args.out, "vocab.json"), vocab)
    print(
        f"{args.out}: {args.steps} steps ({steps_per_epoch} an epoch) of a headline model V={V} E={args.embed} "
        f"H={args.hidden} L={args.layers} M={args.head}{' tied' if args.tie else ''} dropout {args.dropout} batch {args.batch}: "
        f"loss {losses[0]:.6f} -> {losses[-1]:.6f}"
    )


if __name__ == "__main__":
    sys.exit(main())
