# ensure_packages PKG...: installs the Debian packages that are missing (apt-get update runs once,
# only when something is missing). Sourced by scripts/setup and scripts/bench.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]} == 0)); then
    echo "packages: all $# present"
    return 0
  fi
  echo "packages: installing ${missing[*]}"
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  if [[ -z ${SYMGRAD_APT_UPDATED:-} ]]; then
    "${sudo[@]}" apt-get update
    export SYMGRAD_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}
