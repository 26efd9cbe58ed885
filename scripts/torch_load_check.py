#!/usr/bin/env python3
"""Load latentkit-written safetensors into the chapter's ConvAutoencoder (PyTorch) and print
its reconstruction of a given input, so test/nn/torch-interop.test.ts can compare the numbers.

Usage: python3 scripts/torch_load_check.py WEIGHTS.safetensors INPUT.f32 BATCH > out.json
"""
import json
import struct
import os
import sys

import torch
import torch.nn as nn


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_models import ConvAutoencoder  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        data = raw[8 + n + b:8 + n + e]
        t = torch.frombuffer(bytearray(data), dtype=torch.float32).reshape(info["shape"])
        out[name] = t.clone()
    return out


def main():
    weights, inp, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    model = ConvAutoencoder()
    model.load_state_dict(read_safetensors(weights), strict=True)
    model.eval()
    with open(inp, "rb") as f:
        x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(batch, 1, 28, 28)
    with torch.no_grad():
        y = model(x)
    print(json.dumps({"output": y.flatten().tolist()}))


if __name__ == "__main__":
    main()
