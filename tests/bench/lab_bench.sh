#!/usr/bin/env bash
# nsnet lab at scale: time to bring up, check (full mesh of every pod, ICMP) and tear down
# clusters of 2, 4, 8 and 16 nodes with 8 pods each, VXLAN and host-gw, on one underlay switch.
# Root. Everything happens in a sandbox of its own (unshare -m -n, tmpfs on /run and
# /var/lib/cni); the labs' namespaces live below it.
#
#   tests/bench/lab_bench.sh --nsnet=BIN [--runs=N] [--nodes="2 4 8 16"] [--pods=8]
#
# Prints a table (medians of N runs; SETTLED: from `down` until the machine is idle again, the
# kernel having freed the namespaces) and one machine-readable line per figure:
# `lab_bench MODE NODESxPODS PHASE=SECONDS`.
set -euo pipefail

NSNET= RUNS=3 NODES="2 4 8 16" PODS=8
for arg in "$@"; do
  case $arg in
    --nsnet=*) NSNET=$(realpath "${arg#*=}") ;;
    --runs=*) RUNS=${arg#*=} ;;
    --nodes=*) NODES=${arg#*=} ;;
    --pods=*) PODS=${arg#*=} ;;
    *) echo "usage: $0 --nsnet=BIN [--runs=N] [--nodes=\"2 4 8 16\"] [--pods=8]" >&2; exit 2 ;;
  esac
done
[ -n "$NSNET" ] || { echo "usage: $0 --nsnet=BIN [--runs=N]" >&2; exit 2; }

if [ "${LAB_BENCH_SANDBOXED-}" != 1 ]; then
  exec env LAB_BENCH_SANDBOXED=1 unshare -m -n --propagation private "$0" "$@"
fi
mount -t tmpfs none /run
mkdir -p /var/lib/cni && mount -t tmpfs none /var/lib/cni
ip link set lo up
WORK=$(mktemp -d /run/lab-bench.XXXXXX)
export NETCONFPATH=$WORK/net.d   # no named network is used; keep the machine's out of it

topology() {  # MODE NODES PODS -> a cluster topology with a full-mesh check of its pods
  python3 - "$@" <<'PY'
import json, sys
mode, nodes, pods = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = {"name": f"bench{nodes}", "nodes": {}, "switches": {"underlay": {"members": {}}},
     "cluster": {"cidr": "10.220.0.0/16", "mode": mode, "nodes": {}},
     "checks": {"mesh": [{"among": "pods"}]}}
for n in range(1, nodes + 1):
    t["nodes"][f"n{n}"] = {"pods": {f"p{p}": {"networks": ["cluster"]} for p in range(1, pods + 1)}}
    t["switches"]["underlay"]["members"][f"n{n}:eth0"] = [f"192.168.90.{n}/24"]
    t["cluster"]["nodes"][f"n{n}"] = {"underlay": "eth0"}
print(json.dumps(t))
PY
}

seconds() { local t=${EPOCHREALTIME/./}; echo "$t"; }   # µs
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }'; }
# `down` returns once the lab's namespaces are unmounted; the kernel then frees them in the
# background (cleanup_net). Waits until the machine is idle again (under 10% busy over 50 ms,
# from /proc/stat) so the next run starts clean, and reports how long that took.
settle() {
  local prev now
  prev=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
  while sleep 0.05; do
    now=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
    if awk -v p="$prev" -v n="$now" 'BEGIN { split(p, a); split(n, b);
         exit !((b[2] - a[2]) > 0 && (b[1] - a[1]) / (b[2] - a[2]) < 0.10) }'; then return; fi
    prev=$now
  done
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-8s %-8s %8s %8s %8s %8s %10s %8s\n' MODE LAB UP CHECK DOWN SETTLED "UP/POD" CHECKS
settle
for mode in vxlan host-gw; do
  for nodes in $NODES; do
    file=$WORK/$mode-$nodes.json
    topology "$mode" "$nodes" "$PODS" >"$file"
    : >"$WORK/up" ; : >"$WORK/check"; : >"$WORK/down"; : >"$WORK/settle"
    for ((run = 0; run < RUNS; run++)); do
      t0=$(seconds); "$NSNET" lab up -q "$file"; t1=$(seconds)
      "$NSNET" lab check --json "bench$nodes" >"$WORK/report" || { cat "$WORK/report"; exit 1; }
      t2=$(seconds); "$NSNET" lab down "bench$nodes"; t3=$(seconds); settle; t4=$(seconds)
      elapsed "$t0" "$t1" >>"$WORK/up"; elapsed "$t1" "$t2" >>"$WORK/check"
      elapsed "$t2" "$t3" >>"$WORK/down"; elapsed "$t2" "$t4" >>"$WORK/settle"
    done
    up=$(median <"$WORK/up"); check=$(median <"$WORK/check"); down=$(median <"$WORK/down")
    settled=$(median <"$WORK/settle")
    passed=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["passed"])' "$WORK/report")
    per_pod=$(awk -v u="$up" -v n="$((nodes * PODS))" 'BEGIN { printf "%.1f ms", u * 1000 / n }')
    printf '%-8s %-8s %7ss %7ss %7ss %7ss %10s %8s\n' "$mode" "${nodes}x$PODS" "$up" "$check" \
      "$down" "$settled" "$per_pod" "$passed"
    for phase in up check down settle; do
      echo "lab_bench $mode ${nodes}x$PODS $phase=$(median <"$WORK/$phase")" >&2
    done
  done
done
rm -rf "$WORK"
