#!/usr/bin/env python3
"""The chapter's experiment in PyTorch, for timing against `latentkit train --preset seed-cnn`.

Usage:
    /usr/bin/python3 bench/pytorch_chapter.py [--epochs 20] [--threads 1] [--out DIR]
                                              [--limit-train N] [--limit-valid N]

Same work as the CLI: the chapter's ConvAutoencoder, Fashion-MNIST train split (60,000 images,
pixel / 255) reshuffled every epoch in batches of 32 (last batch partial), Adam lr 0.02, MSE;
after each epoch the mean loss on the test split (10,000 images, batches of 32, no grad) and
the last and best state_dicts saved to --out. Reads the IDX files of Debian's
dataset-fashion-mnist. Prints one JSON object on stdout (per-epoch losses, seconds, peak RSS);
progress goes to stderr. Wall time and peak RSS of the whole process are best measured from
outside (bench/run_measured.py), as bench/bench.ts does.
"""

import argparse
import gzip
import json
import os
import resource
import struct
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts'))
from torch_models import ConvAutoencoder  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def read_images(path, limit):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, h, w = struct.unpack(">IIII", data[:16])
    assert magic == 0x803 and h == 28 and w == 28, (path, magic, h, w)
    n = n if limit is None else min(n, limit)
    px = np.frombuffer(data, dtype=np.uint8, count=n * 784, offset=16)
    return torch.from_numpy((px.astype(np.float32) / 255.0).reshape(n, 1, 28, 28))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--out", default=None, help="checkpoint folder (default: a temporary one)")
    ap.add_argument("--limit-train", type=int, default=None)
    ap.add_argument("--limit-valid", type=int, default=None)
    args = ap.parse_args()

    t_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    train = read_images(os.path.join(args.data_dir, "train-images-idx3-ubyte.gz"), args.limit_train)
    valid = read_images(os.path.join(args.data_dir, "t10k-images-idx3-ubyte.gz"), args.limit_valid)
    out = args.out or tempfile.mkdtemp(prefix="pytorch-chapter-")
    os.makedirs(out, exist_ok=True)

    model = ConvAutoencoder()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    B = args.batch_size
    history, best = [], float("inf")
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(train.shape[0])
        total, seen = 0.0, 0
        for i in range(0, train.shape[0], B):
            x = train[perm[i:i + B]]
            opt.zero_grad()
            loss = F.mse_loss(model(x), x)
            loss.backward()
            opt.step()
            total += float(loss) * x.shape[0]
            seen += x.shape[0]
        model.eval()
        vtotal = 0.0
        with torch.no_grad():
            for i in range(0, valid.shape[0], B):
                x = valid[i:i + B]
                vtotal += float(F.mse_loss(model(x), x)) * x.shape[0]
        rec = {"epoch": epoch + 1, "train_loss": total / seen, "valid_loss": vtotal / valid.shape[0], "seconds": time.perf_counter() - t0}
        torch.save(model.state_dict(), os.path.join(out, "last.pt"))
        if rec["valid_loss"] < best:
            best = rec["valid_loss"]
            torch.save(model.state_dict(), os.path.join(out, "best.pt"))
        history.append(rec)
        print("epoch %d/%d: train loss %.5f valid loss %.5f (%.1f s)" % (epoch + 1, args.epochs, rec["train_loss"], rec["valid_loss"], rec["seconds"]), file=sys.stderr, flush=True)

    print(json.dumps({
        "epochs": args.epochs, "threads": args.threads, "train_images": train.shape[0], "valid_images": valid.shape[0],
        "seconds_in_script": time.perf_counter() - t_start, "history": history, "best_valid_loss": best,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "out": out,
    }))


if __name__ == "__main__":
    main()
