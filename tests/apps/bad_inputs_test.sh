#!/usr/bin/env bash
# Bad input, as a user meets it through the command line: each case runs one command and asserts
# its exit status (2: a usage error, 1: anything else that failed) and what the message says.
# Usage: bad_inputs_test.sh SYMGRAD EXPERIMENTS_DIR
set -uo pipefail
symgrad=$1
experiments=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

# expect STATUS TEXT -- COMMAND...: the command exits with STATUS and prints TEXT (a fixed string)
expect() {
  local status=$1 text=$2
  shift 3
  local out
  out=$("$@" 2>&1)
  local got=$?
  if [ "$got" -eq "$status" ] && grep -qF -- "$text" <<< "$out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $* -> status $got (want $status), output:"
    echo "$out" | head -5
    echo "  (wanted: $text)"
  fi
}

exp="$experiments/moons_adam.toml"
edit() {  # edit NAME SED-EXPRESSION: a copy of the moons experiment with one change
  sed "$2" "$exp" > "$work/$1.toml"
  echo "$work/$1.toml"
}

# ---- experiment files: file:line, the key, the allowed range or the nearest name
expect 2 "cannot read the experiment file 'nope.toml': no such file" -- "$symgrad" train nope.toml
f=$(edit syntax 's/^seed = 3/seed = = 3/'); expect 2 "syntax.toml:$(grep -n '^seed' "$f" | cut -d: -f1):" -- "$symgrad" train "$f"
f=$(edit key 's/^seed = 3/sead = 3/'); expect 2 "unknown key 'sead' (did you mean 'seed'?)" -- "$symgrad" train "$f"
f=$(edit type 's/^epochs = 60/epochs = "many"/'); expect 2 "'epochs' must be an integer" -- "$symgrad" train "$f"
f=$(edit batch 's/^batch_size = 64/batch_size = 0/'); expect 2 "'batch_size' = 0 is out of range: allowed >= 1" -- "$symgrad" train "$f"
f=$(edit epochs 's/^epochs = 60/epochs = -1/'); expect 2 "'epochs' = -1 is out of range" -- "$symgrad" train "$f"
f=$(edit layer 's/type = "dense", units = 2 }/type = "dens", units = 2 }/'); expect 2 "unknown layer type 'dens' (did you mean 'dense'?)" -- "$symgrad" train "$f"
f=$(edit units 's/units = 2 }/units = 0 }/'); expect 2 "dense layer of 0 units" -- "$symgrad" train "$f"
f=$(edit act 's/activation = "relu"/activation = "relux"/'); expect 2 "unknown activation 'relux'" -- "$symgrad" train "$f"
f=$(edit lr 's/^lr = 0.01/lr = -0.01/'); expect 2 "optimizer 'adam': 'lr' = -0.01 is out of range: allowed > 0" -- "$symgrad" train "$f"
f=$(edit hyper 's/^lr = 0.01/lrate = 0.01/'); expect 2 "unknown hyperparameter 'lrate'" -- "$symgrad" train "$f"
f=$(edit opt 's/^name = "adam"/name = "adamm"/'); expect 2 "unknown optimizer 'adamm'" -- "$symgrad" train "$f"
f=$(edit data 's/^set = "moons"/set = "moon"/'); expect 2 "unknown data set 'moon' (did you mean 'moons'?)" -- "$symgrad" train "$f"
f=$(edit val 's/^validation = 0.2/validation = 1.5/'); expect 2 "'validation' = 1.5 is out of range: allowed [0, 1)" -- "$symgrad" train "$f"
expect 2 "--set 'epochs' is not key=value" -- "$symgrad" train "$exp" --set epochs
expect 2 "(--set)" -- "$symgrad" train "$exp" --set optimizer.lr=-1
expect 2 "no [[strategy]] named 'polyak'" -- "$symgrad" train "$exp" --set strategy.polyak.decay=0.5
expect 2 "unknown strategy 'polyakk' (did you mean 'polyak'?)" -- "$symgrad" train "$exp" --set strategy=polyakk
expect 2 "strategy 'polyak': 'decay' = 2 is out of range" -- "$symgrad" train "$exp" --set strategy=polyak --set strategy.polyak.decay=2.0
expect 2 "checkpoint_seconds must be >= 0" -- "$symgrad" train "$exp" --set checkpoint_seconds=-1
expect 2 "clip_norm and clip_value must be >= 0" -- "$symgrad" train "$exp" --set clip_norm=-1
expect 2 "l1 > 0 (the lasso's soft-threshold) needs update = \"exact\"" -- "$symgrad" train "$exp" --set strategy=coordinate_descent --set strategy.coordinate_descent.l1=0.1

# ---- the command line: usage errors exit with 2
expect 2 "unknown command 'trian' (did you mean 'train'?)" -- "$symgrad" trian
expect 2 "give the experiment" -- "$symgrad" train
expect 2 "--resume '$work': the folder has no checkpoint.bin" -- "$symgrad" train "$exp" --resume "$work"
expect 2 "is not a finished run folder" -- "$symgrad" eval "$work"
expect 2 "give exactly one of --function and --expr" -- "$symgrad" minimize --optimizer sgd
expect 2 "--vary needs at least two values" -- "$symgrad" compare "$exp" --vary optimizer=sgd
expect 2 "--members must be >= 1" -- "$symgrad" ensemble "$exp" --members 0
expect 2 "is host-driven" -- "$symgrad" minimize --function sphere --optimizer lbfgs --strategy polyak

# ---- data files: the file, the line and column, what was expected
printf '1,2,0\n3,4\n' > "$work/ragged.csv"
printf '1,x,0\n' > "$work/cell.csv"
printf '1,2,0\n' > "$work/ok.csv"
csv() {  # csv NAME TRAIN_CSV: an experiment on a CSV file
  printf '[data]\nset = "csv"\ntrain_csv = "%s"\ntest_csv = "%s"\nvalidation = 0\n[model]\nlayers = [{ type = "dense", units = 2 }]\n' \
    "$2" "$work/ok.csv" > "$work/$1.toml"
  echo "$work/$1.toml"
}
expect 1 "ragged.csv:2: 2 columns, the first row has 3" -- "$symgrad" train "$(csv c1 "$work/ragged.csv")"
expect 1 "cell.csv:1:3: 'x' is not a number" -- "$symgrad" train "$(csv c2 "$work/cell.csv")"
expect 1 "missing.csv" -- "$symgrad" train "$(csv c3 "$work/missing.csv")"
printf 'not an idx file' > "$work/bad.idx"
printf '[data]\nset = "idx"\nimages = "%s"\nlabels = "%s"\ntest_images = "%s"\ntest_labels = "%s"\n[model]\nlayers = [{ type = "flatten" }, { type = "dense", units = 2 }]\n' \
  "$work/bad.idx" "$work/bad.idx" "$work/bad.idx" "$work/bad.idx" > "$work/idx.toml"
expect 1 "is not an IDX file: its magic number starts 6e 6f, not 00 00" -- "$symgrad" train "$work/idx.toml"

# ---- run folders: a damaged variables file is named, never half-read
"$symgrad" train "$exp" --set epochs=1 --output "$work/run" > /dev/null
cp "$work/run/variables.bin" "$work/good.bin"
head -c 100 "$work/good.bin" > "$work/run/variables.bin"
expect 1 "variables.bin' is truncated: tensor data needs" -- "$symgrad" eval "$work/run"
cp "$work/good.bin" "$work/run/variables.bin"
printf '\xff' | dd of="$work/run/variables.bin" bs=1 seek=$(( $(stat -c %s "$work/good.bin") - 5 )) conv=notrunc status=none
expect 1 "fails its checksum (the file is damaged)" -- "$symgrad" eval "$work/run"

# ---- plugins: named with their file and what went wrong
printf 'not a library' > "$work/symgrad-broken.so"
expect 1 "it is not a shared library" -- "$symgrad" plugins check "$work/symgrad-broken.so"
expect 1 "no plugin named 'nosuch'" -- "$symgrad" gradcheck --plugin nosuch

echo "bad inputs: $passed passed, $failed failed"
test "$failed" -eq 0
