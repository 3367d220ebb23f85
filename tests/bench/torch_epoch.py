"""The PyTorch peer of the epoch benchmark: reads Fashion-MNIST from Debian's gzip files, trains the
MLP 784-1024-1024-10 with Adam for one epoch of shuffled batches of 128, evaluates the test set,
and prints JSON with the seconds it took in all (data loading included), as symgrad train does
for tests/bench/fashion_epoch.toml. Peak memory is measured from outside (/usr/bin/time).
Never a dependency of symgrad itself."""
import argparse
import gzip
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

DIR = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    start = time.perf_counter()
    x = torch.from_numpy(idx(f"{DIR}/train-images-idx3-ubyte.gz").astype(np.float32) / 255.0).reshape(-1, 784)
    y = torch.from_numpy(idx(f"{DIR}/train-labels-idx1-ubyte.gz").astype(np.int64))
    tx = torch.from_numpy(idx(f"{DIR}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0).reshape(-1, 784)
    ty = torch.from_numpy(idx(f"{DIR}/t10k-labels-idx1-ubyte.gz").astype(np.int64))
    model = torch.nn.Sequential(torch.nn.Linear(784, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
                                torch.nn.ReLU(), torch.nn.Linear(1024, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(x.shape[0])
    for at in range(0, x.shape[0], 128):
        batch = order[at:at + 128]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        opt.step()
    with torch.no_grad():
        accuracy = (model(tx).argmax(1) == ty).float().mean().item()
    print(json.dumps({"seconds": time.perf_counter() - start, "test_accuracy": accuracy,
                      "torch_version": torch.__version__}))


if __name__ == "__main__":
    main()
