"""Times symgrad train alone and two of it at once on this machine (scripts/bench-shared): for each
experiment, REPEATS rounds, each round one run alone then two started together (alternated, so
both see the same spells of a noisy machine); prints the median seconds of each and the ratio of a
run beside another to a run alone. With --threads-one, the pair also runs with
SYMGRAD_NUM_THREADS=1 (the remedy docs/backends.md gives for steps large enough to take every core)."""
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
    p.add_argument("--threads-one", action="store_true")
    p.add_argument("cases", nargs="+", help="EXPERIMENT.toml[,key=value...]")
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="symgrad-shared-")
    base = dict(os.environ)
    rows = []
    try:
        for case in a.cases:
            experiment, *sets = case.split(",")
            variants = [("", base)]
            if a.threads_one:
                variants.append((" (SYMGRAD_NUM_THREADS=1)", dict(base, SYMGRAD_NUM_THREADS="1")))
            for label, env in variants:
                alone, pair = [], []
                for r in range(a.repeats):
                    folder = os.path.join(work, f"r{r}")
                    alone.append(wait(start(a.symgrad, experiment, sets, folder + "-alone", env), case))
                    both = [start(a.symgrad, experiment, sets, folder + f"-pair{k}", env) for k in (0, 1)]
                    pair += [wait(b, case) for b in both]
                    for f in os.listdir(work):
                        shutil.rmtree(os.path.join(work, f))
                    print(f"{case}{label} round {r + 1}: alone {alone[-1]:.2f} s, pair {pair[-2]:.2f} / {pair[-1]:.2f} s",
                          file=sys.stderr)
                rows.append((case + label, statistics.median(alone), statistics.median(pair), max(pair)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    print(f"{'run':<{width}}  {'alone':>8}  {'in a pair':>9}  {'ratio':>6}  (medians of {a.repeats} rounds; slowest in a pair)")
    for name, alone, pair, worst in rows:
        print(f"{name:<{width}}  {alone:>7.2f}s  {pair:>8.2f}s  {pair / alone:>5.2f}x  (slowest {worst:.2f} s)")


if __name__ == "__main__":
    main()
