#!/usr/bin/env bash
# One writer per run folder, and a new run never mixes with an earlier one (docs/experiments.md,
# "Run folders"): a second process on a folder in use is refused naming the first; SIGKILL frees
# the folder; a new run into the experiment's folder goes to <folder>-2 when it holds a run, and
# --output naming a folder that holds files is refused with the files untouched.
# Usage: run_folder_test.sh SYMGRAD EXPERIMENTS_DIR
set -uo pipefail
symgrad=$1
experiments=$2
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2> /dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 1
failed=0
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }
exp="$experiments/moons_adam.toml"
export SYMGRAD_NUM_THREADS=1

# a long run, holding its folder once it has a checkpoint
"$symgrad" train "$exp" --set epochs=1000000 --set checkpoint_seconds=0 --output "$work/long" > long.log 2>&1 &
pid=$!
for _ in $(seq 300); do [ -s "$work/long/checkpoint.bin" ] && break; sleep 0.1; done
[ -s "$work/long/checkpoint.bin" ] || fail "the long run wrote no checkpoint"
# a second process on it: refused (exit 2) naming the first, which goes on
"$symgrad" train "$exp" --set epochs=2 --resume "$work/long" > second.log 2>&1
status=$?
[ $status -eq 2 ] && grep -q "is in use by process $pid " second.log || { cat second.log; fail "a second writer (exit $status)"; }
kill -0 "$pid" 2> /dev/null || fail "the first run stopped"
kill -9 "$pid"
wait "$pid" 2> /dev/null
pid=
# what another holder wrote into the lock file is shown without its control characters (a terminal escape)
mkdir "$work/held"
printf 'process 1 \033]0;pwned\007 evil\n' > "$work/held/.symgrad.lock"
flock -n "$work/held/.symgrad.lock" sleep 30 &
holder=$!
sleep 0.3
"$symgrad" train "$exp" --set epochs=1 --output "$work/held" > held.log 2>&1
status=$?
[ $status -eq 2 ] && grep -qF "is in use by process 1 ?]0;pwned? evil:" held.log || { cat -v held.log; fail "a lock file's text (exit $status)"; }
kill "$holder" 2> /dev/null
# SIGKILL released the lock: the run continues
"$symgrad" train "$exp" --set epochs=2 --resume "$work/long" > resume.log 2>&1 || { cat resume.log; fail "resume after SIGKILL"; }

# a new run into the experiment's folder (here set by a key, as a file's output would) twice
"$symgrad" train "$exp" --set epochs=2 --set output="$work/runs/moons" > first.log 2>&1 || fail "first run"
sum=$(cat "$work/runs/moons"/metrics-epochs.csv "$work/runs/moons"/variables.bin | md5sum)
"$symgrad" train "$exp" --set epochs=3 --set output="$work/runs/moons" > again.log 2>&1 || { cat again.log; fail "second run"; }
grep -q "runs/moons-2" again.log || { cat again.log; fail "the second run did not go to runs/moons-2"; }
[ "$(cat "$work/runs/moons"/metrics-epochs.csv "$work/runs/moons"/variables.bin | md5sum)" = "$sum" ] ||
  fail "the first run's files changed"
[ "$(wc -l < "$work/runs/moons-2/metrics-epochs.csv")" -eq 4 ] || fail "the second run's metrics are not its 3 epochs"
# --output naming a folder that holds files: refused, files untouched
"$symgrad" train "$exp" --set epochs=2 --output "$work/runs/moons" > exact.log 2>&1
status=$?
[ $status -eq 2 ] && grep -q "holds files already" exact.log || { cat exact.log; fail "--output into a run (exit $status)"; }
[ "$(cat "$work/runs/moons"/metrics-epochs.csv "$work/runs/moons"/variables.bin | md5sum)" = "$sum" ] ||
  fail "the refused run changed the folder"
# compare twice: the second comparison in a folder of its own
for k in 1 2; do
  "$symgrad" compare "$exp" --vary optimizer.lr=0.01,0.02 --set epochs=1 --set output="$work/c" > "compare$k.log" 2>&1 ||
    { cat "compare$k.log"; fail "compare $k"; }
done
[ -d "$work/c-compare/optimizer.lr=0.01" ] && [ -d "$work/c-compare-2/optimizer.lr=0.01" ] || fail "compare's folders"
# resume (docs/experiments.md, "Resuming"): a changed learning rate applies from the resumed step
# and the record says so; a changed setting that defines the run is refused, naming it
for r in same lower; do
  "$symgrad" train "$exp" --set epochs=2 --set checkpoint_seconds=0 --output "$work/$r" > /dev/null 2>&1 || fail "$r"
done
"$symgrad" train "$exp" --set epochs=4 --set checkpoint_seconds=0 --resume "$work/same" > same.log 2>&1 || { cat same.log; fail "resume"; }
"$symgrad" train "$exp" --set epochs=4 --set checkpoint_seconds=0 --set optimizer.lr=0.001 --resume "$work/lower" > lower.log 2>&1 ||
  { cat lower.log; fail "resume with another lr"; }
grep -q "after epoch 4 (2 in this run); run folder" lower.log || { cat lower.log; fail "the end line's epochs"; }
grep -q "resumed after epoch 2 (step 26) with: epochs 2 -> 4, optimizer.lr 0.01 -> 0.001" lower.log ||
  { cat lower.log; fail "the resume did not say what changed"; }
grep -q "^# resumed after epoch 2 (step 26) with: epochs 2 -> 4, optimizer.lr 0.01 -> 0.001" "$work/lower/experiment.toml" ||
  fail "the run's experiment.toml does not record the change"
[ "$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "lr") c = i } NR > 1 { printf "%.3g ", $c }' \
      "$work/lower/metrics-epochs.csv")" = "0.01 0.01 0.001 0.001 " ] || fail "the learning rates by epoch"
cmp -s "$work/same/variables.bin" "$work/lower/variables.bin" && fail "the new learning rate was ignored"
"$symgrad" train "$exp" --set epochs=6 --set seed=4 --set data.noise=0.3 --resume "$work/same" > defining.log 2>&1
status=$?
[ $status -eq 2 ] && grep -q "settings that define another run: data.noise (0.2 -> 0.3), seed (3 -> 4)" defining.log ||
  { cat defining.log; fail "a resume with another seed and data (exit $status)"; }
[ "$failed" -eq 0 ] && echo "run folder test passed"
