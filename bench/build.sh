#!/usr/bin/env bash
# strata build against buildah bud --layers on the issue's reference
# Dockerfile (busybox base; a RUN writing 2000 small files; COPY of a
# 501-file context with a .dockerignore; a RUN reading it; CMD), in the
# same run, with hyperfine: cold (--no-cache, both caches emptied before
# each run), fully cached, and after changing one context file.
#
#   bench/build.sh [RUNS]     (default 7; data in $BENCH_DATA, default
#                              /var/tmp/strata-bench-build)
#
# Needs root, bin/strata (make build), buildah, runc and hyperfine. Each
# tool has a private store under $BENCH_DATA. buildah gets busybox from a
# `strata save` docker-archive (`buildah pull docker-archive:`), runs RUN
# with runc (crun fails here: "cgroups in hybrid mode not supported") and
# the overlay storage driver.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
data=${BENCH_DATA:-/var/tmp/strata-bench-build}
strata="$PWD/bin/strata --root $data/sroot"
buildah="buildah --root $data/broot --runroot $data/brun --storage-driver overlay"
bud="$buildah bud --layers --pull=false --runtime /usr/sbin/runc -q"
mkdir -p "$data"

# The stores: busybox in both.
if [ ! -f "$data/busybox-archive.tar" ]; then
  go run ./testdata/busybox -o "$data/busybox.tar"
  rm -rf "$data/sroot"
  $strata import -c 'CMD ["sh"]' "$data/busybox.tar" busybox:latest >/dev/null
  $strata save -o "$data/busybox-archive.tar.tmp" busybox:latest
  mv "$data/busybox-archive.tar.tmp" "$data/busybox-archive.tar"
fi
if ! $buildah images -q docker.io/library/busybox:latest >/dev/null 2>&1; then
  $buildah pull -q docker-archive:"$data/busybox-archive.tar" >/dev/null
  $buildah tag localhost/busybox:latest docker.io/library/busybox:latest
fi

# The context: 500 files and the Dockerfile (501), and what .dockerignore
# leaves out (20 *.tmp files, a .git directory).
ctx=$data/ctx
if [ ! -f "$ctx/Dockerfile" ]; then
  mkdir -p "$ctx/files" "$ctx/.git"
  for i in $(seq -w 0 499); do echo "file $i" > "$ctx/files/f$i"; done
  for i in $(seq 1 20); do echo tmp > "$ctx/files/t$i.tmp"; done
  echo ref > "$ctx/.git/HEAD"
  printf '*.tmp\n**/*.tmp\n.git\n' > "$ctx/.dockerignore"
  cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM busybox
RUN mkdir /gen && cd /gen && i=0 && while [ $i -lt 2000 ]; do echo $i > f$i; i=$((i+1)); done
COPY . /ctx
RUN cat /ctx/files/* | wc -c
CMD ["sh"]
DOCKERFILE
fi

empty_caches="$strata builder prune -a -f >/dev/null; $buildah rmi -a -f >/dev/null 2>&1 || true; $buildah pull -q docker-archive:$data/busybox-archive.tar >/dev/null; $buildah tag localhost/busybox:latest docker.io/library/busybox:latest"
change="date +%s%N > $ctx/files/f000"
out=$data/results
mkdir -p "$out"
uptime
echo "== cold (--no-cache, caches emptied first)"
hyperfine -N --runs "$runs" --export-json "$out/cold.json" \
  --prepare "bash -c '$empty_caches'" \
  -n strata "$strata build --no-cache -q -t bench $ctx" \
  -n buildah "$bud --no-cache -t bench $ctx"
echo "== fully cached"
$strata build -q -t bench "$ctx" >/dev/null
$bud -t bench "$ctx" >/dev/null
hyperfine -N --runs "$runs" --warmup 1 --export-json "$out/cached.json" \
  -n strata "$strata build -q -t bench $ctx" \
  -n buildah "$bud -t bench $ctx"
echo "== one context file changed"
hyperfine -N --runs "$runs" --export-json "$out/changed.json" \
  --prepare "bash -c '$change'" \
  -n strata "$strata build -q -t bench $ctx" \
  -n buildah "$bud -t bench $ctx"
uptime
# Medians and the ratio strata/buildah (the goal: at most 0.5 in each).
python3 - "$out" <<'PY'
import json, sys
print("| case | strata median (s) | buildah median (s) | strata / buildah |")
print("|---|---|---|---|")
for case in ("cold", "cached", "changed"):
    r = {x["command"]: x["median"] for x in json.load(open(f"{sys.argv[1]}/{case}.json"))["results"]}
    print(f"| {case} | {r['strata']:.3f} | {r['buildah']:.3f} | **{r['strata'] / r['buildah']:.2f}** |")
PY
