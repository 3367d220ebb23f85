#!/usr/bin/env bash
# The SDK as a user meets it: install symgrad into a temporary prefix, build tests/sdk/project (an
# op, an optimizer, a strategy, two regularizers, a loss and a program) against it with
# find_package(symgrad), load the plugins by name and use them, and check the op with the
# installed `symgrad gradcheck`.
# Usage: run_sdk_test.sh BUILD_DIR CXX_COMPILER
set -euo pipefail
build=$1
cxx=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
# an installed plugin finds libsymgrad by its own RUNPATH (not because a host loaded it first)
resolved=$(ldd "$work/prefix/lib/symgrad/plugins/symgrad-sgd.so" | awk '$1 == "libsymgrad.so.0" { print $3 }')
test -n "$resolved" && test "$(realpath "$resolved")" = "$(realpath "$work/prefix/lib/libsymgrad.so.0")" ||
  { echo "installed plugin does not resolve libsymgrad:"; ldd "$work/prefix/lib/symgrad/plugins/symgrad-sgd.so"; exit 1; }
# no RUNPATH of the installed tree is empty or relative (no library from the current folder)
"$here/../apps/runpath_test.sh" "$work/prefix/bin/symgrad" "$work/prefix/bin" "$work/prefix/lib" | grep -q "runpath test passed" ||
  { "$here/../apps/runpath_test.sh" "$work/prefix/bin/symgrad" "$work/prefix/bin" "$work/prefix/lib"; exit 1; }
cmake -S "$here/project" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" \
  > "$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/build" || exit 1

export SYMGRAD_PLUGIN_PATH="$work/build"
"$work/build/use_plugins"
"$work/prefix/bin/symgrad" gradcheck --plugin swish
"$work/prefix/bin/symgrad" gradcheck --plugin swish --backend onednn
"$work/prefix/bin/symgrad" gradcheck --op swish | grep -q "0 failed"  # an op found on the plugin path by name
"$work/prefix/bin/symgrad" plugins signum
# each out-of-tree plugin exercised in a child process
for p in signum swish lookahead activity_l1 confidence_penalty log_cosh; do
  "$work/prefix/bin/symgrad" plugins check "$p" | grep -q " 0 failed" || { "$work/prefix/bin/symgrad" plugins check "$p"; exit 1; }
done
# the installed built-in plugins are found beside the installed library
"$work/prefix/bin/symgrad" plugins --kind optimizer | grep -q "^sgd "
# the example programs, built as a user's own project against the install
cmake -S "$here/../../apps/examples" -B "$work/examples" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" \
  > "$work/examples-configure.log" || { cat "$work/examples-configure.log"; exit 1; }
cmake --build "$work/examples" > "$work/examples-build.log" || { cat "$work/examples-build.log"; exit 1; }
unset SYMGRAD_PLUGIN_PATH  # the installed plugins, found beside the installed library
"$work/examples/quickstart" | grep -q "gradcheck passed"
"$work/examples/custom_loop" | grep -q "training accuracy"
"$work/examples/hessian_eigenvalues" | grep -q "condition number"
echo "sdk test passed"
