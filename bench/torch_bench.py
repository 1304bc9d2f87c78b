#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""PyTorch's side of bench/run: group_norm forward and forward+backward at the benchmark's
shapes, and a training step of the reference network (conv 5x5x20, group norm 4, ReLU, 2x2 max
pooling, fully connected 10, softmax cross-entropy; SGD with momentum 0.9, L2 1e-4) at
mini-batch 128, 32, 8 and 2, and (--parts nets) training steps of data/networks/deep-gn.net,
residual-gn.net and cifar-resnet8.net at --batches. Medians of --repeats timed runs, printed as
one JSON object.

The configuration comes from the caller: OPENBLAS_NUM_THREADS must be set in the environment
before torch is imported, so bench/run starts this script once per configuration;
--mkldnn off turns oneDNN (mkldnn) convolution off."""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print(json.dumps({"error": "PyTorch is not installed"}))
    sys.exit(0)


def time_call(fn, repeats):
    fn()
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        t = time.perf_counter() - t0
        if t >= 0.02 or reps >= 1 << 20:
            break
        reps = reps * 10 if t <= 0 else int(reps * 0.025 / t) + 1
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        runs.append((time.perf_counter() - t0) / reps)
    return statistics.median(runs)


GN_SHAPES = [(128, 20, 24, 24, 4), (32, 64, 56, 56, 32), (8, 256, 28, 28, 32),
             (1, 512, 7, 7, 32), (1024, 256, 0, 0, 32)]


def bench_groupnorm(threads, repeats, quick):
    out = []
    for n, c, h, w, g in GN_SHAPES[:1] if quick else GN_SHAPES:
        shape = (n, c, h, w) if h else (n, c)
        x = (torch.rand(shape) * 4 - 1).requires_grad_(True)
        weight = torch.ones(c, requires_grad=True)
        bias = torch.zeros(c, requires_grad=True)
        dy = torch.rand(shape) * 2 - 1

        def fwd():
            with torch.no_grad():
                F.group_norm(x, g, weight, bias, 1e-5)

        def both():
            y = F.group_norm(x, g, weight, bias, 1e-5)
            y.backward(dy)
            x.grad = None
            weight.grad = None
            bias.grad = None

        out.append({"shape": [n, c, h, w], "groups": g, "threads": threads,
                    "forward_ms": 1e3 * time_call(fwd, repeats),
                    "forward_backward_ms": 1e3 * time_call(both, repeats)})
    return out


class Reference(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 20, 5)
        self.gn = torch.nn.GroupNorm(4, 20)
        self.fc = torch.nn.Linear(20 * 12 * 12, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.gn(self.conv(x))), 2, 2)
        return self.fc(x.flatten(1))


def bench_train(threads, repeats, quick):
    out = []
    for batch in [128] if quick else [128, 32, 8, 2]:
        torch.manual_seed(1)
        net = Reference()
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        total = max(4096, 8 * batch)
        xs = torch.rand(total, 1, 28, 28) - 0.5
        ys = torch.randint(0, 10, (total,))
        state = {"at": 0}

        def step():
            i = state["at"]
            state["at"] = (i + 1) % (total // batch)
            x = xs[i * batch:(i + 1) * batch]
            y = ys[i * batch:(i + 1) * batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()

        sec = time_call(step, repeats)
        out.append({"batch": batch, "threads": threads, "images_per_second": batch / sec,
                    "step_ms": 1e3 * sec})
    return out


class DeepGN(torch.nn.Module):
    """data/networks/deep-gn.net: four 3x3 'same' conv -> group norm -> ReLU blocks (16, 32,
    32, 64 channels; 2x2 max pooling after the first three), fully connected 10."""

    def __init__(self):
        super().__init__()
        spec = [(1, 16, 4), (16, 32, 8), (32, 32, 8), (32, 64, 16)]
        self.convs = torch.nn.ModuleList(torch.nn.Conv2d(i, o, 3, padding=1) for i, o, _ in spec)
        self.gns = torch.nn.ModuleList(torch.nn.GroupNorm(g, o) for _, o, g in spec)
        self.fc = torch.nn.Linear(64 * 3 * 3, 10)

    def forward(self, x):
        for k, (conv, gn) in enumerate(zip(self.convs, self.gns)):
            x = F.relu(gn(conv(x)))
            if k < 3:
                x = F.max_pool2d(x, 2, 2)
        return self.fc(x.flatten(1))


class ResidualGN(torch.nn.Module):
    """data/networks/residual-gn.net: three 3x3 convs at 28x28x16 with group norm, the shortcut
    from relu1 added after the third, ReLU, 2x2 max pooling, fully connected 10."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.c2 = torch.nn.Conv2d(16, 16, 3, padding=1)
        self.c3 = torch.nn.Conv2d(16, 16, 3, padding=1)
        self.g1, self.g2, self.g3 = (torch.nn.GroupNorm(4, 16) for _ in range(3))
        self.fc = torch.nn.Linear(16 * 14 * 14, 10)

    def forward(self, x):
        r1 = F.relu(self.g1(self.c1(x)))
        y = self.g3(self.c3(F.relu(self.g2(self.c2(r1)))))
        y = F.max_pool2d(F.relu(y + r1), 2, 2)
        return self.fc(y.flatten(1))


class Block(torch.nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = torch.nn.Conv2d(cin, cout, 3, stride=stride, padding=1)
        self.ga = torch.nn.GroupNorm(cout // 4, cout)
        self.b = torch.nn.Conv2d(cout, cout, 3, padding=1)
        self.gb = torch.nn.GroupNorm(cout // 4, cout)
        self.skip = None
        if stride != 1:
            self.skip = torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 1, stride=stride),
                                            torch.nn.GroupNorm(cout // 4, cout))

    def forward(self, x):
        y = self.gb(self.b(F.relu(self.ga(self.a(x)))))
        return F.relu(y + (x if self.skip is None else self.skip(x)))


class CifarResNet8(torch.nn.Module):
    """data/networks/cifar-resnet8.net: a 3x3 stem of 32 channels, residual blocks of 32, 64 and
    128 channels (stride 2 with 1x1 stride-2 projection shortcuts), global average pooling,
    fully connected 10."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 32, 3, padding=1)
        self.g0 = torch.nn.GroupNorm(8, 32)
        self.blocks = torch.nn.Sequential(Block(32, 32, 1), Block(32, 64, 2), Block(64, 128, 2))
        self.fc = torch.nn.Linear(128, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.g0(self.stem(x))))
        return self.fc(x.mean((2, 3)))


NETS = {"deep-gn": (DeepGN, (1, 28, 28)), "residual-gn": (ResidualGN, (1, 28, 28)),
        "cifar-resnet8": (CifarResNet8, (3, 32, 32))}


def bench_nets(threads, repeats, names, batches):
    out = []
    for name in names:
        make, shape = NETS[name]
        for batch in batches:
            torch.manual_seed(1)
            net = make()
            opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
            total = max(8 * batch, 256)
            xs = torch.rand((total,) + shape) - 0.5
            ys = torch.randint(0, 10, (total,))
            state = {"at": 0}

            def step():
                i = state["at"]
                state["at"] = (i + 1) % (total // batch)
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(net(xs[i * batch:(i + 1) * batch]),
                                       ys[i * batch:(i + 1) * batch])
                loss.backward()
                opt.step()

            sec = time_call(step, repeats)
            out.append({"net": name, "batch": batch, "threads": threads,
                        "images_per_second": batch / sec, "step_ms": 1e3 * sec})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--mkldnn", choices=["on", "off"], default="on")
    ap.add_argument("--parts", default="groupnorm,train")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--nets", default="deep-gn,residual-gn,cifar-resnet8",
                    help="with --parts nets: which networks")
    ap.add_argument("--batches", default="128,8", help="with --parts nets: mini-batch sizes")
    a = ap.parse_args()
    torch.backends.mkldnn.enabled = a.mkldnn == "on"
    result = {"torch": torch.__version__, "mkldnn": a.mkldnn, "groupnorm": [], "train": [],
              "nets": []}
    for t in [int(v) for v in a.threads.split(",")]:
        torch.set_num_threads(t)
        if "groupnorm" in a.parts:
            result["groupnorm"] += bench_groupnorm(t, a.repeats, a.quick)
        if "train" in a.parts:
            result["train"] += bench_train(t, a.repeats, a.quick)
        if "nets" in a.parts.split(","):
            result["nets"] += bench_nets(t, a.repeats, a.nets.split(","),
                                         [int(b) for b in a.batches.split(",")])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
