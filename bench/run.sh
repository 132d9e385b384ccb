#!/usr/bin/env bash
# Container start latency: `strata run --rm busybox /bin/true` (FUSE mount,
# monitor and all) against runc and crun running the same busybox rootfs
# from a plain directory (no union mount at all), runc over a
# fuse-overlayfs mount of it, and podman when installed. The contenders run
# interleaved, REPS times each; the script prints medians and ratios, then
# the wall time of 50 sequential strata runs. Needs root, bin/strata,
# Debian's busybox-static, runc, crun (and fuse-overlayfs, podman: optional).
#
#   bench/run.sh [REPS]     (default 20)
#
# This host has hybrid cgroups, on which crun refuses to run unless the
# unified hierarchy's cgroup.controllers is hidden; the script runs itself
# in a private mount namespace with an empty file bound over it.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-20}
if [ -z "${STRATA_BENCH_NS:-}" ]; then
  : >/tmp/strata-bench-empty
  exec env STRATA_BENCH_NS=1 unshare -m --propagation private sh -c \
    'mount --bind /tmp/strata-bench-empty /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; exec "$0" "$@"' "$0" "$@"
fi
strata=$PWD/bin/strata
work=$(mktemp -d /var/tmp/strata-runbench.XXXXXX)
trap 'fusermount3 -u "$work/ovl/mnt" 2>/dev/null; rm -rf "$work"' EXIT
export STRATA_ROOT=$work/store

go run ./testdata/busybox -o "$work/busybox.tar"
"$strata" import -c 'CMD ["sh"]' "$work/busybox.tar" busybox >/dev/null
mkdir -p "$work/bundle/rootfs" "$work/ovl/upper" "$work/ovl/work" "$work/ovl/mnt"
tar -xf "$work/busybox.tar" -C "$work/bundle/rootfs"
# A minimal OCI bundle: /bin/true, no terminal, the default namespaces.
(cd "$work/bundle" && runc spec)
python3 - "$work/bundle/config.json" <<'EOF'
import json, sys
p = sys.argv[1]; c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["process"]["rlimits"] = [r for r in c["process"].get("rlimits", []) if r["type"] != "RLIMIT_NOFILE"]
c["linux"].pop("resources", None)
json.dump(c, open(p, "w"))
EOF
# runc wants the root as an absolute path in config.json (a symlink named
# rootfs is refused).
mkdir -p "$work/ovlbundle"
python3 - "$work/bundle/config.json" "$work/ovlbundle/config.json" "$work/ovl/mnt" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); c["root"]["path"] = sys.argv[3]
json.dump(c, open(sys.argv[2], "w"))
EOF

now() { date +%s%N; }
declare -A times
n=0
run() { # name, command...
  local name=$1; shift
  local t0 t1
  t0=$(now)
  "$@" >/dev/null 2>&1 || { echo "$name failed: $*" >&2; return 1; }
  t1=$(now)
  times[$name]+="$(( (t1 - t0) / 1000 )) "
}
# set -e does not reach into a function called from ||: every step checks.
runc_ovl() {
  fuse-overlayfs -o "lowerdir=$work/bundle/rootfs,upperdir=$work/ovl/upper,workdir=$work/ovl/work" "$work/ovl/mnt" || return 1
  local rc=0
  runc run --bundle "$work/ovlbundle" "ovl-$n" || rc=1
  fusermount3 -u "$work/ovl/mnt" || rc=1
  return $rc
}
contenders=("strata run --rm" "runc run" "crun run")
command -v fuse-overlayfs >/dev/null && contenders+=("runc + fuse-overlayfs")
for ((i = 0; i < reps; i++)); do
  n=$i
  for c in "${contenders[@]}"; do
    case $c in
      "strata run --rm") run "$c" "$strata" run --rm --network none busybox /bin/true ;;
      "runc run") run "$c" runc run --bundle "$work/bundle" "runc-$i" ;;
      "crun run") run "$c" crun run --bundle "$work/bundle" "crun-$i" ;;
      "runc + fuse-overlayfs") run "$c" runc_ovl ;;
    esac
  done
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
base=$(echo "${times["runc run"]}" | median)
printf '| command | median (ms) | ratio to runc run |\n|---|---|---|\n'
for c in "${contenders[@]}"; do
  m=$(echo "${times[$c]}" | median)
  printf '| %s | %.1f | %.2f |\n' "$c" "$(echo "$m / 1000" | bc -l)" "$(echo "$m / $base" | bc -l)"
done
t0=$(now)
for ((i = 0; i < 50; i++)); do "$strata" run --rm --network none busybox /bin/true; done
t1=$(now)
printf '\n50 sequential `strata run --rm busybox /bin/true`: %.2f s\n' "$(echo "($t1 - $t0) / 1000000000" | bc -l)"
