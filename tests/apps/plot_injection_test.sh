#!/usr/bin/env bash
# No command through gnuplot (docs/security.md): text a user controls (an experiment's name, an
# --output folder, a --plot file, a run folder given to `symgrad plot`) reaches gnuplot only as a
# quoted string. Each case below would run `touch` through gnuplot's system() if it did not; the
# plots must still be drawn, with the text shown as it is.
# Usage: plot_injection_test.sh SYMGRAD EXPERIMENTS_DIR
set -uo pipefail
symgrad=$(realpath "$1")
experiments=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
# a temporary folder of its own: tests running beside this one draw plots too
export TMPDIR="$work/tmp"
mkdir "$TMPDIR"
failed=0
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }

inject="x'; print system('touch pwned'); set title '"
# the name of an experiment (the plots' titles), and its run folder (-> the plots' paths)
sed "0,/^name = /s|^name = .*|name = \"$inject\"|; s|^epochs = .*|epochs = 2|" "$experiments/moons_adam.toml" > named.toml
out="$work/runs/it's \$(touch pwned2) \`touch pwned3\`"
"$symgrad" train named.toml --output "$out" > train.log 2>&1 || { cat train.log; fail "train with an injected name and folder"; }
for f in loss.svg accuracy.svg; do
  [ -s "$out/$f" ] || fail "train drew no $f"
done
grep -qF "print system(&apos;touch pwned&apos;)" "$out/loss.svg" || grep -qF "print system('touch pwned')" "$out/loss.svg" ||
  fail "the name is not shown as it is in loss.svg"
# a run folder with quotes, given to symgrad plot (and compared with another)
"$symgrad" plot "$out" "$out" --output "$work/cmp 'x'" > plot.log 2>&1 || { cat plot.log; fail "plot"; }
[ -s "$work/cmp 'x'/val_loss.svg" ] || fail "plot drew no val_loss.svg"
# minimize's plot file
"$symgrad" minimize --function rosenbrock --optimizer sgd:lr=0.001 --steps 5 --plot "$work/p'; system('touch pwned4') #.svg" \
  > minimize.log 2>&1 || { cat minimize.log; fail "minimize --plot"; }
[ -s "$work/p'; system('touch pwned4') #.svg" ] || fail "minimize drew no plot"
# a control character cannot be quoted: refused, naming it
"$symgrad" minimize --function rosenbrock --optimizer sgd:lr=0.001 --steps 1 --plot "$work/a
b.svg" > newline.log 2>&1
[ $? -eq 2 ] && grep -q "holds a control character" newline.log || { cat newline.log; fail "a newline in a plot file name"; }

found=$(find "$work" / -maxdepth 1 -name 'pwned*' 2>/dev/null; find "$work" -name 'pwned*' 2>/dev/null)
[ -z "$found" ] || fail "gnuplot ran a command: $found"
# the scratch folders are private and gone
leftover=$(find "$TMPDIR" -mindepth 1 2>/dev/null)
[ -z "$leftover" ] || fail "scratch folders left: $leftover"
[ "$failed" -eq 0 ] && echo "plot injection test passed"
