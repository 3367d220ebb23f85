#!/usr/bin/env bash
# Which plugins a command loads (docs/security.md, "Plugins"): only those whose components it asks
# for, found through the manifests written beside them at build time; a plugin's file carries its
# name; one component or one plugin in two files is an error naming both; relative, world-writable
# and unresolvable entries of the search path are skipped with a warning.
# Usage: plugin_rules_test.sh SYMGRAD EXPERIMENTS_DIR PLUGIN_DIR FIXTURE_DIR
set -uo pipefail
symgrad=$1
experiments=$2
builtin=$3
fixtures=$4
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
cd "$work" || exit 1
failed=0
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }
# expect STATUS TEXT -- COMMAND...: the command exits with STATUS and prints TEXT
expect() {
  local status=$1 text=$2
  shift 3
  out=$("$@" 2>&1)
  local got=$?
  [ "$got" -eq "$status" ] && grep -qF -- "$text" <<< "$out" || { echo "$out" | head -20; fail "$* (exit $got, wanted $status: $text)"; }
}
min=(minimize --function sphere --steps 1)

# a run loads only what it names: adam, the default initializer he and the default loss, not a plugin that cannot
# even register (given a manifest naming a component nobody asks for)
mkdir unchosen
cp "$fixtures/symgrad-throws_on_register.so" unchosen/
printf '# symgrad plugin manifest 1\nplugin throws_on_register 1.0.0\noptimizer never_asked\n' > unchosen/symgrad-throws_on_register.manifest
loaded=$(SYMGRAD_PLUGIN_PATH="$work/unchosen" LD_DEBUG=files "$symgrad" train "$experiments/moons_adam.toml" --set epochs=1 \
           --output "$work/run" 2>&1 | grep -o 'file=[^ ]*symgrad-[a-z_]*\.so' | sed 's|.*symgrad-||; s|\.so||' | sort -u | tr '\n' ' ')
[ "$loaded" = "adam he softmax_cross_entropy " ] || fail "train loaded the plugins: $loaded (wanted adam he softmax_cross_entropy)"

expect 1 "threw during registration" -- env SYMGRAD_PLUGIN_PATH="$work/unchosen" "$symgrad" "${min[@]}" --optimizer never_asked

# the manifest is checked against what the library registers
mkdir stale
cp "$fixtures/symgrad-fused_op.so" stale/
printf '# symgrad plugin manifest 1\nplugin fused_op 1.0.0\noptimizer fused_sgd\n' > stale/symgrad-fused_op.manifest
expect 1 "registers other components than its manifest" -- env SYMGRAD_PLUGIN_PATH="$work/stale" "$symgrad" "${min[@]}" --optimizer fused_sgd

# two plugins providing one component: refused wherever it is asked for, naming both files
mkdir clash
cp "$fixtures/symgrad-duplicate_sgd.so" clash/
"$symgrad" plugins manifest "$work/clash/symgrad-duplicate_sgd.so" > /dev/null || fail "writing a manifest"
grep -qx "optimizer sgd" clash/symgrad-duplicate_sgd.manifest || fail "the manifest lists no sgd"
expect 1 "optimizer 'sgd' is registered by two plugins: " -- env SYMGRAD_PLUGIN_PATH="$work/clash" "$symgrad" "${min[@]}" --optimizer sgd
grep -qF "clash/symgrad-duplicate_sgd.so" <<< "$out" && grep -qF "plugins/symgrad-sgd.so" <<< "$out" || fail "the clash names one file"

# a built-in's copy under another file name: refused (its manifest cannot be written), and never loaded
mkdir renamed
cp "$builtin/symgrad-sgd.so" renamed/symgrad-fast_sgd.so
expect 1 "holds plugin 'sgd': a plugin's file must be symgrad-sgd.so" -- "$symgrad" plugins manifest "$work/renamed/symgrad-fast_sgd.so"
expect 0 "sgd " -- env SYMGRAD_PLUGIN_PATH="$work/renamed" "$symgrad" "${min[@]}" --optimizer sgd
# the same plugin in two folders
mkdir copy
cp "$builtin/symgrad-sgd.so" "$builtin/symgrad-sgd.manifest" copy/
expect 1 "optimizer 'sgd' is registered by two plugins: 'sgd'" -- env SYMGRAD_PLUGIN_PATH="$work/copy" "$symgrad" "${min[@]}" --optimizer sgd
expect 1 "plugin 'sgd' is in two files" -- env SYMGRAD_PLUGIN_PATH="$work/copy" "$symgrad" gradcheck --plugin sgd

# a plugin's name, not a file name taken as a path
expect 1 "'symgrad-fused_op.so' is not a plugin name: give the plugin's name ('fused_op'" -- "$symgrad" gradcheck --plugin symgrad-fused_op.so

# search-path entries skipped with a warning: relative, world-writable, a symbolic link loop
mkdir open loop
chmod 777 open
cp "$fixtures/symgrad-duplicate_sgd.so" clash/symgrad-duplicate_sgd.manifest open/
ln -s "$work/loop/b.so" loop/symgrad-a.so
ln -s "$work/loop/symgrad-a.so" loop/b.so
expect 0 "plugin folder 'unchosen' skipped: a relative entry" -- env SYMGRAD_PLUGIN_PATH=unchosen "$symgrad" plugins sgd
expect 0 "plugin folder '$work/open' skipped: anyone may write it" -- env SYMGRAD_PLUGIN_PATH="$work/open" "$symgrad" plugins sgd
expect 0 "sgd " -- env SYMGRAD_PLUGIN_PATH="$work/open" "$symgrad" "${min[@]}" --optimizer sgd  # (no clash: not loaded)
expect 0 "symgrad-a.so' skipped: Too many levels of symbolic links" -- env SYMGRAD_PLUGIN_PATH="$work/loop" "$symgrad" plugins sgd
expect 0 "sgd " -- env SYMGRAD_PLUGIN_PATH="$work/loop" "$symgrad" "${min[@]}" --optimizer sgd
# an unknown component: the components of its kind (not plugin names), and where it looked
expect 2 "unknown strategy 'lookahead'; the strategies available: batch_norm" -- env SYMGRAD_PLUGIN_PATH="$work/open" "$symgrad" train "$experiments/moons_adam.toml" --set strategy=lookahead
grep -qF "skipped: anyone may write it" <<< "$out" || fail "the unknown component's error does not say what was skipped"
# what symgrad plugins says of an op: its kernels, and whether its formula fuses
mkdir ops
cp "$fixtures/symgrad-fused_op.so" ops/
expect 0 "kernels: reference; a formula of 2 steps: fuses into onednn's elementwise chains" -- env SYMGRAD_PLUGIN_PATH="$work/ops" "$symgrad" plugins swish
expect 0 "no plugins with a component of kind op found in:" -- "$symgrad" plugins --kind op
[ "$failed" -eq 0 ] && echo "plugin rules test passed"
