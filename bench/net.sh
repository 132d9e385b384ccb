#!/usr/bin/env bash
# Bridge networking costs (issue 7):
#  1. start latency: `strata run --rm busybox /bin/true` on the default
#     bridge network against `--network none`, interleaved, REPS each;
#     medians and the difference;
#  2. loopback TCP throughput through a published port (the monitor's
#     userland proxy, then the bridge) against the host's own loopback:
#     1 GiB into busybox `nc -l` in the container, and into the same nc
#     on the host, 3 runs each, best kept.
# Needs root, bin/strata, Debian's busybox-static, python3. Uses a bridge
# and subnet of its own (stbench0, 10.254.7.0/24), removed at the end; the
# host's ip_forward is left as it is.
#
#   bench/net.sh [REPS]     (default 21)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-21}
strata=$PWD/bin/strata
work=$(mktemp -d /var/tmp/strata-netbench.XXXXXX)
export STRATA_ROOT=$work/store STRATA_BRIDGE=stbench0 STRATA_BRIDGE_SUBNET=10.254.7.0/24 STRATA_NO_IP_FORWARD=1
cleanup() {
  "$strata" rm -f sink >/dev/null 2>&1 || true
  ip link del stbench0 2>/dev/null || true
  nft delete table ip strata-stbench0 2>/dev/null || true
  rm -f /run/strata/net/stbench0.json /run/strata/net/stbench0.lock
  rm -rf "$work"
}
trap cleanup EXIT

go run ./testdata/busybox -o "$work/busybox.tar"
"$strata" import "$work/busybox.tar" busybox >/dev/null
# One unmeasured run of each: page cache, the bridge made once.
"$strata" run --rm --network none busybox /bin/true
"$strata" run --rm busybox /bin/true

now() { date +%s%N; }
none=() bridge=()
for ((i = 0; i < reps; i++)); do
  t0=$(now); "$strata" run --rm --network none busybox /bin/true; t1=$(now)
  none+=($(( (t1 - t0) / 1000 )))
  t0=$(now); "$strata" run --rm busybox /bin/true; t1=$(now)
  bridge+=($(( (t1 - t0) / 1000 )))
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]/1000}'; }
# The bridge's own share of a start, from STRATA_TRACE: how long the
# monitor waits for the network after everything else is ready (attach
# runs alongside the union mount), and the release at exit (after the
# exit is recorded; `run --rm` waits for it, as for the removal).
waits=() releases=()
for ((i = 0; i < reps; i++)); do
  rm -f "$work/trace"
  STRATA_TRACE=$work/trace "$strata" run --rm busybox /bin/true
  read -r w r < <(awk '/socket ready/ {s=$2} /networks attached/ {a=$2} /exit sent$/ {x=$2} /networks released/ {e=$2}
    END {w = a - s; if (w < 0) w = 0; printf "%d %d\n", w * 1000, (e - x) * 1000}' "$work/trace")
  waits+=("$w") releases+=("$r")
done
mn=$(median "${none[@]}") mb=$(median "${bridge[@]}")
printf '\n| command | median (ms) |\n|---|---|\n'
printf '| `strata run --rm --network none busybox /bin/true` | %.1f |\n' "$mn"
printf '| `strata run --rm busybox /bin/true` (bridge) | %.1f |\n' "$mb"
printf '| difference of the medians | %.1f |\n' "$(echo "$mb - $mn" | bc -l)"
printf '| bridge: start waiting for the network (trace, median) | %.1f |\n' "$(median "${waits[@]}")"
printf '| bridge: release at exit (trace, median) | %.1f |\n' "$(median "${releases[@]}")"

# Throughput: python3 sends 1 GiB and times until the sink closes.
send() { # port -> MB/s
  python3 - "$1" <<'PY'
import socket, sys, time
port = int(sys.argv[1]); buf = b"\0" * (1 << 20); n = 1024
for _ in range(100):
    try:
        s = socket.create_connection(("127.0.0.1", port)); break
    except OSError:
        time.sleep(0.05)
t0 = time.monotonic()
for _ in range(n):
    s.sendall(buf)
s.shutdown(socket.SHUT_WR)
s.recv(1)
print("%.0f" % (n / (time.monotonic() - t0)))
PY
}
best() { printf '%s\n' "$@" | sort -n | tail -1; }
proxied=() host=()
for ((i = 0; i < 3; i++)); do
  "$strata" run -d --name sink -p 127.0.0.1:15201:5201 busybox nc -l -p 5201 >/dev/null
  proxied+=($(send 15201))
  "$strata" rm -f sink >/dev/null
  busybox nc -l -p 15202 >/dev/null &
  host+=($(send 15202))
  wait
done
bp=$(best "${proxied[@]}") bh=$(best "${host[@]}")
printf '\n| 1 GiB over loopback TCP into `nc -l` | MB/s (best of 3) | ratio |\n|---|---|---|\n'
printf '| host loopback | %s | 1.00 |\n' "$bh"
printf '| published port (`-p 127.0.0.1:15201:5201`) | %s | %.2f |\n' "$bp" "$(echo "$bp / $bh" | bc -l)"
