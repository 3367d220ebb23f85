#!/usr/bin/env bash
# The learner's path with their own CSV file, run as they would run it: a pandas export (its index
# column, ';' between fields, class names, the label first) trains without edits to the file, from
# an experiment in another folder that names the label and holds out a test fraction; the run
# folder keeps the class names and the normalization, eval finds the data from anywhere (also after
# the run folder moved), and predict answers with class names for a CSV whose columns are in
# another order. Usage: csv_path_test.sh SYMGRAD
set -euo pipefail
symgrad=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/project/data" "$work/project/experiments" "$work/elsewhere"

# three classes in the plane, far from the origin and on scales 100 apart (normalization matters)
awk 'BEGIN {
  print ";species;length_mm;mass_kg"
  split("cat dog fox", name, " ")
  for (i = 0; i < 300; ++i) {
    k = i % 3; a = 2.0944 * k + 0.35 * sin(i * 1.7); r = 1 + 0.3 * sin(i * 0.37)
    printf "%d;%s;%.3f;%.5f\n", i, name[k + 1], 500 + 100 * r * cos(a), 5 + r * sin(a)
  }
}' > "$work/project/data/animals.csv"
cat > "$work/project/experiments/animals.toml" <<'TOML'
name = "animals"
seed = 2
epochs = 40
batch_size = 16

[data]
set = "csv"
train_csv = "../data/animals.csv"
label = "species"
test = 0.2
normalize = "standard"

[model]
layers = [{ type = "dense", units = 16, activation = "relu" }, { type = "dense", units = 3 }]
TOML

cd "$work/elsewhere"
"$symgrad" train "$work/project/experiments/animals.toml" --output "$work/run" > out.txt 2> err.txt ||
  { cat out.txt err.txt; exit 1; }
grep -q "^data: $work/project/data/animals.csv: 300 rows of 3 features (?, length_mm, mass_kg); label 'species': 3 classes (cat, dog, fox); split by ';', a header row$" out.txt ||
  { cat out.txt; exit 1; }
grep -q "^data: features normalized (standard) with the statistics of the 216 training examples$" out.txt || { cat out.txt; exit 1; }
grep -q "^warning: .*animals.csv: column 0 counts 0, 1, 2, ... like a row index .*\[data\] ignore = \[0\] drops it$" err.txt ||
  { cat err.txt; exit 1; }
grep -q "240 training" out.txt && exit 1  # (the validation tenth of the 240 is held out: 216 train)
grep -q "216 training / 24 validation / 60 test examples" out.txt || { cat out.txt; exit 1; }

# the same without the index column: the classes are learned
"$symgrad" train "$work/project/experiments/animals.toml" --output "$work/run2" --set 'data.ignore=[0]' > out2.txt 2> err2.txt
test ! -s err2.txt || { cat err2.txt; exit 1; }
grep -E "^test accuracy (9[0-9]|100)\." out2.txt || { cat out2.txt; exit 1; }
grep -q "^classes = \[ 'cat', 'dog', 'fox' \]$" "$work/run2/data.toml" && grep -q "^normalize = 'standard'$" "$work/run2/data.toml" &&
  grep -q "^features = \[ 'length_mm', 'mass_kg' \]$" "$work/run2/data.toml" || { cat "$work/run2/data.toml"; exit 1; }
grep -q "train_csv = '$work/project/data/animals.csv'" "$work/run2/experiment.toml" || { cat "$work/run2/experiment.toml"; exit 1; }

# eval from another folder, and after the run folder moved: the same test accuracy
accuracy=$(grep -o "^test accuracy [0-9.]*" out2.txt | grep -o "[0-9.]*$")
cd /
"$symgrad" eval "$work/run2" | grep -q "accuracy $accuracy%" || { "$symgrad" eval "$work/run2"; exit 1; }
mv "$work/run2" "$work/moved"
"$symgrad" eval "$work/moved" | grep -q "accuracy $accuracy%" || { "$symgrad" eval "$work/moved"; exit 1; }

# predict: the columns by name (in another order, with the label and an extra column), the same
# normalization, the class by name: a point at each class's centre
printf 'mass_kg,note,length_mm\n5,"far, right",600\n5.866,up,450\n4.134,down,450\n' > "$work/new.csv"
"$symgrad" predict "$work/moved" --data "$work/new.csv" --output "$work/pred.csv" > /dev/null
test "$(cut -d, -f1 "$work/pred.csv" | tr '\n' ' ')" = "logits_class cat dog fox " || { cat "$work/pred.csv"; exit 1; }
echo "csv path test passed"
