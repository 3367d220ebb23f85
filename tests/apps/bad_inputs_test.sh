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

# nesting the TOML library would recurse into past its stack: refused first, with the line
awk 'BEGIN { printf "["; for (i = 0; i < 50000; i++) printf "a."; print "b]" }' > "$work/deep.toml"
expect 2 "deep.toml:1: the dotted parts of a key nest deeper than 64 levels" -- "$symgrad" train "$work/deep.toml"
awk 'BEGIN { printf "x = "; for (i = 0; i < 5000; i++) printf "["; for (i = 0; i < 5000; i++) printf "]"; print "" }' > "$work/deep2.toml"
expect 2 "deep2.toml:1: the arrays and tables nest deeper than 64 levels" -- "$symgrad" train "$work/deep2.toml"
expect 2 "the key has more than 64 dotted parts" -- "$symgrad" train "$exp" --set "$(printf 'a.%.0s' $(seq 100))b=1"

# ---- the command line: usage errors exit with 2
expect 2 "unknown command 'trian' (did you mean 'train'?)" -- "$symgrad" trian
expect 2 "give the experiment" -- "$symgrad" train
expect 2 "--resume '$work': the folder has no checkpoint.bin" -- "$symgrad" train "$exp" --resume "$work"
expect 2 "--comm-timeout must be > 0 seconds, got 0" -- "$symgrad" train "$exp" --comm-timeout 0
expect 2 "is not a finished run folder" -- "$symgrad" eval "$work"
expect 2 "give exactly one of --function and --expr" -- "$symgrad" minimize --optimizer sgd
expect 2 "--vary needs at least two values" -- "$symgrad" compare "$exp" --vary optimizer=sgd
expect 2 "--jobs must be at least 1, got 0" -- "$symgrad" compare "$exp" --vary optimizer.lr=0.1,0.2 --jobs 0
expect 2 "--zip pairs the values of each --vary: batch_size has 2 values, optimizer.lr has 3" -- "$symgrad" compare "$exp" --vary batch_size=1,2 --vary optimizer.lr=0.1,0.2,0.3 --zip
expect 2 "--zip pairs the values of several --vary; there is one" -- "$symgrad" compare "$exp" --vary batch_size=1,2 --zip
expect 2 "--x must be epoch, step or elapsed, got 'time'" -- "$symgrad" compare "$exp" --vary batch_size=1,2 --x time
expect 2 "--x must be epoch, step or elapsed, got 'steps'" -- "$symgrad" plot "$work" --x steps
expect 2 "--samples 0: at least 1" -- "$symgrad" eval "$work" --samples 0
expect 2 "ONEDNN_MAX_CPU_ISA=AVX3: not an instruction set oneDNN knows" -- env ONEDNN_MAX_CPU_ISA=AVX3 "$symgrad" train "$exp" --set epochs=1 --output "$work/isa"
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

# ---- labels the model cannot take, NaN and other cells that are not data, IDX files that lie
printf '1,2,0\n3,4,5\n' > "$work/big.csv"; printf '1,2,0\n3,4,-1\n' > "$work/neg.csv"
printf '1,2,0\n3,4,0.5\n' > "$work/half.csv"; printf 'a,b,label\n1,nan,0\n2,3,1\n' > "$work/nan.csv"
expect 2 "training data '$work/big.csv': example 1 has label 5, but the model has 2 classes" -- "$symgrad" train "$(csv c4 "$work/big.csv")"
printf '[data]\nset = "csv"\ntrain_csv = "%s"\ntest_csv = "%s"\nvalidation = 0\n[model]\nlayers = [{ type = "dense", units = 2 }]\n' \
  "$work/ok.csv" "$work/big.csv" > "$work/testlabel.toml"
expect 2 "data '$work/big.csv': example 1 has label 5, but the model has 2 classes (its output 'logits' has 2 columns; labels are 0 to 1)" -- "$symgrad" train "$work/testlabel.toml" --output "$work/testlabel"
expect 1 "neg.csv:2:5: label '-1' is not a class" -- "$symgrad" train "$(csv c5 "$work/neg.csv")"
expect 1 "half.csv:2:5: label '0.5' is not a class" -- "$symgrad" train "$(csv c6 "$work/half.csv")"
expect 1 "nan.csv:2:3: 'nan' is not a number" -- "$symgrad" train "$(csv c7 "$work/nan.csv")"
# a value beyond the float range (an infinity once read as f32), in the test set: refused before training
printf '1,2,0\n1,1e39,1\n' > "$work/huge.csv"
printf '[data]\nset = "csv"\ntrain_csv = "%s"\ntest_csv = "%s"\nvalidation = 0\n[model]\nlayers = [{ type = "dense", units = 2 }]\n' \
  "$work/ok.csv" "$work/huge.csv" > "$work/huge.toml"
expect 1 "data '$work/huge.csv': array 'x' holds inf at row 1 (element 1 of it)" -- "$symgrad" train "$work/huge.toml" --output "$work/huge"
# a FIFO or a folder as a data file: refused before it is opened (a FIFO would wait for a writer forever)
mkfifo "$work/fifo.csv"
expect 1 "'$work/fifo.csv' is not a regular file (a FIFO)" -- timeout 20 "$symgrad" train "$(csv c8 "$work/fifo.csv")"
expect 1 "'$work' is not a regular file (a folder)" -- "$symgrad" train "$(csv c9 "$work")"
# a trace that cannot be written in full (a full disk) is an error, not exit 0
expect 1 "cannot write the trace '/dev/full'" -- "$symgrad" minimize --function sphere --optimizer sgd --steps 2 --trace /dev/full
idx_files() {  # idx_files NAME IMAGES LABELS: an experiment on IDX files (the test part: 3 good images)
  printf '[data]\nset = "idx"\nimages = "%s"\nlabels = "%s"\ntest_images = "%s"\ntest_labels = "%s"\n[model]\nlayers = [{ type = "flatten" }, { type = "dense", units = 2 }]\n' \
    "$2" "$3" "$work/img3.idx" "$work/lab3.idx" > "$work/$1.toml"
  echo "$work/$1.toml"
}
idx_bytes() {  # idx_bytes FILE DIMS... : an unsigned-byte IDX header for DIMS, then bytes from stdin
  local f=$1; shift
  { printf '\x00\x00\x08'"$(printf '\\x%02x' $#)"; for d in "$@"; do printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((d >> 24 & 255)) $((d >> 16 & 255)) $((d >> 8 & 255)) $((d & 255)))"; done; cat; } > "$f"
}
head -c 12 /dev/zero | idx_bytes "$work/img3.idx" 3 2 2
printf '\x00\x01\x01' | idx_bytes "$work/lab3.idx" 3
printf '\x00\x01' | idx_bytes "$work/lab2.idx" 2
head -c 5 /dev/zero | idx_bytes "$work/short.idx" 3 2 2
gzip -c "$work/lab3.idx" | gzip -c > "$work/twice.idx.gz"
expect 1 "'$work/lab2.idx': labels must be [3] integers (one per image of '$work/img3.idx'), got i32[2]" -- "$symgrad" train "$(idx_files i1 "$work/img3.idx" "$work/lab2.idx")"
expect 1 "the header promises 12 elements (3x2x2) of 1 bytes, 28 bytes in all, but it has 21 bytes" -- "$symgrad" train "$(idx_files i2 "$work/short.idx" "$work/lab3.idx")"
expect 1 "its content is still gzip-compressed: it was compressed twice; gunzip it once" -- "$symgrad" train "$(idx_files i3 "$work/img3.idx" "$work/twice.idx.gz")"

# ---- numerics: a run that diverges after its first checkpoint (clip_exploding without clipping)
clip="$experiments/clip_exploding.toml"
"$symgrad" train "$clip" --set epochs=1 --output "$work/ce" > /dev/null
cp -r "$work/ce" "$work/ce_stop"; cp -r "$work/ce" "$work/ce_skip"; cp "$work/ce/checkpoint.bin" "$work/ce.bin"
expect 1 "training diverged at epoch 2, step 30: the loss is" -- "$symgrad" train "$clip" --set epochs=2 --set clip_norm=0 --resume "$work/ce"
expect 0 "" -- cmp "$work/ce/checkpoint.bin" "$work/ce.bin"  # the last good checkpoint, byte for byte
expect 0 "training stopped (nan_policy = stop) at epoch 2, step 30: the loss is" -- "$symgrad" train "$clip" --set epochs=2 --set clip_norm=0 --set nan_policy=stop --resume "$work/ce_stop"
# its checkpoint is the state after step 29: resumed, the same step is found again, with the op
expect 0 "stop) at epoch 2, step 30: the loss is -nan; the first non-finite value is node #" -- "$symgrad" train "$clip" --set epochs=2 --set clip_norm=0 --set nan_policy=stop --resume "$work/ce_stop"
expect 0 "steps had non-finite values and were skipped (nan_policy = skip_step)" -- "$symgrad" train "$clip" --set epochs=2 --set clip_norm=0 --set nan_policy=skip_step --resume "$work/ce_skip"
expect 2 "nan_policy 'ignore': raise, stop or skip_step" -- "$symgrad" train "$exp" --set nan_policy=ignore

# ---- checkpoints and variables of another model, damaged headers, newer files, unwritable folders
expect 2 "with settings that define another run: batch_size (32 -> 64), initializer.name ('normal' -> (not set)), initializer.std (0.7 -> (not set)), model.layers[0].units (32 -> 16)" -- "$symgrad" train "$exp" --set epochs=2 --resume "$work/ce"
# the same checkpoint without the run's record of its experiment (a folder of an older symgrad)
rm "$work/ce/experiment.toml"
expect 1 "checkpoint.bin' is not a checkpoint of this model; missing from the file (12): dense1/W/adam/exp_avg" -- "$symgrad" train "$exp" --set epochs=2 --resume "$work/ce"
cp "$work/good.bin" "$work/run/variables.bin"
printf '\x07' | dd of="$work/run/variables.bin" bs=1 seek=8 conv=notrunc status=none
expect 1 "has format version 7; this symgrad reads versions 1 to 2 (written by a newer symgrad?)" -- "$symgrad" eval "$work/run"
cp "$work/good.bin" "$work/run/variables.bin"
printf 'X' | dd of="$work/run/variables.bin" bs=1 seek=$(grep -boa 'dense1/W' "$work/good.bin" | head -1 | cut -d: -f1) conv=notrunc status=none
expect 1 "tensor 'Xense1/W' fails its checksum" -- "$symgrad" eval "$work/run"
cp "$work/good.bin" "$work/run/variables.bin"
cp "$work/ce/variables.bin" "$work/run/variables.bin"  # another experiment's model
expect 1 "variables.bin' is not a variables file of this model; of another shape or type (6): 'dense1/W' is f32[2, 32] in the file, f32[2, 16] in the model" -- "$symgrad" eval "$work/run"
cp "$work/good.bin" "$work/run/variables.bin"
head -c 77 "$work/ce.bin" > "$work/ce_stop/checkpoint.bin"
expect 1 "checkpoint.bin' is truncated" -- "$symgrad" train "$clip" --set epochs=3 --resume "$work/ce_stop"
expect 1 "/proc/symgrad-run" -- "$symgrad" train "$exp" --set epochs=1 --output /proc/symgrad-run

# ---- more usage errors
expect 2 "unknown command 'bogus'" -- "$symgrad" bogus
expect 2 "--expr: expected a number, a variable, a function or '(' at column 4" -- "$symgrad" minimize --expr "x +" --optimizer sgd
deep="$(printf '%*s' 2000 '' | tr ' ' '(')x$(printf '%*s' 2000 '' | tr ' ' ')')"
expect 2 "the expression nests deeper than 1000 levels" -- "$symgrad" minimize --expr "$deep" --optimizer sgd
expect 2 "unknown function 'nosuch'; built in: rosenbrock" -- "$symgrad" minimize --function nosuch --optimizer sgd
expect 2 "unknown op 'matmull' (did you mean 'matmul'?)" -- "$symgrad" gradcheck --op matmull
expect 2 "--members must be >= 1" -- "$symgrad" ensemble "$exp" --members 0
mkdir -p "$work/empty"
expect 2 "is not a run folder (no metrics-epochs.csv)" -- "$symgrad" plot "$work/empty"
expect 2 "--data 'bogus': test, validation or train" -- "$symgrad" eval "$work/run" --data bogus

# ---- the weak cases of the second reliability round: earlier refusals, clearer messages
expect 2 "the name '../../x' cannot name the run folder runs/<name>" -- "$symgrad" train "$exp" --set epochs=1 --set "name=../../x"
expect 2 "the name 'a/b' cannot name the run folder" -- "$symgrad" train "$exp" --set epochs=1 --set "name=a/b"
expect 2 "'lr' = inf is out of range: allowed a finite number, > 0" -- "$symgrad" train "$exp" --set optimizer.lr=inf
expect 2 "--set 'data.n=99999999999999999999': the integer does not fit in 64 bits" -- "$symgrad" train "$exp" --set data.n=99999999999999999999
expect 2 "--output is given an empty value" -- "$symgrad" train "$exp" --output ""
f=$(edit stride '0,/units = 16, activation = "relu" }/s//units = 16, activation = "relu", stride = 0 }/')
expect 2 "'stride' = 0 is out of range: allowed >= 1" -- "$symgrad" train "$f"
f=$(edit twol2 '$a [[regularizer]]\nname = "l2"\nlambda = 0.1\n[[regularizer]]\nname = "l2"\nlambda = 0.2')
expect 2 "two [[regularizer]] tables of name 'l2': --set cannot tell them apart" -- "$symgrad" train "$f" --set regularizer.l2.lambda=0.3
f=$(edit noval 's/^validation = 0.2/validation = 0/')
"$symgrad" train "$f" --set epochs=1 --output "$work/noval" > /dev/null 2>&1
expect 2 "the run's experiment has no validation set (data.validation is 0): give --data test" -- "$symgrad" eval "$work/noval" --data validation
printf '\xEF\xBB\xBF1,2,0\n3,4,1\n5,6,0\n7,8,1\n' > "$work/bom.csv"
printf '1,2,9,0\n3,4,9,1\n' > "$work/wide.csv"
printf '1,%s,0\n' "$(head -c 100000 /dev/zero | tr '\0' 'x')" > "$work/long.csv"
printf 'name = "csv"\nepochs = 1\n[data]\nset = "csv"\ntrain_csv = "%s"\ntest_csv = "%s"\nvalidation = 0\n[model]\nlayers = [{ type = "dense", units = 2 }]\n' \
  "$work/bom.csv" "$work/bom.csv" > "$work/csv.toml"
expect 0 "test accuracy" -- "$symgrad" train "$work/csv.toml" --output "$work/csvrun"
expect 2 "the test data '$work/wide.csv' do not fit the training data '$work/bom.csv': their array 'x' holds 2 examples of f32[3], the training data's f32[2]" -- "$symgrad" train "$work/csv.toml" --set "data.test_csv=$work/wide.csv" --output "$work/csvwide"
expect 1 "long.csv:1:3: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is not a number" -- "$symgrad" train "$work/csv.toml" --set "data.test_csv=$work/long.csv" --output "$work/csvlong"
expect 0 "warning: batch_size 1000000000000 is larger than the 800 training examples" -- "$symgrad" train "$exp" --set epochs=1 --set batch_size=1000000000000 --output "$work/hugebatch"
big=$(edit big 's/units = 16, activation/units = 200000, activation/')
expect 1 "the model needs about 596.3 GiB (parameters 149.0 GiB x4 for their gradients and optimizer state, the largest 'dense2/W' 149.0 GiB" -- "$symgrad" train "$big" --output "$work/big"

# label smoothing smooths one classifier's classes: refused on a regression and on two outputs
expect 2 "label_smoothing needs a classifier: an output [N, classes] ('y' is f32[?, 1])" -- "$symgrad" train "$experiments/regression_outliers.toml" --set epochs=1 --set regularizer=label_smoothing --output "$work/ls_regression"
expect 2 "label_smoothing smooths the classes of a model of one output; this model has several ('fine', 'coarse')" -- "$symgrad" train "$experiments/fashion_multitask.toml" --set epochs=1 --set data.limit=100 --set regularizer=label_smoothing --output "$work/ls_two"

echo "bad inputs: $passed passed, $failed failed"
test "$failed" -eq 0
