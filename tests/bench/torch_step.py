"""The PyTorch peer of symgrad's benchmarks: the same MLP and CNN SGD training steps, timed.

Run by scripts/bench as /usr/bin/python3 (Debian's python3-torch); prints JSON with milliseconds
per step. Never a dependency of symgrad itself.
"""
import argparse
import json
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n = args.batch
    y = torch.arange(n) * 7 % 10
    result = {
        "torch_version": torch.__version__,
        "threads": args.threads,
        "mlp_ms": ms_per_step(mlp(), torch.randn(n, 784), y),
        "cnn_ms": ms_per_step(cnn(), torch.randn(n, 1, 28, 28), y),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
