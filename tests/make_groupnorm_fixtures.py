#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes tests/fixtures/groupnorm_torch.txt: group normalization forward and backward from
PyTorch's own implementation (torch.nn.functional.group_norm and autograd), the independent
reference the C tests compare against.

Run with Debian's python3-torch:  /usr/bin/python3 tests/make_groupnorm_fixtures.py
Inputs are drawn in float32 (so the C side reads them exactly); PyTorch then computes in
float64, so the stored outputs are accurate to far below float32 rounding."""

import os
import sys

import torch
import torch.nn.functional as F

# name, shape (N, C, ...), groups as written in MATLAB, eps, input mean, input sd
CASES = [
    ("image2d_g3", (2, 6, 3, 4), "3", 1e-5, 0.0, 1.0),
    ("feature_g2", (4, 8), "2", 1e-5, 0.5, 2.0),
    ("sequence_channelwise", (3, 4, 5), "channel-wise", 1e-3, -1.0, 0.5),
    ("image3d_allchannels", (2, 4, 2, 3, 3), "all-channels", 1e-5, 0.0, 1.0),
    ("image2d_large_offset", (2, 4, 5, 5), "2", 1e-5, 1e4, 0.01),
    ("image2d_g1_equals_c", (1, 3, 4, 4), "3", 1e-4, 3.0, 1.5),
    # groups of two values, where dx is only Epsilon's term (cancellation in float)
    ("feature_pairs", (6, 8), "4", 1e-5, 0.0, 1.0),
    ("feature_pairs_offset", (6, 8), "4", 1e-5, 1e3, 1.0),
    ("map1x1_pairs", (5, 6, 1, 1), "3", 1e-5, 3.0, 1.0),
    ("channelwise_1x2", (4, 3, 1, 2), "channel-wise", 1e-5, 0.0, 1.0),
]


def groups_of(text, channels):
    if text == "all-channels":
        return 1
    if text == "channel-wise":
        return channels
    return int(text)


def values(t):
    return " ".join(repr(float(v)) for v in t.reshape(-1).tolist())


def main():
    out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                            "groupnorm_torch.txt")
    gen = torch.Generator().manual_seed(20201)
    lines = ["# group normalization reference values from PyTorch %s" % torch.__version__,
             "# written by tests/make_groupnorm_fixtures.py; do not edit"]
    for name, shape, groups, eps, mean, sd in CASES:
        C = shape[1]
        x = (mean + sd * torch.randn(shape, generator=gen)).float().double()
        scale = (1.0 + 0.5 * torch.randn(C, generator=gen)).float().double()
        offset = (0.3 * torch.randn(C, generator=gen)).float().double()
        dy = torch.randn(shape, generator=gen).float().double()
        x.requires_grad_(True)
        scale.requires_grad_(True)
        offset.requires_grad_(True)
        y = F.group_norm(x, groups_of(groups, C), scale, offset, eps)
        y.backward(dy)
        lines += [
            "case " + name,
            "shape %d %s" % (len(shape), " ".join(str(d) for d in shape)),
            "groups " + groups,
            "eps " + repr(eps),
            "x " + values(x.detach()),
            "scale " + values(scale.detach()),
            "offset " + values(offset.detach()),
            "dy " + values(dy),
            "y " + values(y.detach()),
            "dx " + values(x.grad),
            "dscale " + values(scale.grad),
            "doffset " + values(offset.grad),
            "end",
        ]
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, out_path)
    print("wrote", out_path, file=sys.stderr)


if __name__ == "__main__":
    main()
