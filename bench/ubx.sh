#!/usr/bin/env bash
# ubx.sh: measure one union filesystem on the unionbench layer set at a private
# mount point, by daemon CPU time and FUSE request counts (noise-free), plus
# wall clock.
#   ubx.sh CONTENDER WORKLOAD [WARM_REPS]      CONTENDER: strata|fuse-overlayfs|overlay
#   UBX_DEBUG=1 also counts the requests of each phase (runs the daemon with -d).
#   UBX_PROF=FILE writes a CPU profile of strata's daemon.
set -euo pipefail
C=$1 W=$2 REPS=${3:-3}
D=${UB_DATA:-/var/tmp/unionbench-data}; L=$D/layers
LOWERS=$L/l6-overrides:$L/l5-bigfile:$L/l4-gotools:$L/l3-gocmd:$L/l2-gostd:$L/l1-debian
BIN=${FS_BIN:-/work/main/bin/strata-fs}
X=${UBX_DIR:-/tmp/ubx}; M=$X/m
fusermount3 -u "$M" 2>/dev/null || true
rm -rf "$X/u" "$X/w"; mkdir -p "$X/u" "$X/w" "$M"
O="lowerdir=$LOWERS,upperdir=$X/u,workdir=$X/w"
LOG=$X/req.log; : >"$LOG"
PID=
case $C in
  overlay) mount -t overlay overlay -o "$O" "$M" ;;
  strata|fuse-overlayfs)
    b=$BIN; [ "$C" = fuse-overlayfs ] && b=/usr/bin/fuse-overlayfs
    if [ -n "${UBX_DEBUG:-}" ]; then
      STRATA_CPUPROFILE=${UBX_PROF:-} "$b" -d -o "$O" "$M" >>"$LOG" 2>&1 &
      PID=$!
    else
      STRATA_CPUPROFILE=${UBX_PROF:-} "$b" -o "$O" "$M"
    fi ;;
esac
for i in $(seq 100); do mountpoint -q "$M" && break; sleep 0.05; done
[ -z "$PID" ] && [ "$C" != overlay ] && sleep 0.3 && PID=$(pgrep -n -f -- "$M\$")
cpu() { [ -n "$PID" ] && awk -v t="$(getconf CLK_TCK)" '{s=$0; sub(/.*\) /,"",s); split(s,f," "); printf "%.2f", (f[12]+f[13])/t}' "/proc/$PID/stat" || echo -; }
ops() { [ -n "${UBX_DEBUG:-}" ] || return 0; grep -aoE 'rx [0-9]+: [A-Z_]+' "$LOG" | awk '{print $3}' | sort | uniq -c | sort -rn | awk '{printf "%s=%s ",$2,$1}' || true; : >"$LOG"; }
run() {
  case $W in
    find) find "$M" -xdev | wc -l ;;
    du) du -s "$M" ;;
    lsR) ls -lR "$M/usr/local/go/src" | wc -l ;;
    readdir) ls -f "$M/data/bigdir" | wc -l ;;
    tar) tar cf - -C "$M" --exclude=./data/big.bin . | wc -c ;;
    grep) grep -r zzqqxxnotthere "$M/usr/local/go/src" | wc -l ;;
    rmtree) rm -rf "$M/usr/local/go/src" ;;
    untar) mkdir -p "$M/tmp/x" && tar xf "$D/gosrc.tar" -C "$M/tmp/x" && sync ;;
    golist) (cd "$M/usr/local/go/src" && GOCACHE=/tmp/ubx/gocache GOFLAGS=-mod=mod "$M/usr/local/go/bin/go" list -e -deps std cmd | wc -l) ;;
    seqread) dd if="$M/data/big.bin" of=/dev/null bs=1M 2>&1 | tail -1 ;;
  esac
}
phase() {
  local c0 c1 t0 t1 out
  ops >/dev/null
  c0=$(cpu); t0=$EPOCHREALTIME
  out=$(run 2>&1 | tail -1)
  t1=$EPOCHREALTIME; c1=$(cpu)
  sleep 0.2
  printf '%-15s %-8s %-5s wall=%6.3f cpu=%s out=%s %s\n' "$C" "$W" "$1" "$(echo "$t1 - $t0" | bc)" \
    "$( [ "$c0" = - ] && echo - || echo "$c1 - $c0" | bc)" "$out" "$(ops)"
}
sync; echo 3 >/proc/sys/vm/drop_caches
phase cold
case $W in rmtree|untar) ;; *) for i in $(seq "$REPS"); do phase warm; done ;; esac
if [ "$C" = overlay ]; then umount "$M"; else fusermount3 -u "$M"; fi
[ -n "$PID" ] && for i in $(seq 100); do [ -d /proc/$PID ] || break; sleep 0.05; done
[ -n "$PID" ] && wait "$PID" 2>/dev/null || true
