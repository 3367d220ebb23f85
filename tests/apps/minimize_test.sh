#!/usr/bin/env bash
# symgrad minimize as a user runs it: the trace's rows and precision, an expression solved by
# Newton, a comparison plot, and errors that point at the column. Usage: minimize_test.sh SYMGRAD DATA_DIR
set -euo pipefail
symgrad=$1
data=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# sphere x0^2 + x1^2 from (1, 1), sgd lr 0.25: x halves each step (the gradient is 2x); row k is
# the point before step k, the last row the point after the last step
"$symgrad" minimize --function sphere --optimizer sgd --set lr=0.25 --steps 2 --trace "$work/t.csv" > /dev/null
diff "$data/sphere_sgd.csv" "$work/t.csv"

# a step schedule halving the rate each step (0.25, 0.125, 0.0625): 1 -> 0.5 -> 0.375 -> 0.328125
"$symgrad" minimize --function sphere --optimizer sgd:lr=0.25 --steps 3 --schedule step:step_size=1,gamma=0.5 \
  --trace "$work/s.csv" > /dev/null
diff "$data/sphere_sgd_step_schedule.csv" "$work/s.csv"

# clipping each gradient element to 0.5 (the gradient is 2 at (1, 1)): 1 - 0.25 * 0.5 = 0.875
"$symgrad" minimize --function sphere --optimizer sgd:lr=0.25 --steps 1 --clip-value 0.5 --trace "$work/c.csv" > /dev/null
grep -q '^1,1.53125,0.875,0.875$' "$work/c.csv" || { cat "$work/c.csv"; exit 1; }

# full double precision: one step of lr 0.5 on (x - 1/3)^2 from 0 lands on 1/3, written with
# the 17 digits that read back to the same double
"$symgrad" minimize --expr "(x - 1/3)^2" --start 0 --optimizer sgd:lr=0.5 --steps 1 --trace "$work/n.csv" > /dev/null
grep -q '^1,0,0.33333333333333331$' "$work/n.csv" || { cat "$work/n.csv"; exit 1; }

# an expression with a minimum at (3, -1): one Newton step lands on it
"$symgrad" minimize --expr "(x - 3)^2 + 2*(y + 1)^2" --optimizer newton --steps 1 | grep -q "(3, -1)"

# at a saddle (x^2 - y^2 from (1, 0.01)): pure Newton lands on it, saddle-free Newton escapes
"$symgrad" minimize --function saddle --optimizer newton:mode=pure --optimizer newton:mode=saddle_free --steps 10 \
  > "$work/saddle.txt"
grep -Eq "^newton:mode=pure +0.000000e\+00  \(0, 0\)$" "$work/saddle.txt" &&
  grep -Eq "^newton:mode=saddle_free +-1.048576e\+02  \(0, 10.24\)$" "$work/saddle.txt" || { cat "$work/saddle.txt"; exit 1; }

# several optimizers: one trace each, and one picture
"$symgrad" minimize --function himmelblau --optimizer adam:lr=0.1 --optimizer lbfgs --steps 30 \
  --trace "$work/h.csv" --plot "$work/h.svg" > /dev/null
test -s "$work/h-adam_lr_0.1.csv" && test -s "$work/h-lbfgs.csv"
grep -q "<svg" "$work/h.svg"
# the axes are the expression's variables (x, y), and 2000 steps with markers on a few of them
# keep the picture small
"$symgrad" minimize --expr "(x - 1)^2 + 10*(y - x^2)^2" --optimizer sgd:lr=0.01 --optimizer adam:lr=0.05 --steps 2000 \
  --plot "$work/xy.svg" > /dev/null
grep -q ">y<" "$work/xy.svg" && ! grep -q ">x1<" "$work/xy.svg" || { echo "the axes are not x and y"; exit 1; }
test "$(wc -c < "$work/xy.svg")" -lt 250000 || { echo "a 2000-step plot of $(wc -c < "$work/xy.svg") bytes"; exit 1; }

# coordinate descent: the path is axis-aligned (consecutive points differ in one coordinate at
# most), and its plot is drawn; with exact updates on the quadratic (x - 3)^2 + 2 (y + 1)^2 two
# steps land on the minimum (one per coordinate)
"$symgrad" minimize --function rosenbrock --optimizer sgd:lr=0.001 --strategy coordinate_descent --steps 40 \
  --trace "$work/cd.csv" --plot "$work/cd.svg" > /dev/null
awk -F, 'NR > 2 { moved = ($3 != x) + ($4 != y); if (moved > 1) { print "row " NR " moved both"; exit 1 } }
         NR > 1 { x = $3; y = $4 }' "$work/cd.csv"
test "$(awk -F, 'NR > 2 && $3 != x { n++ } NR > 1 { x = $3 } END { print n }' "$work/cd.csv")" -ge 10
grep -q "<svg" "$work/cd.svg"
"$symgrad" minimize --expr "(x - 3)^2 + 2*(y + 1)^2" --optimizer sgd --strategy coordinate_descent:update=exact \
  --steps 2 | grep -q "(3, -1)"

# under-constrained: (x + y - 2)^2 is minimal on a whole line, and gradient descent ends where its
# start leads; with the l2 penalty (lambda / 2 |x|^2, lambda 0.5) the minimum is unique,
# x = y = 4 / (4 + lambda) = 0.888..., from any start
"$symgrad" minimize --expr "(x + y - 2)^2" --optimizer sgd:lr=0.1 --steps 300 --start 3,-3 | grep -q "(4, -2)"
for start in 3,-3 0,0; do
  "$symgrad" minimize --expr "(x + y - 2)^2" --optimizer sgd:lr=0.1 --steps 300 --start $start \
    --regularizer l2:lambda=0.5,pattern=x --trace "$work/ridge.csv" > /dev/null
  tail -1 "$work/ridge.csv" | awk -F, '{ if (($3 - 8/9)^2 > 1e-10 || ($4 - 8/9)^2 > 1e-10) { print; exit 1 } }'
done

# Polyak averaging in minimize: the iterate oscillates along the quadratic's stiff axis
# (1 - 0.195 x 10 = -0.95 a step), the average of the last 50 iterates cancels it: a lower loss
"$symgrad" minimize --function quadratic --optimizer sgd:lr=0.195 --steps 100 --strategy polyak:start=50 > "$work/p.txt"
awk '/^sgd/ { last = $2 } /what evaluation reads/ { avg = $2 } END { exit !(avg < last / 10) }' "$work/p.txt" ||
  { cat "$work/p.txt"; exit 1; }

# errors: exit status 2, the column shown
set +e
out=$("$symgrad" minimize --expr "x + * y" --optimizer sgd 2>&1); status=$?
set -e
test $status -eq 2 || { echo "status $status"; exit 1; }
echo "$out" | grep -q "column 5"
echo "minimize test passed"
