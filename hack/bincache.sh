# A cache of the binaries the project builds from Go modules (envtest's kube-apiserver and etcd, the
# e2e cluster's node binaries and add-ons, helm, tilt), kept outside the checkout so that a fresh clone,
# such as CI's, or `git clean` does not rebuild what this machine built before from the same inputs.
# Sourced by the build scripts; each caches its binaries as an entry NAME/KEY, KEY being a hash of
# what they are built from (module files, build flags, Go version): another input is another entry,
# and saving an entry drops the older ones of the same NAME, so the cache holds one build of each.
#
#   $RECOFLOW_BIN_CACHE   the cache's directory (default ${XDG_CACHE_HOME:-~/.cache}/recoflow/bin);
#                         RECOFLOW_BIN_CACHE=off builds without it.
# shellcheck shell=bash
bincache_root=${RECOFLOW_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/recoflow/bin}

# bincache_key [FILE...] [-- WORD...] prints the hash of the files' contents, the words (such as
# build flags) and the Go toolchain that builds them.
bincache_key() {
  local files=() words=()
  while (($#)) && [[ "$1" != -- ]]; do
    files+=("$1")
    shift
  done
  (($#)) && shift
  words=("$@")
  {
    ((${#files[@]})) && cat "${files[@]}"
    printf '%s\n' "${words[@]}"
    go env GOVERSION GOOS GOARCH
  } | sha256sum | cut -d' ' -f1
}

# bincache_restore NAME KEY DIR FILE... copies the entry's FILEs into DIR and succeeds, or fails
# when the entry lacks one of them (nothing is copied then).
bincache_restore() {
  local name=$1 key=$2 dir=$3
  shift 3
  [[ "$bincache_root" != off ]] || return 1
  local entry="$bincache_root/$name/$key" f
  for f in "$@"; do
    [[ -e "$entry/$f" ]] || return 1
  done
  mkdir -p "$dir"
  for f in "$@"; do
    cp -f --reflink=auto "$entry/$f" "$dir/.$f.restoring"
    mv -f "$dir/.$f.restoring" "$dir/$f"
  done
  echo "bincache: $name restored from $entry" >&2
}

# bincache_save NAME KEY DIR FILE... stores DIR's FILEs as the entry NAME/KEY, replacing every
# other entry of NAME.
bincache_save() {
  local name=$1 key=$2 dir=$3
  shift 3
  [[ "$bincache_root" != off ]] || return 0
  mkdir -p "$bincache_root/$name"
  local new f
  new=$(mktemp -d "$bincache_root/$name/.saving.XXXXXX")
  for f in "$@"; do
    cp --reflink=auto "$dir/$f" "$new/$f"
  done
  find "$bincache_root/$name" -mindepth 1 -maxdepth 1 ! -path "$new" -exec rm -rf {} +
  mv "$new" "$bincache_root/$name/$key"
}
