#!/usr/bin/env bash
# `mpirun -np 2 symgrad train`: trains data-parallel, rank 0 writes the run folder and its test
# accuracy is the one process's (same batches; float sums in another order); --resume works with
# another number of processes; Ctrl-C on mpirun stops every rank after the same step with a
# checkpoint that --resume continues to the uninterrupted run's result; a rank killed with SIGKILL,
# or stopped (SIGSTOP: hung, not dead), ends the whole job with an error, no hang.
# Usage: distributed_cli_test.sh SYMGRAD EXPERIMENTS_DIR "MPIRUN COMMAND"
set -euo pipefail
symgrad=$1
experiments=$2
read -r -a mpirun <<<"$3"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
exp="$experiments/moons_adam.toml"

"$symgrad" train "$exp" --set epochs=4 --output "$work/one" > "$work/one.log"
"${mpirun[@]}" -np 2 "$symgrad" train "$exp" --set epochs=4 --output "$work/two" > "$work/two.log"
grep -q "data-parallel over 2 processes" "$work/two.log"
one=$(grep -o 'test accuracy [0-9.]*%' "$work/one.log")
two=$(grep -o 'test accuracy [0-9.]*%' "$work/two.log")
echo "one process: $one; two: $two"
[ "$one" = "$two" ]
[ "$(grep -c . "$work/two/metrics-epochs.csv")" -eq 5 ]  # header and 4 epochs, written once

# resumed with 3 processes from the 2-process run's checkpoint after epoch 2
"${mpirun[@]}" -np 2 "$symgrad" train "$exp" --set epochs=2 --output "$work/resumed" > /dev/null
"${mpirun[@]}" -np 3 "$symgrad" train "$exp" --set epochs=4 --resume "$work/resumed" > "$work/resumed.log"
grep -q "resuming after epoch 2" "$work/resumed.log"
three=$(grep -o 'test accuracy [0-9.]*%' "$work/resumed.log")
echo "resumed on three: $three"
[ "$three" = "$one" ]

# a model with a batch_norm layer of synchronized statistics (sync = true): 2 ranks train as one
# process does (its per-process statistics, sync = false, would not)
cat > "$work/bn.toml" <<'TOML'
name = "bn-sync"
seed = 1
epochs = 3
batch_size = 32
[data]
set = "moons"
n = 400
noise = 0.2
[model]
layers = [
  { type = "dense", units = 16 },
  { type = "batch_norm", sync = true },
  { type = "activation", activation = "relu" },
  { type = "dense", units = 2 },
]
[optimizer]
name = "sgd"
lr = 0.1
TOML
"$symgrad" train "$work/bn.toml" --output "$work/bn1" > "$work/bn1.log"
"${mpirun[@]}" -np 2 "$symgrad" train "$work/bn.toml" --output "$work/bn2" > "$work/bn2.log"
bn1=$(grep -o 'test accuracy [0-9.]*%' "$work/bn1.log")
bn2=$(grep -o 'test accuracy [0-9.]*%' "$work/bn2.log")
echo "synchronized batch norm: one process $bn1; two $bn2"
[ "$bn1" = "$bn2" ]

# ranks given different experiments (here: another seed each): refused on every rank, exit status 2
status=0
"${mpirun[@]}" -np 2 bash -c "exec '$symgrad' train '$exp' --set epochs=1 --set seed=\$OMPI_COMM_WORLD_RANK --output '$work/mixed'" \
  > "$work/mixed.log" 2>&1 || status=$?
grep -q "the 2 processes were given different experiments" "$work/mixed.log"
echo "different experiments: mpirun exited with $status"
[ "$status" -eq 2 ]

# a rank killed: mpirun ends every process and says which rank died
timeout 120 "${mpirun[@]}" -np 2 "$symgrad" train "$experiments/fashion_mlp.toml" --set epochs=2 \
  --output "$work/killed" > "$work/killed.log" 2>&1 &
job=$!
for _ in $(seq 100); do
  grep -q "loss" "$work/killed.log" 2>/dev/null && break
  sleep 0.2
done
pkill -KILL -n -f "^$symgrad train $experiments/fashion_mlp.toml"
status=0
wait "$job" || status=$?
echo "killed rank: mpirun exited with $status"
grep -q "exited on signal 9" "$work/killed.log"
[ "$status" -ne 0 ] && [ "$status" -ne 124 ]  # an error, not the timeout

# Ctrl-C on mpirun: it sends SIGTERM to every rank (a moment later); they agree to stop
# after the same step, rank 0 writes a checkpoint, and --resume to the end of the next epoch ends
# bitwise where a run of that many epochs, never interrupted, does
mlp="$experiments/fashion_mlp.toml"
# (mpirun waits odls_base_sigkill_timeout seconds, 1 by default, before SIGTERM and as long again
# before SIGKILL: 3 here, for a loaded machine; the signal goes to mpirun alone, as a terminal's
# Ctrl-C to a job in the foreground would)
"${mpirun[@]}" --mca odls_base_sigkill_timeout 3 -np 2 "$symgrad" train "$mlp" --set epochs=30 \
  --output "$work/stopped" > "$work/stopped.log" 2>&1 &
job=$!
for _ in $(seq 300); do  # (the log comes in blocks through mpirun; the metrics file line by line)
  [ "$(grep -c . "$work/stopped/metrics-epochs.csv" 2>/dev/null)" -ge 2 ] 2>/dev/null && break
  sleep 0.2
done
kill -INT "$job"
status=0
wait "$job" || status=$?
echo "Ctrl-C: mpirun exited with $status"
[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
# (rank 0's last words may not make it through mpirun's output forwarding while it ends the job:
# the run folder says where it stopped, after its last complete epoch and maybe in the next)
[ -f "$work/stopped/checkpoint.bin" ] || { tr '\r' '\n' < "$work/stopped.log" | tail -20 >&2; exit 1; }
epochs=$(grep -c . "$work/stopped/metrics-epochs.csv")  # the header, then one line an epoch: epochs + 1
"${mpirun[@]}" -np 2 "$symgrad" train "$mlp" --set epochs=$epochs --resume "$work/stopped" > /dev/null
"${mpirun[@]}" -np 2 "$symgrad" train "$mlp" --set epochs=$epochs --output "$work/whole" > /dev/null
echo "interrupted in epoch $epochs, resumed: the same variables as the uninterrupted run"
cmp "$work/whole/variables.bin" "$work/stopped/variables.bin"

# a rank stopped (SIGSTOP): it does not die, so MPI alone would wait for it forever; the others
# give up after --comm-timeout seconds, say why, and end the job
timeout 120 "${mpirun[@]}" -np 2 "$symgrad" train "$mlp" --set epochs=30 --comm-timeout 3 --output "$work/hung" \
  > "$work/hung.log" 2>&1 &
job=$!
for _ in $(seq 100); do
  grep -q "loss" "$work/hung.log" 2>/dev/null && break
  sleep 0.2
done
for pid in $(pgrep -f "^$symgrad train $mlp"); do
  if tr '\0' '\n' < "/proc/$pid/environ" | grep -qx "OMPI_COMM_WORLD_RANK=1"; then kill -STOP "$pid"; fi
done
status=0
wait "$job" || status=$?
echo "stopped rank: mpirun exited with $status"
grep -q "MPI rank 0 of 2 on .* waited 3 s for the other processes: one of them hangs or is stopped" "$work/hung.log"
[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
echo "distributed cli test passed"
