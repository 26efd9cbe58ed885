#!/usr/bin/env python3
"""PyTorch reference benchmark for the workloads latentkit benchmarks.

Usage:
    python3 bench/pytorch_bench.py [--threads 1] [--seconds 3] [--warmup 3]
                                   [--workloads conv_train_b32,conv_infer_b1000,...]

(On the dev box the pyenv `python3` has no torch; use /usr/bin/python3.)

Prints exactly ONE JSON object on stdout; progress goes to stderr:
    {"torch_version": ..., "threads": t, "seconds": s, "results": [
        {"workload": ..., "threads": t, "batch": b, "images_per_s": ...,
         "steps": n, "elapsed_s": ..., "ms_per_step": ..., "peak_rss_mb_after": ...}, ...],
     "peak_rss_mb": ...}

Methodology: inputs are generated once up front (torch.rand, not timed). Each
workload runs --warmup untimed steps, then as many steps as fit in --seconds
(at least one); images_per_s = steps * batch / elapsed. A training step is
zero_grad, forward, loss, backward, optimizer step; inference is forward only
under torch.no_grad() with model.eval(). `conv_epoch` is timed once: 60000
images (pre-generated, about 180 MiB as float32) in 1875 contiguous batches of
32, not shuffled. peak RSS is resource.getrusage(RUSAGE_SELF).ru_maxrss, which
only ever grows, so per-result values show the peak so far (run a single
workload to get its own peak).

Workloads:
  conv_train_b32, conv_train_b256   ConvAutoencoder, Adam(lr=0.02), MSE to input
  conv_infer_b32, conv_infer_b1000  ConvAutoencoder forward only
  colour32_train_b64                the cnn preset at [3, 32, 32], Adam(lr=2e-3), MSE to input
  mlp_train_b256                    784-512-256-32-256-512-784 (ReLU, Sigmoid out), Adam(1e-3), MSE
  lstm_train_b256                   LSTM(28,128) encoder -> LSTM(28,128) decoder fed zeros
                                    with the encoder's final (h, c) -> Linear(128,28);
                                    target = input reversed in time; Adam(1e-3), MSE
  conv_epoch                        one epoch of 60000 images at batch 32 (conv train step)
"""

import argparse
import json
import platform
import resource
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts'))
from torch_models import ConvAutoencoder  # noqa: E402  (shared with the fixture script)


class MlpAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 32))
        self.decoder = nn.Sequential(
            nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 784), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class DeepConvColour32(nn.Module):
    """latentkit's `cnn` preset built for [3, 32, 32] (DeepConvAutoencoder(4, 16, [3, 32, 32]))."""

    def __init__(self, bottleneck=4, w=16):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(3, w, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * w * 64, bottleneck))
        self.decoder = nn.Sequential(
            nn.Linear(bottleneck, 2 * w * 64), nn.ReLU(), nn.Unflatten(1, (2 * w, 8, 8)),
            nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(w, 3, 4, stride=2, padding=1), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class LstmAutoencoder(nn.Module):
    def __init__(self, features=28, hidden=128):
        super().__init__()
        self.encoder = nn.LSTM(features, hidden, batch_first=True)
        self.decoder = nn.LSTM(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, features)

    def forward(self, x):
        _, (h, c) = self.encoder(x)
        out, _ = self.decoder(torch.zeros_like(x), (h, c))
        return self.head(out)


def build_info():
    """BLAS/LAPACK flavour torch was built against plus the libblas it actually loaded.

    Debian's python3-torch is built with BLAS_INFO=generic and uses whatever
    /usr/lib/x86_64-linux-gnu/libblas.so.3 points to; with only libblas3
    installed that is the unoptimised reference (Netlib) BLAS, which makes
    GEMM-heavy workloads (mlp, lstm) many times slower than a pip/conda torch.
    """
    info = {}
    cfg = torch.__config__.show()
    for key in ("BLAS_INFO", "LAPACK_INFO", "USE_MKLDNN", "USE_OPENMP"):
        i = cfg.find(key + "=")
        if i >= 0:
            info[key.lower()] = cfg[i + len(key) + 1:].split(",")[0].strip()
    info["mkl"] = torch.backends.mkl.is_available()
    info["mkldnn"] = torch.backends.mkldnn.is_available()
    try:  # which libblas is mapped into the process (Linux only)
        with open("/proc/self/maps") as f:
            libs = sorted({ln.split()[-1] for ln in f if "blas" in ln.lower() and "/" in ln})
        info["blas_libs"] = [os.path.realpath(x) for x in libs]
    except OSError:
        pass
    try:  # which OpenBLAS kernel (core type) and thread pools are in use
        from threadpoolctl import threadpool_info
        info["threadpools"] = [{k: d.get(k) for k in ("internal_api", "version", "architecture", "threading_layer", "num_threads")}
                               for d in threadpool_info()]
    except ImportError:  # Debian: python3-threadpoolctl
        info["torch_config"] = torch.__config__.show()
    # The settings that decide allocator and BLAS kernel (bench/bench.ts varies them).
    info["env"] = {k: v for k, v in os.environ.items() if k.startswith(("MALLOC_", "OPENBLAS_")) or k == "LD_PRELOAD"}
    return info


def peak_rss_mb():
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    if sys.platform == "darwin":  # bytes on macOS
        kb /= 1024.0
    return kb / 1024.0


def timed_loop(step, warmup, seconds):
    for _ in range(warmup):
        step()
    steps = 0
    t0 = time.perf_counter()
    while True:
        step()
        steps += 1
        el = time.perf_counter() - t0
        if el >= seconds:
            return steps, el


def make_train_step(model, lr, x, target_fn):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    target = target_fn(x)

    def step():
        opt.zero_grad()
        loss = F.mse_loss(model(x), target)
        loss.backward()
        opt.step()
        return loss

    return step


def make_infer_step(model, x):
    model.eval()

    def step():
        with torch.no_grad():
            return model(x)

    return step


def identity(x):
    return x


def time_reverse(x):
    return torch.flip(x, [1]).contiguous()


# workload -> (batch, builder(batch) -> step fn)
WORKLOADS = {
    "conv_train_b32": (32, lambda b: make_train_step(ConvAutoencoder(), 0.02, torch.rand(b, 1, 28, 28), identity)),
    "conv_train_b256": (256, lambda b: make_train_step(ConvAutoencoder(), 0.02, torch.rand(b, 1, 28, 28), identity)),
    "conv_infer_b32": (32, lambda b: make_infer_step(ConvAutoencoder(), torch.rand(b, 1, 28, 28))),
    "conv_infer_b1000": (1000, lambda b: make_infer_step(ConvAutoencoder(), torch.rand(b, 1, 28, 28))),
    "mlp_train_b256": (256, lambda b: make_train_step(MlpAutoencoder(), 1e-3, torch.rand(b, 784), identity)),
    "colour32_train_b64": (64, lambda b: make_train_step(DeepConvColour32(), 2e-3, torch.rand(b, 3, 32, 32), identity)),
    "lstm_train_b256": (256, lambda b: make_train_step(LstmAutoencoder(), 1e-3, torch.rand(b, 28, 28), time_reverse)),
}
EPOCH_IMAGES = 60000
EPOCH_BATCH = 32


def run_conv_epoch(threads, warmup):
    data = torch.rand(EPOCH_IMAGES, 1, 28, 28)
    model = ConvAutoencoder()
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    model.train()

    def step(x):
        opt.zero_grad()
        loss = F.mse_loss(model(x), x)
        loss.backward()
        opt.step()

    for i in range(warmup):  # untimed warmup on the first few batches
        step(data[i * EPOCH_BATCH:(i + 1) * EPOCH_BATCH])
    t0 = time.perf_counter()
    steps = 0
    for i in range(0, EPOCH_IMAGES, EPOCH_BATCH):
        step(data[i:i + EPOCH_BATCH])
        steps += 1
    el = time.perf_counter() - t0
    return {"workload": "conv_epoch", "threads": threads, "batch": EPOCH_BATCH, "images": EPOCH_IMAGES,
            "images_per_s": EPOCH_IMAGES / el, "steps": steps, "elapsed_s": el, "ms_per_step": 1000.0 * el / steps}


ALL = list(WORKLOADS) + ["conv_epoch"]


def main():
    ap = argparse.ArgumentParser(description="PyTorch reference benchmark (prints one JSON object)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--seconds", type=float, default=3.0, help="minimum timed duration per workload (default 3)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed warmup steps per workload (default 3)")
    ap.add_argument("--workloads", default=",".join(ALL), help="comma list from: " + ",".join(ALL))
    args = ap.parse_args()

    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in names if w not in ALL]
    if unknown:
        ap.error("unknown workload(s): %s (choose from %s)" % (",".join(unknown), ",".join(ALL)))

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))  # make sure the BLAS library is loaded before inspecting it
    binfo = build_info()
    if binfo.get("blas_info") == "generic" and any("/blas/libblas" in x for x in binfo.get("blas_libs", [])):
        print("WARNING: torch uses the reference (Netlib) BLAS %s; GEMM-heavy numbers are not representative "
              "of an optimised PyTorch build" % binfo["blas_libs"], file=sys.stderr)
    results = []
    for name in names:
        print("running %s (threads=%d)..." % (name, args.threads), file=sys.stderr, flush=True)
        if name == "conv_epoch":
            r = run_conv_epoch(args.threads, args.warmup)
        else:
            batch, build = WORKLOADS[name]
            step = build(batch)
            steps, el = timed_loop(step, args.warmup, args.seconds)
            r = {"workload": name, "threads": args.threads, "batch": batch, "images_per_s": steps * batch / el,
                 "steps": steps, "elapsed_s": el, "ms_per_step": 1000.0 * el / steps}
        r["peak_rss_mb_after"] = round(peak_rss_mb(), 1)
        print("  %s: %.1f images/s (%.3f ms/step)" % (name, r["images_per_s"], r["ms_per_step"]), file=sys.stderr, flush=True)
        results.append(r)

    out = {
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "build": binfo,
        "threads": args.threads,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "results": results,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
