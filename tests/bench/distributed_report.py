#!/usr/bin/env python3
"""Summarizes scripts/bench-distributed: per configuration, the median over its runs of the seconds
an epoch and of the seconds in the sums over the ranks (epochs 2 and on: the first includes
warming up), and the ratio of the epoch time to 1 process of 2 threads."""
import csv
import pathlib
import statistics
import sys

out = pathlib.Path(sys.argv[1])
names = {
    "1x2": "1 process x 2 threads",
    "1x1": "1 process x 1 thread",
    "2x1": "2 ranks x 1 thread (one bucket)",
    "2x1-buckets": "2 ranks x 1 thread (0.25 MiB buckets)",
    "3x1": "3 ranks x 1 thread (oversubscribed)",
}
rows = {}
for name in names:
    seconds, comm = [], []
    for run in sorted(out.glob(name + "-[0-9]*")):
        epochs = list(csv.DictReader(open(run / "metrics-epochs.csv")))[1:]
        seconds += [float(e["seconds"]) for e in epochs]
        comm += [float(e["comm_seconds"]) for e in epochs if e.get("comm_seconds")]
    rows[name] = (statistics.median(seconds), statistics.median(comm) if comm else None, len(seconds))
base = rows["1x2"][0]
print(f"{sys.argv[2]}, 3 epochs a run; medians of epochs 2-3 over the runs")
print(f"{'configuration':42} {'s/epoch':>8} {'sums s/epoch':>13} {'vs 1x2':>7}")
for name, label in names.items():
    s, c, n = rows[name]
    comm = f"{c:.3f}" if c is not None else "-"
    print(f"{label:42} {s:8.3f} {comm:>13} {s / base:6.2f}x   ({n} epochs)")
