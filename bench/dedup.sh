#!/usr/bin/env bash
# File-level deduplication on two real images that share most files: a
# Debian bookworm minbase rootfs and one with python3-minimal and curl
# added, both from debootstrap. Imports both into a fresh store and prints
# `strata system df` and `strata dedup report` (the strategies at 4 KiB,
# 16 KiB and 64 KiB chunks, and the chart docs/img/dedup-debian.svg).
# Needs root, debootstrap and bin/strata.
#
#   bench/dedup.sh            (rootfs trees cached in $BENCH_DATA)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${BENCH_DATA:-/var/tmp/strata-bench}
strata=$PWD/bin/strata
mkdir -p "$data"
tree() { # name, debootstrap extra args...
  local name=$1; shift
  if [ ! -f "$data/$name.tar" ]; then
    if [ ! -d "$data/$name" ]; then
      echo "debootstrap $name (first run only)" >&2
      debootstrap --variant=minbase "$@" bookworm "$data/$name.tmp" >"$data/$name.log" 2>&1
      rm -f "$data/$name.tmp"/var/cache/apt/archives/*.deb
      mv "$data/$name.tmp" "$data/$name"
    fi
    tar -C "$data/$name" --numeric-owner -cf "$data/$name.tar" .
  fi
}
tree minbase
tree minbase-py --include=python3-minimal,curl
export STRATA_ROOT=$data/dedup-store
rm -rf "$STRATA_ROOT"
"$strata" import "$data/minbase.tar" debian:minbase >/dev/null
"$strata" import "$data/minbase-py.tar" debian:minbase-python >/dev/null
"$strata" images
"$strata" system df
"$strata" system df -v | tail -2
du -sh "$STRATA_ROOT/objects" "$STRATA_ROOT/blobs" "$STRATA_ROOT/layers"
for size in 4KiB 16KiB; do
  "$strata" dedup report --top 0 --chunk-size "$size" | sed -n '/^STRATEGY/,/^(compressed/p'
done
"$strata" dedup report --top 5 --chart docs/img/dedup-debian.svg
