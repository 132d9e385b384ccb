#!/usr/bin/env bash
# Pull from a local registry (Debian's docker-registry on a loopback port)
# into a fresh store: strata pull — download, verify, decompress, unpack
# into the object store and index — against skopeo copy docker://… oci:DIR,
# which only downloads and verifies, and against strata load of the same
# image from an OCI archive (the same unpack, without the network). Two images: a Debian bookworm minbase
# rootfs (one layer) and the same files split into five layers. Runs are
# interleaved (strata, skopeo, strata, skopeo, …) so a noisy machine slows
# both alike; prints median wall times and ratios. Needs root, debootstrap
# (first run only), docker-registry, skopeo, python3 and bin/strata.
#
#   bench/pull.sh [REPS]        (default 7; data cached in $BENCH_DATA)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-7}
data=${BENCH_DATA:-/var/tmp/strata-bench}
strata=$PWD/bin/strata
mkdir -p "$data"

if [ ! -d "$data/minbase" ]; then
  echo "debootstrap --variant=minbase bookworm (first run only)" >&2
  debootstrap --variant=minbase bookworm "$data/minbase.tmp" http://deb.debian.org/debian >"$data/debootstrap.log" 2>&1
  rm -f "$data"/minbase.tmp/var/cache/apt/archives/*.deb
  mv "$data/minbase.tmp" "$data/minbase"
fi
if [ ! -f "$data/minbase.tar" ]; then
  tar -C "$data/minbase" --numeric-owner -cf "$data/minbase.tar" .
fi

# A private registry for the run.
work=$(mktemp -d /var/tmp/strata-pull-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
cat >"$work/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: $reg
EOF
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
regpid=$!
trap 'kill $regpid 2>/dev/null; wait $regpid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fs "http://$reg/v2/" >/dev/null && break; sleep 0.1; done

# minbase: one layer, imported and pushed by strata.
"$strata" --root "$work/prep" import "$data/minbase.tar" "$reg/bench/minbase:1" >/dev/null
"$strata" --root "$work/prep" push -q "$reg/bench/minbase:1" >/dev/null

# five: the same tree in five gzip layers, as an OCI layout that skopeo pushes.
python3 - "$data/minbase" "$work/five" <<'EOF'
import gzip, hashlib, json, os, subprocess, sys
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out + "/blobs/sha256")
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return "sha256:" + d, len(data)
groups = [["usr/lib"], ["usr/share"], ["usr/bin", "usr/sbin", "usr/libexec", "usr/include", "usr/local", "usr/games", "usr/src"], ["var"]]
taken = [p for g in groups for p in g]
rest = [e for e in sorted(os.listdir(src)) if e != "usr"] + [f"usr/{e}" for e in sorted(os.listdir(src + "/usr")) if f"usr/{e}" not in taken]
groups.append(rest)
layers, diffs = [], []
for g in groups:
    paths = [p for p in g if os.path.lexists(f"{src}/{p}")]
    tar = subprocess.run(["tar", "-C", src, "--numeric-owner", "-cf", "-", *paths], check=True, stdout=subprocess.PIPE).stdout
    diffs.append("sha256:" + hashlib.sha256(tar).hexdigest())
    d, n = blob(gzip.compress(tar, 6, mtime=0))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": n})
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["bash"]},
                  "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
cd, cn = blob(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn},
                  "layers": layers}).encode()
md, mn = blob(man)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": md, "size": mn, "annotations": {"org.opencontainers.image.ref.name": "five"}}]}, open(out + "/index.json", "w"))
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
EOF
skopeo copy -q --dest-tls-verify=false "oci:$work/five:five" "docker://$reg/bench/five:1"
# The same images as OCI archives, for strata load: the local unpack alone.
for img in minbase five; do
  "$strata" --root "$work/prep2" pull -q "$reg/bench/$img:1" >/dev/null
  "$strata" --root "$work/prep2" save --format oci -o "$work/$img.oci.tar" "$reg/bench/$img:1"
done
rm -rf "$work/prep2"

now() { date +%s.%N; }
declare -A times
run() { # name, command...
  local name=$1; shift
  local t0 t1
  t0=$(now); "$@" >/dev/null 2>&1 || { echo "$name failed: $*" >&2; exit 1; }; t1=$(now)
  times[$name]+="$(echo "$t1 - $t0" | bc) "
}
for ((i = 0; i < reps; i++)); do
  for img in minbase five; do
    rm -rf "$work/out" && mkdir -p "$work/out"
    sync
    run "strata pull $img" "$strata" --root "$work/out/store" pull -q "$reg/bench/$img:1"
    rm -rf "$work/out" && mkdir -p "$work/out"
    sync
    run "skopeo copy $img" skopeo copy -q --src-tls-verify=false "docker://$reg/bench/$img:1" "oci:$work/out/oci:x"
    rm -rf "$work/out" && mkdir -p "$work/out"
    sync
    run "strata load $img" "$strata" --root "$work/out/store" load -q -i "$work/$img.oci.tar"
  done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "$reps interleaved runs; registry $reg" >&2
printf '| image | strata pull (s) | skopeo copy (s) | strata load of the same image (s) | pull / skopeo | pull / load |\n|---|---|---|---|---|---|\n'
for img in minbase five; do
  s=$(echo "${times["strata pull $img"]}" | median)
  k=$(echo "${times["skopeo copy $img"]}" | median)
  l=$(echo "${times["strata load $img"]}" | median)
  printf '| %s | %.3f | %.3f | %.3f | %.2f | %.2f |\n' "$img" "$s" "$k" "$l" "$(echo "$s / $k" | bc -l)" "$(echo "$s / $l" | bc -l)"
done
