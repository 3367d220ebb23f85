"""Times symgrad train alone and two of it at once on this machine (scripts/bench-shared): for each
experiment, REPEATS rounds, each round one run alone, one alone as symgrad ran before it bounded
OpenMP's spin (GOMP_SPINCOUNT=300000, libgomp's default), then two started together (alternated,
so all see the same spells of a noisy machine); prints the median seconds of each, the ratio of a
run beside another to a run alone, and of a run alone to one with the unbounded spin."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def start(symgrad, experiment, sets, folder, env):
    cmd = [symgrad, "train", experiment, "--output", folder] + [a for s in sets for a in ("--set", s)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env), time.monotonic()


def wait(proc_and_start, what):
    proc, t0 = proc_and_start
    _, err = proc.communicate()
    if proc.returncode != 0:
        sys.exit(f"{what} failed ({proc.returncode}): {err.decode(errors='replace')}")
    return time.monotonic() - t0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--symgrad", required=True)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("cases", nargs="+", help="EXPERIMENT.toml[,key=value...]")
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="symgrad-shared-")
    base = dict(os.environ)
    rows = []
    try:
        for case in a.cases:
            experiment, *sets = case.split(",")
            before = dict(base, GOMP_SPINCOUNT="300000")
            alone, unbounded, pair = [], [], []
            for r in range(a.repeats):
                folder = os.path.join(work, f"r{r}")
                alone.append(wait(start(a.symgrad, experiment, sets, folder + "-alone", base), case))
                unbounded.append(wait(start(a.symgrad, experiment, sets, folder + "-before", before), case))
                both = [start(a.symgrad, experiment, sets, folder + f"-pair{k}", base) for k in (0, 1)]
                pair += [wait(b, case) for b in both]
                for f in os.listdir(work):
                    shutil.rmtree(os.path.join(work, f))
                print(f"{case} round {r + 1}: alone {alone[-1]:.2f} s, alone unbounded {unbounded[-1]:.2f} s, "
                      f"pair {pair[-2]:.2f} / {pair[-1]:.2f} s", file=sys.stderr)
            rows.append((case, statistics.median(alone), statistics.median(unbounded), statistics.median(pair), max(pair)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    print(f"{'run':<{width}}  {'alone':>8}  {'in a pair':>9}  {'pair/alone':>10}  {'unbounded spin, alone':>21}  "
          f"(medians of {a.repeats} alternated rounds)")
    for name, alone, unbounded, pair, worst in rows:
        print(f"{name:<{width}}  {alone:>7.2f}s  {pair:>8.2f}s  {pair / alone:>9.2f}x  {unbounded:>9.2f}s "
              f"(alone / it {alone / unbounded:.2f})  slowest in a pair {worst:.2f} s")

if __name__ == "__main__":
    main()
