#!/usr/bin/env bash
# Unpack throughput of one real layer (a Debian bookworm minbase rootfs from
# debootstrap): strata load of an OCI archive against GNU tar -xzf and umoci
# unpack of the same gzip blob, interleaved A B C A B C … so that a noisy
# machine slows all three alike. Prints the median wall time of each and the
# ratios. Needs root, debootstrap (first run only), umoci, and bin/strata.
#
#   bench/unpack.sh [REPS]        (default 7; data cached in $BENCH_DATA)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-7}
data=${BENCH_DATA:-/var/tmp/strata-bench}
strata=$PWD/bin/strata
mkdir -p "$data"

if [ ! -d "$data/minbase" ]; then
  echo "debootstrap --variant=minbase bookworm (first run only)" >&2
  debootstrap --variant=minbase bookworm "$data/minbase.tmp" >"$data/debootstrap.log" 2>&1
  rm -f "$data"/minbase.tmp/var/cache/apt/archives/*.deb
  mv "$data/minbase.tmp" "$data/minbase"
fi
if [ ! -f "$data/minbase.oci.tar" ]; then
  tar -C "$data/minbase" --numeric-owner -cf "$data/minbase.tar" .
  rm -rf "$data/prep-store"
  "$strata" --root "$data/prep-store" import "$data/minbase.tar" minbase:latest >/dev/null
  "$strata" --root "$data/prep-store" save --format oci -o "$data/minbase.oci.tar" minbase:latest
  rm -rf "$data/oci" && mkdir -p "$data/oci" && tar -xf "$data/minbase.oci.tar" -C "$data/oci"
  # The same gzip blob, for tar.
  layer=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["layers"][0]["digest"].split(":")[1])' \
    "$data/oci/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"].split(":")[1])' "$data/oci/index.json")")
  cp "$data/oci/blobs/sha256/$layer" "$data/layer.tar.gz"
  rm -rf "$data/prep-store"
fi

entries=$(tar -tzf "$data/layer.tar.gz" | wc -l)
usize=$(stat -c %s "$data/minbase.tar")
gsize=$(stat -c %s "$data/layer.tar.gz")
echo "layer: $entries entries, $((usize / 1048576)) MiB uncompressed, $((gsize / 1048576)) MiB gzip; $reps interleaved runs" >&2

out=$data/out
now() { date +%s.%N; }
declare -A times
run() { # name, command...
  local name=$1; shift
  local t0 t1
  t0=$(now); "$@" >/dev/null 2>&1 || { echo "$name failed: $*" >&2; exit 1; }; t1=$(now)
  times[$name]+="$(echo "$t1 - $t0" | bc) "
}
for ((i = 0; i < reps; i++)); do
  rm -rf "$out" && mkdir -p "$out/tar"
  run "tar -xzf" tar -xzf "$data/layer.tar.gz" -C "$out/tar"
  rm -rf "$out" && mkdir -p "$out"
  run "umoci unpack" umoci unpack --image "$data/oci:minbase:latest" "$out/umoci"
  rm -rf "$out" && mkdir -p "$out"
  run "strata load" "$strata" --root "$out/store" load -q -i "$data/minbase.oci.tar"
done
rm -rf "$out"

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
base=$(echo "${times["tar -xzf"]}" | median)
printf '| tool | median wall (s) | MiB/s (uncompressed) | ratio to tar -xzf |\n|---|---|---|---|\n'
for name in "strata load" "tar -xzf" "umoci unpack"; do
  m=$(echo "${times[$name]}" | median)
  printf '| %s | %.3f | %.0f | %.2f |\n' "$name" "$m" "$(echo "$usize / 1048576 / $m" | bc -l)" "$(echo "$m / $base" | bc -l)"
done
