"""The figure table's runner (scripts/reproduce): runs each figure's command once, measures it, and
compares the measure with the documented value within the stated tolerance.

docs/figures.tsv, tab-separated, one figure a line ('#' starts a comment):
  id          a name, e.g. moons_adam/test
  command     symgrad's arguments; {run} is a fresh run folder (given to --output)
  measure     eval:PART:NAME  `symgrad eval {run} --data PART`'s accuracy (in %), loss, or a metric
                              of its list (y/rmse)
              stdout:REGEX    the first group of REGEX in the command's own output (a number)
  documented  the figure as the documentation states it
  tolerance   the largest |measured - documented| that passes (what holds on any x86 CPU)
  where       the files that quote it
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time


def read_table(path):
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cells = line.split("\t")
            if len(cells) != 6:
                sys.exit(f"{path}:{number}: 6 tab-separated cells (id, command, measure, documented, tolerance, "
                         f"where), got {len(cells)}")
            ident, command, measure, documented, tolerance, where = cells
            rows.append(dict(id=ident, command=command, measure=measure, documented=float(documented),
                             tolerance=float(tolerance), where=where, line=number))
    return rows


def run(args, symgrad):
    out = subprocess.run([symgrad] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"symgrad {' '.join(args)} failed ({out.returncode}):\n{out.stdout[-2000:]}")
    return out.stdout


def measure(row, folder, output, symgrad):
    kind, _, what = row["measure"].partition(":")
    if kind == "stdout":
        m = re.search(what, output, re.MULTILINE)
        if not m:
            raise RuntimeError(f"no match of {what!r} in the output")
        return float(m.group(1))
    if kind != "eval":
        raise RuntimeError(f"measure {row['measure']!r}: eval:PART:NAME or stdout:REGEX")
    part, _, name = what.partition(":")
    text = run(["eval", folder, "--data", part], symgrad)
    patterns = {"accuracy": r"accuracy ([-0-9.]+)%", "loss": r": loss ([-0-9.eE+]+)"}
    scale = 100 if name.endswith("/accuracy") else 1  # (a list's accuracies are fractions: in % as quoted)
    m = re.search(patterns.get(name, r"^\s+" + re.escape(name) + r"\s+(\S+)$"), text, re.MULTILINE)
    if not m:
        raise RuntimeError(f"symgrad eval gave no {name}:\n{text}")
    return scale * float(m.group(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--symgrad", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--list", action="store_true")
    p.add_argument("names", nargs="*")
    a = p.parse_args()
    rows = [r for r in read_table(a.table) if not a.names or any(r["id"].startswith(n) for n in a.names)]
    if not rows:
        sys.exit(f"no figure of {a.table} starts with {' or '.join(a.names)}")
    if a.list:
        for r in rows:
            print(f"{r['id']:<40} {r['documented']:>10g} +- {r['tolerance']:<6g} symgrad {r['command']}")
        return 0
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    flags = next((l for l in open("/proc/cpuinfo") if l.startswith("flags")), "")
    isa = "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else "no AVX2"
    print(f"CPU: {cpu} ({isa}); {len(rows)} figures of {a.table}\n")
    print(f"{'figure':<40} {'documented':>10} {'measured':>10} {'tolerance':>9}  result")
    runs = {}  # command -> (folder, output, seconds): each command runs once
    started = 0
    failed = 0
    with tempfile.TemporaryDirectory(prefix="symgrad-reproduce-") as work:
        for r in rows:
            try:
                if r["command"] not in runs:
                    started += 1
                    folder = os.path.join(work, str(started))
                    start = time.time()
                    output = run([c.replace("{run}", folder) for c in r["command"].split()], a.symgrad)
                    runs[r["command"]] = (folder, output, time.time() - start)
                folder, output, _ = runs[r["command"]]
                value = measure(r, folder, output, a.symgrad)
                ok = abs(value - r["documented"]) <= r["tolerance"] + 1e-9
                result = "ok" if ok else f"OUTSIDE ({r['where']})"
                print(f"{r['id']:<40} {r['documented']:>10g} {value:>10g} {r['tolerance']:>9g}  {result}", flush=True)
            except RuntimeError as e:
                ok = False
                print(f"{r['id']:<40} {r['documented']:>10g} {'-':>10} {r['tolerance']:>9g}  FAILED: {e}", flush=True)
            failed += not ok
    seconds = sum(t for _, _, t in runs.values())
    print(f"\n{len(rows) - failed} of {len(rows)} figures reproduced ({len(runs)} runs, {seconds:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
