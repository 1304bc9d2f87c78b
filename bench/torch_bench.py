#!/usr/bin/python3
"""PyTorch's side of bench/run: group_norm forward and forward+backward at the benchmark's
shapes, and a training step of the reference network (conv 5x5x20, group norm 4, ReLU, 2x2 max
pooling, fully connected 10, softmax cross-entropy; SGD with momentum 0.9, L2 1e-4) at
mini-batch 128, 32, 8 and 2. Medians of --repeats timed runs, printed as one JSON object.

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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--mkldnn", choices=["on", "off"], default="on")
    ap.add_argument("--parts", default="groupnorm,train")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.backends.mkldnn.enabled = a.mkldnn == "on"
    result = {"torch": torch.__version__, "mkldnn": a.mkldnn, "groupnorm": [], "train": []}
    for t in [int(v) for v in a.threads.split(",")]:
        torch.set_num_threads(t)
        if "groupnorm" in a.parts:
            result["groupnorm"] += bench_groupnorm(t, a.repeats, a.quick)
        if "train" in a.parts:
            result["train"] += bench_train(t, a.repeats, a.quick)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
