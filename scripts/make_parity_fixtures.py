#!/usr/bin/env python3
"""Generate the PyTorch parity fixtures for latentkit.

How to run
----------
    python3 scripts/make_parity_fixtures.py            # writes test/fixtures/parity/
    python3 scripts/make_parity_fixtures.py --out DIR  # somewhere else
    python3 scripts/make_parity_fixtures.py --selftest # only check the PRNG port

It needs Python 3 with PyTorch (written against torch 1.13) and numpy. On the
development machine the pyenv `python3` has no torch; the Debian one does, so
use `/usr/bin/python3 scripts/make_parity_fixtures.py` there.

CI does NOT need Python or PyTorch: the generated files in
test/fixtures/parity/ are committed, and the TypeScript tests read only them.
Re-run this script only when a model or the data protocol changes, and commit
the result. Running it twice gives byte-identical files on one machine; another
BLAS (OpenBLAS instead of the reference BLAS the committed random-input files
were made with) changes their last float32 bits, well inside the tests'
tolerances, so keep the committed files unless a model changes.

What is written, for each model NAME in (conv, mlp, lstm, vae)
---------------------------------------------------------------
- NAME.init.safetensors   state_dict right after torch.manual_seed(0) and
                          construction with PyTorch's default init (F32).
- NAME.grads1.safetensors gradient of every parameter after the first
                          backward pass (same names as the parameters).
- NAME.json               {"model", "steps": 100, "batch", "lr", "optimizer":
                          "adam", "data_seed", "losses": [loss computed in the
                          forward pass before each of the 100 optimizer steps],
                          "final": {param: first 5 values (flattened,
                          row-major) after 100 steps}, "torch_version", ...}
                          plus a few informative extras (input_shape, Adam
                          betas/eps, and "data_check" = the first values of the
                          step-0 inputs so a TS port of the data protocol can
                          be checked directly).

On the chapter's real images (needs Debian's dataset-fashion-mnist)
-------------------------------------------------------------------
- conv_fashion.json / conv_fashion.grads1.safetensors: the conv model from the
  SAME initial weights as conv.init.safetensors (not written twice), trained on
  the first 3,200 Fashion-MNIST training images in file order (step k uses
  images 32k..32k+31, pixel / 255 computed in float64 then rounded to float32,
  as src/data/fashion-mnist.ts does), Adam lr 0.002. The images are NOT
  committed: the test reads them from /usr/share/datasets/fashion-mnist. Black
  backgrounds give exactly tied MaxPool window maxima, so this pins PyTorch's
  tie rule (the first maximum in each window gets dY), which random inputs
  never exercise. (At the chapter's lr 0.02 training is chaotic: PyTorch
  float32 and float64 differ by 2e-2 within 100 steps, so parity is judged at
  a small lr.)
- maxpool_ties.json: MaxPool2d gradients on inputs full of exact ties
  (all-zero windows, repeated values, overlapping, padded, dilated, ceil_mode
  windows): for each case the config, x, a cotangent dy and PyTorch's dx.

Safetensors files are written by hand (no package needed): u64 little-endian
header length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [...],
"data_offsets": [begin, end]}, ...} padded with spaces to a multiple of 8, then
the raw little-endian float32 data. Tensors are sorted by name; there is no
"__metadata__" entry.

Data protocol (must match src/util/random.ts)
---------------------------------------------
One mulberry32 Rng per model, seeded with data_seed. For step k = 0..99:
  x   = B*prod(features) uniform() draws, row-major, each float64 value
        converted to float32;
  eps = (VAE only, drawn after x of the same step) B*latent normal() draws,
        converted to float32.
Adam: betas (0.9, 0.999), eps 1e-8, no weight decay, no amsgrad.

Notes for the TypeScript side
-----------------------------
- nn.LSTM packs its gates as [i, f, g, o] along the 4*H rows of weight_ih_l0 /
  weight_hh_l0 / bias_ih_l0 / bias_hh_l0; both biases are added.
- ConvTranspose2d weights are [in, out, kH, kW]; Conv2d weights [out, in, kH, kW].
- F.binary_cross_entropy clamps each log term at -100.
- nn.MSELoss() is the mean over all elements.
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np


M32 = 0xFFFFFFFF

# Test vector: the first five nextU32() of Rng(42), checked against the
# TypeScript/JS original in node:
RNG_TEST_SEED = 42
RNG_TEST_VECTOR = [2581720956, 1925393290, 3661312704, 2876485805, 750819978]


def _imul(a, b):
    """Math.imul: low 32 bits of the product (the sign is irrelevant once masked)."""
    return (a * b) & M32


class Rng:
    """Bit-exact Python port of latentkit's mulberry32 Rng (src/util/random.ts).

    All intermediate values are kept as unsigned 32-bit ints; JS's signed int32
    results of `|`, `^`, Math.imul have the same 32 bits, so masking is enough.
    """

    def __init__(self, seed):
        self.state = seed & M32

    def next_u32(self):
        self.state = (self.state + 0x6D2B79F5) & M32
        t = self.state
        t = _imul(t ^ (t >> 15), 1 | t)
        t = ((t + _imul(t ^ (t >> 7), 61 | t)) & M32) ^ t
        return (t ^ (t >> 14)) & M32

    def uniform(self):
        return self.next_u32() / 4294967296.0

    def normal(self):
        u1 = self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)

    def uniform_f32(self, shape):
        n = int(np.prod(shape))
        return np.array([self.uniform() for _ in range(n)], dtype=np.float64).astype(np.float32).reshape(shape)

    def normal_f32(self, shape):
        n = int(np.prod(shape))
        return np.array([self.normal() for _ in range(n)], dtype=np.float64).astype(np.float32).reshape(shape)


def rng_selftest():
    r = Rng(RNG_TEST_SEED)
    got = [r.next_u32() for _ in range(5)]
    if got != RNG_TEST_VECTOR:
        raise AssertionError("mulberry32 port mismatch: %r != %r" % (got, RNG_TEST_VECTOR))
    return got


# ---------------------------------------------------------------- safetensors

def write_safetensors(path, tensors):
    """tensors: dict name -> torch.Tensor (converted to contiguous float32)."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        arr = tensors[name].detach().cpu().to(torch.float32).contiguous().numpy()
        raw = arr.astype("<f4", copy=False).tobytes(order="C")
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hjson += b" " * ((-len(hjson)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Minimal reader, used only to self-check what we wrote."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        b, e = meta["data_offsets"]
        out[name] = np.frombuffer(data[base + b:base + e], dtype="<f4").reshape(meta["shape"])
    return out


# Everything above is plain Python + numpy; `--selftest` stops here so the PRNG
# port can be checked with any python3 (e.g. the pyenv one without torch).
if __name__ == "__main__" and "--selftest" in sys.argv[1:]:
    print("mulberry32 Rng(%d) first 5 nextU32:" % RNG_TEST_SEED, rng_selftest(), "OK")
    sys.exit(0)

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:  # environment hint only
    sys.exit("PyTorch is required (on the dev box: /usr/bin/python3 has it, the pyenv python3 does not)")


# --------------------------------------------------------------------- models

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import ConvAutoencoder  # noqa: E402  (shared with the other scripts)


class MlpAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4))
        self.decoder = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 20), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


class LstmAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.LSTM(3, 16, batch_first=True)
        self.decoder = nn.LSTM(3, 16, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        _, (h, c) = self.encoder(x)
        out, _ = self.decoder(torch.zeros_like(x), (h, c))
        return self.head(out)


class Vae(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(20, 16), nn.ReLU())
        self.mu = nn.Linear(16, 2)
        self.logvar = nn.Linear(16, 2)
        self.decoder = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 20), nn.Sigmoid())

    def forward(self, x, eps):
        h = self.encoder(x)
        mu = self.mu(h)
        logvar = self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decoder(z), mu, logvar


def mse_step(model, x, _eps):
    return F.mse_loss(model(x), x)


def lstm_step(model, x, _eps):
    return F.mse_loss(model(x), torch.flip(x, [1]))


def vae_step(model, x, eps):
    recon, mu, logvar = model(x, eps)
    bce = F.binary_cross_entropy(recon, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (bce + kl) / x.shape[0]


# name, constructor, batch, per-sample feature shape, latent (VAE eps), lr, data_seed, loss fn, loss description
SPECS = [
    dict(model="conv", cls=ConvAutoencoder, batch=16, features=[1, 28, 28], latent=None, lr=0.02, data_seed=1,
         step=mse_step, loss="MSELoss(mean)(y, x)"),
    dict(model="mlp", cls=MlpAutoencoder, batch=16, features=[20], latent=None, lr=0.01, data_seed=2,
         step=mse_step, loss="MSELoss(mean)(y, x)"),
    dict(model="lstm", cls=LstmAutoencoder, batch=8, features=[10, 3], latent=None, lr=0.01, data_seed=3,
         step=lstm_step, loss="MSELoss(mean)(y, flip(x, time))"),
    dict(model="vae", cls=Vae, batch=16, features=[20], latent=2, lr=0.005, data_seed=4,
         step=vae_step, loss="(BCE(recon, x, sum) + KL) / B"),
]

FASHION_IMAGES = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def read_fashion_images(count):
    """First `count` training images as float32 [count, 1, 28, 28], pixel / 255 (float64 first)."""
    import gzip
    with gzip.open(FASHION_IMAGES, "rb") as f:
        data = f.read()
    magic, n, h, w = struct.unpack(">IIII", data[:16])
    assert magic == 0x803 and h == 28 and w == 28 and n >= count, (magic, n, h, w)
    px = np.frombuffer(data, dtype=np.uint8, count=count * 784, offset=16)
    return (px.astype(np.float64) / 255.0).astype(np.float32).reshape(count, 1, 28, 28)


def fashion_batches(spec):
    images = read_fashion_images(STEPS * spec["batch"])
    B = spec["batch"]
    return lambda k: torch.from_numpy(images[k * B:(k + 1) * B].copy())


# Same initial weights as "conv" (init_seed 0): its init file is reused, not rewritten.
FASHION_SPEC = dict(model="conv_fashion", cls=ConvAutoencoder, batch=32, features=[1, 28, 28], latent=None, lr=0.002,
                    data_seed=None, step=mse_step, loss="MSELoss(mean)(y, x)", init_from="conv",
                    data="fashion-mnist train images 0..3199 in file order, pixel / 255")

STEPS = 100
BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def f32_list(t):
    return [float(v) for v in t.detach().reshape(-1).to(torch.float32).tolist()]


def run_model(spec, out_dir):
    torch.manual_seed(0)
    model = spec["cls"]()
    model.float()
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    opt = torch.optim.Adam(model.parameters(), lr=spec["lr"], betas=BETAS, eps=ADAM_EPS, weight_decay=0.0)

    B = spec["batch"]
    xshape = [B] + spec["features"]
    if spec.get("init_from"):
        same = read_safetensors(os.path.join(out_dir, spec["init_from"] + ".init.safetensors"))
        assert all(np.array_equal(same[n], v.numpy()) for n, v in init.items()), "initial weights differ from " + spec["init_from"]
        next_x = fashion_batches(spec)
    else:
        rng = Rng(spec["data_seed"])
        next_x = lambda _k: torch.from_numpy(rng.uniform_f32(xshape))
    losses = []
    grads1 = None
    data_check = None
    for k in range(STEPS):
        x = next_x(k)
        eps = torch.from_numpy(rng.normal_f32([B, spec["latent"]])) if spec["latent"] else None
        if k == 0:
            data_check = {"x0_first5": f32_list(x)[:5], "x0_sum": float(x.double().sum())}
            if eps is not None:
                data_check["eps0_first5"] = f32_list(eps)[:5]
        opt.zero_grad()
        loss = spec["step"](model, x, eps)
        loss.backward()
        losses.append(float(loss.detach()))
        if k == 0:
            grads1 = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
        opt.step()

    name = spec["model"]
    written = ((".grads1.safetensors", grads1),) if spec.get("init_from") else ((".init.safetensors", init), (".grads1.safetensors", grads1))
    for fname, tensors in written:
        write_safetensors(os.path.join(out_dir, name + fname), tensors)

    # Self-check the files round-trip.
    for fname, ref in written:
        back = read_safetensors(os.path.join(out_dir, name + fname))
        assert sorted(back) == sorted(ref), (name, fname)
        for n in ref:
            assert np.array_equal(back[n], ref[n].numpy()), (name, fname, n)

    meta = {
        "model": name,
        "steps": STEPS,
        "batch": B,
        "lr": spec["lr"],
        "optimizer": "adam",
        "betas": list(BETAS),
        "eps": ADAM_EPS,
        "weight_decay": 0.0,
        "data_seed": spec["data_seed"],
        "input_shape": xshape,
        "latent": spec["latent"],
        "loss": spec["loss"],
        "init_seed": 0,
        "data_check": data_check,
        "losses": losses,
        "final": {n: f32_list(p)[:5] for n, p in sorted(model.named_parameters())},
        "torch_version": torch.__version__,
    }
    for extra in ("init_from", "data"):
        if spec.get(extra):
            meta[extra] = spec[extra]
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    return meta


# (kernel, stride, padding, dilation, ceil_mode, input [N, C, H, W])
MAXPOOL_TIE_CASES = [
    ((2, 2), (2, 2), 0, 1, False, [2, 3, 7, 6]),  # tiling, uncovered last row
    ((2, 2), (2, 2), 0, 1, False, [2, 3, 6, 6]),  # tiling, exact
    ((3, 3), (3, 3), 0, 1, False, [1, 2, 7, 9]),  # tiling 3x3
    ((2, 3), (2, 3), 0, 1, False, [1, 2, 6, 7]),  # tiling, non-square
    ((2, 2), (1, 1), 0, 1, False, [1, 2, 5, 5]),  # overlapping
    ((3, 3), (2, 2), 1, 1, False, [2, 2, 7, 7]),  # overlapping, padded
    ((2, 2), (1, 1), 0, 2, False, [1, 2, 6, 6]),  # dilated
    ((2, 2), (2, 2), 0, 1, True, [1, 2, 5, 5]),   # ceil_mode
]


def write_maxpool_ties(out_dir):
    """PyTorch's MaxPool2d gradient where maxima tie: the first maximum of each window gets dY."""
    gen = torch.Generator().manual_seed(11)
    cases = []
    for kernel, stride, pad, dil, ceil, shape in MAXPOOL_TIE_CASES:
        # Few distinct values (many ties), one all-zero channel, one constant negative channel.
        x = torch.randint(0, 3, shape, generator=gen).to(torch.float32) * 0.5
        x[:, 0] = 0.0
        if shape[1] > 2:
            x[:, 2] = -1.0
        x.requires_grad_(True)
        y = F.max_pool2d(x, kernel, stride, pad, dil, ceil_mode=ceil)
        dy = torch.randint(1, 9, y.shape, generator=gen).to(torch.float32) / 8.0
        (dx,) = torch.autograd.grad(y, x, dy)
        cases.append({"kernel": list(kernel), "stride": list(stride), "padding": pad, "dilation": dil, "ceil_mode": ceil,
                      "x_shape": shape, "x": f32_list(x), "dy": f32_list(dy), "dx": f32_list(dx)})
    with open(os.path.join(out_dir, "maxpool_ties.json"), "w") as f:
        json.dump({"torch_version": torch.__version__, "rule": "first maximum (row-major) of each window gets dY", "cases": cases}, f)
        f.write("\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "test", "fixtures", "parity"))
    ap.add_argument("--selftest", action="store_true", help="only check the PRNG port and exit")
    args = ap.parse_args()

    got = rng_selftest()
    print("mulberry32 Rng(%d) first 5 nextU32:" % RNG_TEST_SEED, got, "OK")

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)
    out_dir = os.path.normpath(args.out)
    os.makedirs(out_dir, exist_ok=True)

    for spec in SPECS:
        meta = run_model(spec, out_dir)
        l = meta["losses"]
        print("%-5s loss[0]=%.6f loss[49]=%.6f loss[99]=%.6f min=%.6f" % (meta["model"], l[0], l[49], l[99], min(l)))
        if meta["model"] == "conv":
            print("conv loss trajectory (every 10th step):")
            for i in range(0, STEPS, 10):
                print("  step %3d  %.6f" % (i, l[i]))
            print("  step %3d  %.6f" % (STEPS - 1, l[-1]))

    write_maxpool_ties(out_dir)
    if os.path.exists(FASHION_IMAGES):
        meta = run_model(FASHION_SPEC, out_dir)
        l = meta["losses"]
        print("%s loss[0]=%.6f loss[49]=%.6f loss[99]=%.6f" % (meta["model"], l[0], l[49], l[99]))
    else:
        print("skipped conv_fashion: %s not found (Debian package dataset-fashion-mnist)" % FASHION_IMAGES)

    total = 0
    for f in sorted(os.listdir(out_dir)):
        sz = os.path.getsize(os.path.join(out_dir, f))
        total += sz
        print("  %-28s %8d bytes" % (f, sz))
    print("total fixture size: %d bytes (%.1f KiB) in %s" % (total, total / 1024.0, out_dir))


if __name__ == "__main__":
    main()
