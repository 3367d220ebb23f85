"""The PyTorch peer of symgrad's benchmarks: the same MLP and CNN SGD training steps, timed.

Run by scripts/bench as /usr/bin/python3 (Debian's python3-torch); prints JSON with milliseconds
per step. Never a dependency of symgrad itself.
"""
import argparse
import ctypes
import json
import os
import time

import torch
import torch.nn.functional as F


def mlp():
    return torch.nn.Sequential(
        torch.nn.Linear(784, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 1024), torch.nn.ReLU(),
        torch.nn.Linear(1024, 10))


def cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(1600, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 10))


def ms_per_step(model, x, y, warmup=5, seconds=1.0, repetitions=5):
    """Median over `repetitions` of the mean step time over `seconds`."""
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(repetitions):
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            step()
            steps += 1
        times.append(1000.0 * (time.perf_counter() - start) / steps)
    return sorted(times)[len(times) // 2]


def blas_kernel():
    """The BLAS library this process loaded and, for OpenBLAS, the kernel set it picked (its
    corename: OPENBLAS_CORETYPE in the environment overrides the CPU's own)."""
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and ".so" in line})
    for lib in libs:
        if "openblas" in lib:
            blas = ctypes.CDLL(lib)
            blas.openblas_get_corename.restype = ctypes.c_char_p
            blas.openblas_get_config.restype = ctypes.c_char_p
            return {"library": lib, "corename": blas.openblas_get_corename().decode(),
                    "config": blas.openblas_get_config().decode()}
    return {"library": ", ".join(libs) or "none found", "corename": "?", "config": ""}


def cpu_capability():
    """The vector instructions PyTorch's own kernels dispatch to ("AVX2", "AVX512", ...), as its
    build configuration reports them."""
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            return line.split(":", 1)[1].strip()
    return "?"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n = args.batch
    y = torch.arange(n) * 7 % 10
    mlp_ms = ms_per_step(mlp(), torch.randn(n, 784), y)  # first: the BLAS is loaded by then
    result = {
        "torch_version": torch.__version__,
        "threads": args.threads,
        "blas": blas_kernel(),
        "cpu_capability": cpu_capability(),
        "environment": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "mlp_ms": mlp_ms,
        "cnn_ms": ms_per_step(cnn(), torch.randn(n, 1, 28, 28), y),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
