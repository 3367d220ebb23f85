#!/usr/bin/env bash
# A training run killed with SIGKILL (no handler runs, no checkpoint is written on the way out) at
# 20 moments spread over its duration always resumes from its last complete checkpoint and ends
# with the same bytes in variables.bin as a run that was never interrupted.
# Usage: kill_resume_test.sh SYMGRAD EXPERIMENTS_DIR
set -euo pipefail
symgrad=$1
experiments=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
exp="$experiments/moons_adam.toml"
sets=(--set epochs=40 --set checkpoint_seconds=0)  # a checkpoint after every epoch

start=$(date +%s%N)
"$symgrad" train "$exp" "${sets[@]}" --output "$work/straight" > /dev/null
duration_ms=$(( ($(date +%s%N) - start) / 1000000 ))

resumed=0
for i in $(seq 20); do
  dir="$work/run$i"
  "$symgrad" train "$exp" "${sets[@]}" --output "$dir" > /dev/null 2>&1 &
  pid=$!
  # moment i: spread over the run's duration, the same moments every time
  sleep "$(awk -v i="$i" -v d="$duration_ms" 'BEGIN { srand(i); printf "%.3f", (0.05 + 0.9 * rand()) * d / 1000 }')"
  kill -9 "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  if [ -s "$dir/checkpoint.bin" ]; then
    "$symgrad" train "$exp" "${sets[@]}" --resume "$dir" > /dev/null
    resumed=$((resumed + 1))
  else  # killed before the first checkpoint: nothing to resume; a new run needs a free folder
    rm -r "$dir"
    "$symgrad" train "$exp" "${sets[@]}" --output "$dir" > /dev/null
  fi
  cmp -s "$dir/variables.bin" "$work/straight/variables.bin" || { echo "kill $i: variables.bin differs"; exit 1; }
done
test "$resumed" -ge 5 || { echo "only $resumed of 20 kills left a checkpoint to resume from"; exit 1; }
echo "kill resume test passed: 20 kills, $resumed resumed from a checkpoint, all bitwise the uninterrupted run"
