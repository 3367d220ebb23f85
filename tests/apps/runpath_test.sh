#!/usr/bin/env bash
# No library is loaded from the current folder (docs/security.md). Every ELF file under the given
# folders (a build tree's or an install's bin/ and lib/) has RUNPATH and RPATH entries that are
# absolute or $ORIGIN-based, never empty (the dynamic loader reads an empty entry as the current
# folder) nor relative; and PROGRAM, run from an empty folder, makes the loader try no file by a
# path relative to it.
# Usage: runpath_test.sh PROGRAM DIR...
set -uo pipefail
program=$(realpath "$1")
shift
bad=0
checked=0
while IFS= read -r -d '' f; do
  head -c 4 "$f" 2>/dev/null | grep -q $'^\x7fELF' || continue
  checked=$((checked + 1))
  paths=$(readelf -d "$f" 2>/dev/null | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]$/\2/p')
  [ -n "$paths" ] || continue
  # split on ':' keeping empty entries (a leading, trailing or doubled ':')
  IFS=: read -r -a entries <<< "$paths:"
  for e in "${entries[@]}"; do
    case "$e" in
      /*|'$ORIGIN'|'$ORIGIN/'*) ;;
      *) echo "FAILED: $f has the RUNPATH [$paths], with the entry '$e' (empty or relative: the current folder)"; bad=$((bad + 1)); break ;;
    esac
  done
done < <(find "$@" -type f -print0)
[ "$checked" -gt 0 ] || { echo "FAILED: no ELF file under $*"; exit 1; }

empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
tried=$(cd "$empty" && LD_DEBUG=libs "$program" --help 2>&1 >/dev/null | sed -n 's/.*trying file=\(.*\)$/\1/p')
[ -n "$tried" ] || { echo "FAILED: LD_DEBUG=libs showed no library search for $program"; exit 1; }
relative=$(grep -v '^/' <<< "$tried")
if [ -n "$relative" ]; then
  echo "FAILED: $program tries libraries relative to the current folder:"
  echo "$relative" | head -5
  bad=$((bad + 1))
fi
echo "$checked ELF files checked"
[ "$bad" -eq 0 ] && echo "runpath test passed"
