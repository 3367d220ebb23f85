#!/usr/bin/env bash
# symgrad train as a user runs it: the moons experiment learns (test accuracy >= 95%), the run
# folder holds the metrics, variables, experiment and plots; a mistake in the file is a usage
# error naming its line. Usage: train_test.sh SYMGRAD EXPERIMENTS_DIR
set -euo pipefail
symgrad=$1
experiments=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$symgrad" train "$experiments/moons_adam.toml" --output "$work/run" > "$work/out.txt"
grep -E "^test accuracy (9[5-9]|100)\." "$work/out.txt" || { cat "$work/out.txt"; exit 1; }
grep -q "^data: moons: examples of f32\[2\], 2 classes$" "$work/out.txt" || { cat "$work/out.txt"; exit 1; }  # what was read
for f in metrics-epochs.csv metrics-epochs.jsonl metrics-steps.csv metrics-steps.jsonl variables.bin experiment.toml; do
  test -s "$work/run/$f" || { echo "missing $f"; exit 1; }
done
grep -q "<svg" "$work/run/loss.svg" && grep -q "<svg" "$work/run/accuracy.svg"
# the minibatch loss of every step and the learning rate over training, beside the epoch curves
grep -q "minibatch loss at each step" "$work/run/loss-steps.svg" && grep -q "learning rate" "$work/run/lr.svg" ||
  { ls "$work/run"; exit 1; }
test "$(wc -l < "$work/run/metrics-epochs.csv")" -eq 61  # a header and 60 epochs

# the decision boundary of a 2-D classifier: its grid of classes (the moons' half circles: (0, 1)
# on class 0's, (1, -0.5) on class 1's) and the picture; the grid's classes are predict's
grep -q "<svg" "$work/run/boundary.svg" && test "$(head -1 "$work/run/boundary.csv")" = "x0,x1,class" &&
  test "$(wc -l < "$work/run/boundary.csv")" -eq 10202 || { head -3 "$work/run/boundary.csv"; exit 1; }
nearest() {  # the class of the grid point nearest ($1, $2)
  awk -F, -v x="$1" -v y="$2" 'NR > 1 { d = ($1 - x)^2 + ($2 - y)^2; if (best == "" || d < best) { best = d; c = $3 } } END { print c }' \
    "$work/run/boundary.csv"
}
test "$(nearest 0 1)$(nearest 1 -0.5)" = "01" || { echo "boundary classes $(nearest 0 1) $(nearest 1 -0.5)"; exit 1; }
{ echo "x0,x1"; sed -n '2p;5000p;10202p' "$work/run/boundary.csv" | cut -d, -f1,2; } > "$work/grid.csv"
"$symgrad" predict "$work/run" --data "$work/grid.csv" | tail -n +2 | cut -d, -f1 > "$work/grid_pred.txt"
sed -n '2p;5000p;10202p' "$work/run/boundary.csv" | cut -d, -f3 | diff - "$work/grid_pred.txt" || { echo "the grid is not predict's"; exit 1; }
"$symgrad" plot "$work/run" --boundary --output "$work/bplot" | grep -q "decision boundary: $work/bplot/boundary.svg"
grep -q "<svg" "$work/bplot/boundary.svg"

# symgrad predict: the trained model's class and probabilities for new points (the moons' two
# half circles: (0, 1) on class 0's, (1, -0.5) on class 1's), as CSV; the same from a .npy file
printf 'x0,x1\n0,1\n1,-0.5\n' > "$work/points.csv"
"$symgrad" predict "$work/run" --data "$work/points.csv" --output "$work/pred.csv" > /dev/null
test "$(head -1 "$work/pred.csv")" = "logits_class,logits_p0,logits_p1" || { cat "$work/pred.csv"; exit 1; }
test "$(sed -n 2p "$work/pred.csv" | cut -d, -f1)$(sed -n 3p "$work/pred.csv" | cut -d, -f1)" = "01" || { cat "$work/pred.csv"; exit 1; }
"$symgrad" predict "$work/run" --data "$(dirname "$0")/../data/npy/f4.npy" > "$work/pred4.csv" 2>&1 && exit 1  # 4 features: refused
grep -q "the examples of '.*f4.npy' (f32\[4\] each) do not fit the model" "$work/pred4.csv" || { cat "$work/pred4.csv"; exit 1; }

# early stopping's summary: the epoch it stopped at and the one it restored, and every figure of
# the restored weights: the validation row is the validation loss recorded at the restored epoch
"$symgrad" train "$experiments/regularize_early_stopping.toml" --output "$work/es" --set epochs=60 \
  --set regularizer.early_stopping.patience=5 > "$work/es.txt"
restored=$(sed -n 's/^early stopping: stopped at epoch [0-9]*, restored epoch \([0-9]*\):.*/\1/p' "$work/es.txt")
test -n "$restored" || { cat "$work/es.txt"; exit 1; }
recorded=$(awk -F, -v e="$restored" 'NR == 1 { for (i = 1; i <= NF; ++i) if ($i == "val_loss") c = i } NR > 1 && $1 == e { printf "%.4f", $c }' \
  "$work/es/metrics-epochs.csv")
shown=$(awk '$1 == "validation" { print $2 }' "$work/es.txt")
test "$shown" = "$recorded" || { echo "validation $shown, recorded at epoch $restored: $recorded"; cat "$work/es.txt"; exit 1; }

# run.toml records the thread count chosen from the work (the moons MLP's step is small: one
# thread) and the CPU; SYMGRAD_NUM_THREADS overrides the choice
grep -q "^threads = 1  # a step is .* multiply-adds, below" "$work/run/run.toml" && grep -q '^cpu = ".* (oneDNN [a-z0-9_]*, chains [a-z0-9]*)"$' "$work/run/run.toml" ||
  { cat "$work/run/run.toml"; exit 1; }
SYMGRAD_NUM_THREADS=2 "$symgrad" train "$experiments/moons_adam.toml" --output "$work/env" --set epochs=1 > "$work/env.txt"
grep -q "^threads: 2 (SYMGRAD_NUM_THREADS)$" "$work/env.txt" || { cat "$work/env.txt"; exit 1; }
grep -q "^threads = 2  # SYMGRAD_NUM_THREADS" "$work/env/run.toml" || { cat "$work/env/run.toml"; exit 1; }

# --set overrides a key: one epoch; the run folder's experiment.toml is the experiment as it ran
"$symgrad" train "$experiments/moons_adam.toml" --output "$work/one" --set epochs=1 --set optimizer.lr=0.5 | grep -q "after 1 epochs"
grep -q "^epochs = 1$" "$work/one/experiment.toml" && grep -q "^lr = 0.5$" "$work/one/experiment.toml" &&
  grep -q "with --set epochs=1 optimizer.lr=0.5" "$work/one/experiment.toml" || { cat "$work/one/experiment.toml"; exit 1; }
"$symgrad" eval "$work/one" > /dev/null  # and it reads back

# a misspelt key: exit status 2, the file and line
sed 's/^seed = 3/sead = 3/' "$experiments/moons_adam.toml" > "$work/bad.toml"
set +e
out=$("$symgrad" train "$work/bad.toml" 2>&1); status=$?
set -e
test $status -eq 2 || { echo "status $status: $out"; exit 1; }
line=$(grep -n '^sead' "$work/bad.toml" | cut -d: -f1)
echo "$out" | grep -q "bad.toml:$line: unknown key 'sead' (did you mean 'seed'?)" || { echo "$out"; exit 1; }
# eval reads the run folder back: the same test accuracy
test_acc=$(grep -o "^test accuracy [0-9.]*" "$work/out.txt" | grep -o "[0-9.]*$")
"$symgrad" eval "$work/run" | grep -q "accuracy $test_acc%" || { "$symgrad" eval "$work/run"; exit 1; }

# a strategy from the file: Polyak's averages are what the test accuracy, variables.bin and eval
# use; without it (--set strategy=none) the last iterate scores otherwise
# a host-driven optimizer (no learning rate): its run folder has every plot but lr.svg
"$symgrad" train "$experiments/optimize_lbfgs.toml" --output "$work/lbfgs" --set epochs=2 > "$work/lbfgs.txt" ||
  { cat "$work/lbfgs.txt"; exit 1; }
[ -f "$work/lbfgs/loss-steps.svg" ] && [ ! -f "$work/lbfgs/lr.svg" ] || { ls "$work/lbfgs"; exit 1; }
"$symgrad" train "$experiments/strategy_polyak.toml" --output "$work/polyak" --set epochs=3 > "$work/polyak.txt"
grep -q "regularizers and strategies: polyak" "$work/polyak.txt" || { cat "$work/polyak.txt"; exit 1; }
avg_acc=$(grep -o "^test accuracy [0-9.]*" "$work/polyak.txt" | grep -o "[0-9.]*$")
"$symgrad" eval "$work/polyak" | grep -q "accuracy $avg_acc%" || { "$symgrad" eval "$work/polyak"; exit 1; }
"$symgrad" train "$experiments/strategy_polyak.toml" --output "$work/last" --set epochs=3 --set strategy=none > "$work/last.txt"
last_acc=$(grep -o "^test accuracy [0-9.]*" "$work/last.txt" | grep -o "[0-9.]*$")
test "$avg_acc" != "$last_acc" || { echo "the same accuracy with and without averaging: $avg_acc"; exit 1; }
# compare --vary strategy: one table of the kind per variant
"$symgrad" compare "$experiments/strategy_batch_norm.toml" --vary strategy=none,batch_norm --set epochs=2 \
  --output "$work/bn" > "$work/bn.txt"
grep -q "^strategy=none " "$work/bn.txt" && grep -q "^strategy=batch_norm " "$work/bn.txt" || { cat "$work/bn.txt"; exit 1; }

# ensemble: members, their mean, the averaged and voted predictions
"$symgrad" ensemble "$experiments/regularize_none.toml" --members 3 --set epochs=20 --output "$work/ens" > "$work/ens.txt"
grep -q "^averaged probability" "$work/ens.txt" && grep -q "^majority vote" "$work/ens.txt" && test -s "$work/ens/member2/variables.bin" ||
  { cat "$work/ens.txt"; exit 1; }

# compare: two variants side by side, their comparison plots; plot redraws and compares run folders
"$symgrad" compare "$experiments/moons_adam.toml" --vary "optimizer=sgd:lr=0.1,momentum,adam" --set epochs=3 \
  --output "$work/cmp" > "$work/cmp.txt"
# the file's adam settings (lr 0.01) are not carried over to the other optimizers, and it says so
grep -q "^note: optimizer=momentum starts from momentum's defaults, not the file's adam settings (lr)" "$work/cmp.txt" ||
  { cat "$work/cmp.txt"; exit 1; }
grep -q "^lr = 0.1$" "$work/cmp/optimizer=sgd:lr=0.1/experiment.toml" && ! grep -q "^lr" "$work/cmp/optimizer=momentum/experiment.toml"
grep -q "^optimizer=sgd:lr=0.1 " "$work/cmp.txt" && grep -q "^optimizer=momentum " "$work/cmp.txt" &&
  grep -q "^optimizer=adam " "$work/cmp.txt" || { cat "$work/cmp.txt"; exit 1; }
# the variant that sets lr gets no note; the table shows each variant's lr as it ran (defaults
# filled in: momentum's own default 0.01, the file's 0.01 for adam)
grep -q "^note: optimizer=sgd:lr=0.1" "$work/cmp.txt" && { cat "$work/cmp.txt"; exit 1; }
grep -q "settings that differ$" "$work/cmp.txt" && grep -q "^optimizer=sgd:lr=0.1 .*  lr=0.1 momentum=0$" "$work/cmp.txt" &&
  grep -q "^optimizer=adam .*  lr=0.01$" "$work/cmp.txt" || { cat "$work/cmp.txt"; exit 1; }
grep -q "^optimizer=momentum .*  lr=0.01 momentum=0.9$" "$work/cmp.txt" || { cat "$work/cmp.txt"; exit 1; }  # (its default)
grep -q "<svg" "$work/cmp/val_loss.svg" && grep -q "<svg" "$work/cmp/val_accuracy.svg" && grep -q "<svg" "$work/cmp/boundaries.svg"
"$symgrad" plot "$work/cmp/optimizer=adam" "$work/run" --output "$work/plots" > /dev/null
grep -q "<svg" "$work/plots/val_accuracy.svg"

# several --vary: every combination, or with --zip value by value; --x step draws against optimizer
# steps (the epoch rows carry the cumulative step and elapsed seconds), and plot --x elapsed redraws
# the comparison against seconds beside it
"$symgrad" compare "$experiments/optimize_batch_size.toml" --vary batch_size=32,800 --vary optimizer.lr=0.3,3 \
  --set epochs=2 --output "$work/grid" > "$work/grid.txt"
[ "$(ls -d "$work/grid"/batch_size=* | wc -l)" -eq 4 ] && [ -d "$work/grid/batch_size=800,optimizer.lr=0.3" ] ||
  { ls "$work/grid"; exit 1; }
"$symgrad" compare "$experiments/optimize_batch_size.toml" --vary batch_size=32,800 --vary optimizer.lr=0.3,3 --zip \
  --x step --set epochs=2 --output "$work/zip" > "$work/zip.txt"
[ "$(ls -d "$work/zip"/batch_size=* | wc -l)" -eq 2 ] && grep -q "^batch_size=800,optimizer.lr=3 " "$work/zip.txt" ||
  { cat "$work/zip.txt"; exit 1; }
# 800 examples: 25 steps an epoch with 32, 1 with 800; elapsed is the sum of the epochs' seconds
[ "$(cut -d, -f1 "$work/zip/batch_size=32,optimizer.lr=0.3/metrics-epochs.csv" | head -1)" = epoch ]
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  { sum += $c["seconds"]; if ($c["step"] != 25 * $c["epoch"] || ($c["elapsed"] - sum) ^ 2 > 1e-12) exit 1 }' \
  "$work/zip/batch_size=32,optimizer.lr=0.3/metrics-epochs.csv" || { cat "$work/zip/batch_size=32,optimizer.lr=0.3/metrics-epochs.csv"; exit 1; }
grep -q "step (optimizer steps since training began)" "$work/zip/val_loss-step.svg"
"$symgrad" plot "$work/zip"/batch_size=* --x elapsed --output "$work/zip" > /dev/null
grep -q "elapsed (seconds since training began)" "$work/zip/val_loss-elapsed.svg" && test -s "$work/zip/val_loss-step.svg"

# a value holding a path names one folder inside the comparison's ('/' percent-encoded), never
# a folder outside it
"$symgrad" compare "$experiments/moons_adam.toml" --vary "name=a,../../escaped" --set epochs=1 \
  --output "$work/paths/c" > /dev/null
[ -d "$work/paths/c/name=..%2F..%2Fescaped" ] && [ ! -e "$work/escaped" ] && [ ! -e "$work/paths/escaped" ] ||
  { find "$work/paths"; exit 1; }

# eval --samples: Monte-Carlo dropout on a run with dropout; refused, with the reason, on one without
"$symgrad" train "$experiments/regularize_dropout.toml" --set epochs=2 --output "$work/drop" > /dev/null
out=$("$symgrad" eval "$work/drop" --samples 5)
grep -q "^averaged over 5 sampled passes (Monte-Carlo): loss [0-9.]*, accuracy [0-9.]*%$" <<< "$out" || { echo "$out"; exit 1; }
set +e
out=$("$symgrad" eval "$work/run" --samples 5 2>&1)
rc=$?
set -e
[ $rc -eq 2 ] && grep -q "draws nothing" <<< "$out" || { echo "eval --samples without dropout ($rc): $out"; exit 1; }

# compare --jobs 2: three variants, two at a time on one thread each (SYMGRAD_NUM_THREADS=2 split);
# each variant's variables are bitwise those of the variant trained alone on one thread
SYMGRAD_NUM_THREADS=2 "$symgrad" compare "$experiments/moons_adam.toml" --vary optimizer.lr=0.01,0.02,0.03 \
  --set epochs=5 --jobs 2 --output "$work/jobs" > "$work/jobs.txt"
grep -q "^2 variants at once, 1 thread each$" "$work/jobs.txt" && grep -q "^optimizer.lr=0.03 " "$work/jobs.txt" &&
  grep -q "^threads = 1  # compare --jobs 2: 1 of 2 threads$" "$work/jobs/optimizer.lr=0.02/run.toml" ||
  { cat "$work/jobs.txt" "$work/jobs/optimizer.lr=0.02/run.toml"; exit 1; }
for lr in 0.01 0.03; do
  SYMGRAD_NUM_THREADS=1 "$symgrad" train "$experiments/moons_adam.toml" --set optimizer.lr=$lr --set epochs=5 \
    --output "$work/alone$lr" > /dev/null
  cmp "$work/alone$lr/variables.bin" "$work/jobs/optimizer.lr=$lr/variables.bin" ||
    { echo "compare --jobs 2 changed the variant lr=$lr"; exit 1; }
done

# Ctrl-C: a checkpoint, exit status 130; --resume continues from it
"$symgrad" train "$experiments/moons_adam.toml" --output "$work/int" --set epochs=1000000 > "$work/int.txt" 2>&1 &
pid=$!
# interrupt once training has started (the handler is in place when the metrics file exists)
for _ in $(seq 200); do
  test -s "$work/int/metrics-steps.csv" && break
  sleep 0.1
done
sleep 0.5
kill -INT $pid
set +e
wait $pid; status=$?
set -e
test $status -eq 130 || { echo "status $status"; cat "$work/int.txt"; exit 1; }
test -s "$work/int/checkpoint.bin"
done_epochs=$(grep -o "checkpoint after epoch [0-9]*" "$work/int.txt" | grep -o "[0-9]*$")
# eval on the interrupted run: not "not a run folder", but how to finish it
set +e
"$symgrad" eval "$work/int" > "$work/eval_int.txt" 2>&1; status=$?
set -e
test $status -eq 2 && grep -q "holds an interrupted run (a checkpoint, no final variables.bin): finish it first with" "$work/eval_int.txt" &&
  grep -q "^  symgrad train $experiments/moons_adam.toml --resume $work/int$" "$work/eval_int.txt" || { cat "$work/eval_int.txt"; exit 1; }
# a resumed run takes its recorded thread count; a count out of range there is refused, naming the file
cp -r "$work/int" "$work/bad_threads" && rm -f "$work/bad_threads/.symgrad.lock"
sed -i 's/^threads = .*/threads = 100000000/' "$work/bad_threads/run.toml"
set +e
out=$("$symgrad" train "$experiments/moons_adam.toml" --resume "$work/bad_threads" 2>&1); status=$?
set -e
[ $status = 2 ] && grep -q "bad_threads/run.toml: threads must be a count from 1 to 4096" <<< "$out" || { echo "$out"; exit 1; }
"$symgrad" train "$experiments/moons_adam.toml" --resume "$work/int" --set epochs=$((done_epochs + 2)) > "$work/resumed.txt"
grep -q "resuming after epoch $done_epochs" "$work/resumed.txt" && grep -q "^test accuracy" "$work/resumed.txt"
echo "train test passed"
