#!/usr/bin/env python3
"""PyTorch reference for the tabular DAE training speed that bench/tabular.ts measures.

Usage: /usr/bin/python3 bench/tabular_dae_torch.py --input 16 --hidden 256,256,256 --batch 256 [--threads 1] [--seconds 5]

Same model as latentkit's DenoisingAutoencoder with those sizes: Linear+ReLU layers
input -> hidden... -> input (the last hidden layer is the activated code), linear output,
MSE to the clean rows, Adam(1e-3); swap noise 0.15 drawn per batch from the batch's own rows
(latentkit's default 'batch' source), on the host. Rows are random normals, generated up front.
Run with MALLOC_MMAP_THRESHOLD_=4000000000 MALLOC_TRIM_THRESHOLD_=4000000000 (glibc returns
and re-maps large blocks every step otherwise). Prints one JSON object: rows_per_s, rows_per_cpu_s (process CPU time), steps, seconds.
"""

import argparse
import json
import time

import torch
import torch.nn as nn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--input', type=int, default=16)
    ap.add_argument('--hidden', default='256,256,256')
    ap.add_argument('--batch', type=int, default=256)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seconds', type=float, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    sizes = [a.input] + [int(h) for h in a.hidden.split(',')]
    layers = []
    for i in range(len(sizes) - 1):
        layers += [nn.Linear(sizes[i], sizes[i + 1]), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], a.input))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    data = torch.randn(a.batch * 64, a.input)

    def step(i):
        clean = data[(i % 64) * a.batch:((i % 64) + 1) * a.batch]
        # Swap noise: each cell, with p = 0.15, takes the same column's value from a random row of the batch.
        mask = torch.rand(clean.shape) < 0.15
        donors = clean[torch.randint(0, a.batch, clean.shape), torch.arange(a.input).expand_as(clean)]
        noisy = torch.where(mask, donors, clean)
        opt.zero_grad()
        loss = ((model(noisy) - clean) ** 2).mean()
        loss.backward()
        opt.step()

    for i in range(10):
        step(i)
    steps, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < a.seconds:
        step(steps)
        steps += 1
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({'torch': torch.__version__, 'threads': a.threads, 'batch': a.batch, 'sizes': sizes, 'steps': steps, 'seconds': sec,
                      'rows_per_s': steps * a.batch / sec, 'rows_per_cpu_s': steps * a.batch / cpu}))


if __name__ == '__main__':
    main()
