#!/usr/bin/env bash
# symgrad landscape as a user runs it: a trained run folder keeps its initial variables; the line
# from them to the trained model ends (alpha 1) at the training loss `symgrad eval` gives and
# starts (alpha 0) higher; the plots are written; a run folder without initial variables, or
# options out of range, are usage errors that say what to do.
# Usage: landscape_test.sh SYMGRAD EXPERIMENTS_DIR
set -uo pipefail
symgrad=$1
experiments=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$symgrad" train "$experiments/moons_adam.toml" --output "$work/run" --set epochs=10 > /dev/null || fail "train"
[ -f "$work/run/initial-variables.bin" ] || fail "no initial-variables.bin"
"$symgrad" landscape "$work/run" --examples 0 --grid 9 > "$work/out.txt" || { cat "$work/out.txt"; fail "landscape"; }
for f in landscape-line.csv landscape-line.svg landscape-plane.svg; do [ -s "$work/run/$f" ] || fail "no $f"; done
[ "$(wc -l < "$work/run/landscape-line.csv")" = 42 ] || fail "41 points and a header"
head -1 "$work/run/landscape-line.csv" | grep -qx "alpha,train_objective,validation_objective" || fail "header"
at() { awk -F, -v a="$1" 'NR > 1 && $1 == a { print $2 }' "$work/run/landscape-line.csv"; }
trained=$(at 1)
initial=$(at 0)
eval_loss=$("$symgrad" eval "$work/run" --data train | sed -n 's/.*loss \([0-9.]*\),.*/\1/p')
# (moons_adam has no penalty, dropout or batch norm: the objective is the evaluation loss)
awk -v a="$trained" -v b="$eval_loss" 'BEGIN { exit !(a - b < 1e-4 && b - a < 1e-4) }' || fail "alpha 1: $trained, eval: $eval_loss"
awk -v a="$initial" -v b="$trained" 'BEGIN { exit !(a > b + 0.1) }' || fail "alpha 0: $initial is not above $trained"
grep -q "at the initial parameters" "$work/out.txt" || { cat "$work/out.txt"; fail "summary"; }

rm "$work/run/initial-variables.bin"
out=$("$symgrad" landscape "$work/run" 2>&1); status=$?
[ $status = 2 ] && grep -q "has no initial-variables.bin.*train the experiment again" <<< "$out" || { echo "$out"; fail "no initial variables"; }
out=$("$symgrad" landscape "$work/run" --grid 1 2>&1); status=$?
[ $status = 2 ] && grep -q -- "--grid 1: from 3 to 401" <<< "$out" || { echo "$out"; fail "--grid 1"; }
echo "landscape test passed"
