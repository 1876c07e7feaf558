#!/usr/bin/env bash
# Rootless user-mode networking of `nsnet run`: slirp4netns and pasta against --network none, a
# standalone slirp4netns and a root veth pair. Measures
#   1. start-to-ready: wall time of `nsnet run --network MODE -- true` (median, p90, minus
#      --network none), and the time until the command's first action (`date +%s%N`);
#   2. TCP throughput, container -> sandbox host (iperf3 -t 3, one run each);
#   3. TCP connect latency, container -> sandbox host (median of 200 connect()s).
# Root. Everything happens in a sandbox of its own (unshare -m -n, tmpfs on /run): an uplink
# veth up0 10.99.0.1/24 with a default route via 10.99.0.2 (pasta needs one), and a 0666 copy of
# /dev/net/tun bound over /dev/net/tun in the sandbox's mount namespace only. The rootless runs
# are made as uid/gid 54321 (no passwd entry) through setpriv.
#
#   tests/bench/usernet_bench.sh --nsnet=BIN [--samples=N] [--uid=N]
#
# Prints a table and one machine-readable line per figure: `usernet_bench NAME=VALUE UNIT`.
set -euo pipefail
[ -n "${USERNET_BENCH_TRACE-}" ] && set -x

NSNET=
SAMPLES=30
BENCH_UID=54321
IPERF_SECONDS=3
CONNECTS=200
HOLDER='' SLIRP=''   # the standalone slirp4netns run's processes (user stage)
for arg in "$@"; do
  case $arg in
    --nsnet=*) NSNET=${arg#*=} ;;
    --samples=*) SAMPLES=${arg#*=} ;;
    --uid=*) BENCH_UID=${arg#*=} ;;
    --stage=*) STAGE=${arg#*=} ;;
    *) echo "usage: $0 --nsnet=BIN [--samples=N] [--uid=N]" >&2; exit 2 ;;
  esac
done
[ -n "$NSNET" ] || { echo "usage: $0 --nsnet=BIN [--samples=N] [--uid=N]" >&2; exit 2; }
NSNET=$(realpath "$NSNET")
SELF=$(realpath "$0")
PY=/usr/bin/python3   # not a pyenv shim: the unprivileged uid cannot read root's home
STAGE=${STAGE:-outer}

note() { printf '# %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------------
# Unprivileged stage: runs as $BENCH_UID inside the sandbox. Prints "key value" lines.
# ---------------------------------------------------------------------------------------------
now_ns() { local t=${EPOCHREALTIME/./}; echo "${t}000"; }   # µs -> ns, no exec

user_stage() {
  local dir=$WORKDIR/user mode i t0 t1 child
  mkdir -p "$dir"
  # 1. start-to-ready
  for mode in none slirp4netns slirp4netns:mtu=1500 pasta; do
    note "start-to-ready: $mode"
    for i in 1 2 3; do timeout -k 5 20 "$NSNET" run --network "$mode" -- true >/dev/null 2>&1 || true; done
    : >"$dir/wall.$mode"; : >"$dir/child.$mode"
    for ((i = 0; i < SAMPLES; i++)); do
      t0=$(now_ns)
      timeout -k 5 20 "$NSNET" run --network "$mode" -- date +%s%N >"$dir/out" 2>"$dir/err" \
        || { cat "$dir/err" >&2; echo "fail start $mode"; break; }
      t1=$(now_ns)
      child=$(head -n1 "$dir/out")
      echo $(((t1 - t0) / 1000)) >>"$dir/wall.$mode"
      echo $(((child - t0) / 1000)) >>"$dir/child.$mode"
    done
    echo "wall $mode $(tr '\n' ' ' <"$dir/wall.$mode")"
    echo "child $mode $(tr '\n' ' ' <"$dir/child.$mode")"
  done

  # 2. + 3. throughput and connect latency, container -> sandbox host
  local -A modes=(
    [slirp1500]="slirp4netns:mtu=1500,allow_host_loopback=true"
    [slirp65520]="slirp4netns:mtu=65520,allow_host_loopback=true"
    [pasta]="pasta:map_gw=true"
  )
  local name
  local -A ports=([slirp1500]=5201 [slirp65520]=5202 [pasta]=5203)
  for name in slirp1500 slirp65520 pasta; do
    note "tcp: $name"
    # shellcheck disable=SC2016  # expanded inside the container
    timeout -k 5 60 "$NSNET" run --network "${modes[$name]}" -- bash -c '
      target=$1
      [ "$target" = gw ] && target=$(ip -4 route show default | awk "{print \$3; exit}")
      echo "target '"$name"' $target"
      if out=$(timeout 15 iperf3 -c "$target" -p '"${ports[$name]}"' -t '"$IPERF_SECONDS"' -J 2>&1); then
        echo "iperf '"$name"' $(printf "%s" "$out" | jq -c "[.end.sum_received.bits_per_second, .end.sum_sent.retransmits]")"
      else
        echo "iperf '"$name"' failed $(printf "%s" "$out" | jq -r ".error? // empty" 2>/dev/null | tr " " _)"
      fi
      echo "connect '"$name"' $(timeout 20 '"$PY"' '"$WORKDIR"'/connect.py "$target" 5301 '"$CONNECTS"' 2>&1 | tr "\n" " ")"
    ' bash "$([ "$name" = pasta ] && echo gw || echo 10.0.2.2)" 2>&1 || echo "fail run $name"
  done

  # standalone slirp4netns: unshare -Urn + slirp4netns -c --mtu=65520 (host loopback allowed)
  note "tcp: standalone slirp4netns"
  rm -f "$dir/ready" "$dir/inside"
  # shellcheck disable=SC2016
  unshare -Urn bash -c '
    : >"$1/inside"
    for ((i = 0; i < 2000; i++)); do [ -s "$1/ready" ] && break; sleep 0.005; done
    [ -s "$1/ready" ] || { echo "fail slirp4netns not ready"; exit 1; }
    if out=$(timeout 15 iperf3 -c 10.0.2.2 -p 5204 -t '"$IPERF_SECONDS"' -J 2>&1); then
      echo "iperf standalone $(printf "%s" "$out" | jq -c "[.end.sum_received.bits_per_second, .end.sum_sent.retransmits]")"
    else echo "iperf standalone failed"; fi
    echo "connect standalone $(timeout 20 '"$PY"' '"$WORKDIR"'/connect.py 10.0.2.2 5301 '"$CONNECTS"' 2>&1 | tr "\n" " ")"
  ' bash "$dir" &
  HOLDER=$!
  trap 'kill $HOLDER $SLIRP 2>/dev/null || true' EXIT
  trap 'exit 130' INT TERM
  # slirp4netns joins the holder's namespaces by pid: only once it has made them
  for ((i = 0; i < 2000; i++)); do [ -e "$dir/inside" ] && break; sleep 0.005; done
  slirp4netns -c --mtu=65520 -r 3 "$HOLDER" tap0 3>"$dir/ready" >"$dir/slirp.log" 2>&1 &
  SLIRP=$!
  wait "$HOLDER" || true
  kill "$SLIRP" 2>/dev/null || true
  wait "$SLIRP" 2>/dev/null || true
  [ -s "$dir/ready" ] || sed 's/^/# slirp4netns: /' "$dir/slirp.log" >&2
  HOLDER='' SLIRP=''
}

# ---------------------------------------------------------------------------------------------
# Sandbox stage: root, in the private mount + network namespaces.
# ---------------------------------------------------------------------------------------------
SERVER_PIDS=()
sandbox_cleanup() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip netns del uplink 2>/dev/null || true
  ip netns del ref 2>/dev/null || true
}

sandbox_stage() {
  trap sandbox_cleanup EXIT
  trap 'exit 130' INT TERM
  mount -t tmpfs -o mode=0755 tmpfs /run
  ip link set lo up
  WORKDIR=$(mktemp -d /run/usernet-bench.XXXXXX)
  chmod 0755 "$WORKDIR"
  export WORKDIR
  mkdir -m 0777 "$WORKDIR/xdg"
  mkdir -m 0777 "$WORKDIR/user"
  # a 0666 /dev/net/tun for this mount namespace only
  mknod "$WORKDIR/tun" c 10 200
  chmod 0666 "$WORKDIR/tun"
  mount --bind "$WORKDIR/tun" /dev/net/tun
  # uplink: up0 10.99.0.1/24, default route via its peer 10.99.0.2 in netns "uplink"
  ip netns add uplink
  ip link add up0 type veth peer name up0p netns uplink
  ip addr add 10.99.0.1/24 dev up0
  ip link set up0 up
  ip -n uplink addr add 10.99.0.2/24 dev up0p
  ip -n uplink link set up0p up
  ip -n uplink link set lo up
  ip route add default via 10.99.0.2
  # root reference: netns "ref" with a veth pair 10.98.0.1 (host) <-> 10.98.0.2
  ip netns add ref
  ip link add vref type veth peer name eth0 netns ref
  ip addr add 10.98.0.1/24 dev vref
  ip link set vref up
  ip -n ref addr add 10.98.0.2/24 dev eth0
  ip -n ref link set eth0 up
  ip -n ref link set lo up

  cat >"$WORKDIR/connect.py" <<'EOF'
import socket, statistics, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = []
for _ in range(n + 5):
    s = socket.socket()
    t = time.perf_counter_ns()
    s.connect((host, port))
    times.append(time.perf_counter_ns() - t)
    s.close()
times = sorted(times[5:])
print("%.1f %.1f" % (statistics.median(times) / 1000, times[int(len(times) * 0.9)] / 1000))
EOF
  cat >"$WORKDIR/accept.py" <<'EOF'
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5301))
s.listen(512)
while True:
    c, _ = s.accept()
    c.close()
EOF
  # servers on the sandbox host (its 127.0.0.1 and 10.98.0.1: 0.0.0.0 of a private netns)
  # one iperf3 server per path, so a client cut off by its timeout cannot block the next one
  local port
  for port in 5201 5202 5203 5204 5205; do
    iperf3 -s -p "$port" >/dev/null 2>&1 &
    SERVER_PIDS+=($!)
  done
  "$PY" "$WORKDIR/accept.py" &
  SERVER_PIDS+=($!)
  sleep 0.3

  note "nsnet $("$NSNET" --version 2>&1 | head -n1); $(slirp4netns --version | head -n1); pasta $(dpkg-query -W -f='${Version}' passt 2>/dev/null || echo '?'); $(iperf3 --version | head -n1 | cut -d' ' -f1-2); load $(cut -d' ' -f1-3 /proc/loadavg)"
  setpriv --reuid "$BENCH_UID" --regid "$BENCH_UID" --clear-groups \
    env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="$WORKDIR/user" \
    XDG_RUNTIME_DIR="$WORKDIR/xdg" WORKDIR="$WORKDIR" \
    bash "$SELF" --stage=user --nsnet="$NSNET" --samples="$SAMPLES" >"$WORKDIR/user.out" || true

  # root veth reference, container side in netns "ref"
  note "tcp: root veth"
  {
    if out=$(timeout 15 ip netns exec ref iperf3 -c 10.98.0.1 -p 5205 -t "$IPERF_SECONDS" -J 2>&1); then
      echo "iperf veth $(printf '%s' "$out" | jq -c '[.end.sum_received.bits_per_second, .end.sum_sent.retransmits]')"
    else echo "iperf veth failed"; fi
    echo "connect veth $(timeout 20 ip netns exec ref "$PY" "$WORKDIR/connect.py" 10.98.0.1 5301 "$CONNECTS" | tr '\n' ' ')"
  } >>"$WORKDIR/user.out"
  report "$WORKDIR/user.out"
}

report() {
  "$PY" - "$1" <<'EOF'
import json, statistics, sys
wall, child, iperf, conn, target, fails = {}, {}, {}, {}, {}, []
for line in open(sys.argv[1]):
    f = line.split()
    if not f: continue
    if f[0] == "wall": wall[f[1]] = [int(x) / 1000 for x in f[2:]]
    elif f[0] == "child": child[f[1]] = [int(x) / 1000 for x in f[2:]]
    elif f[0] == "target": target[f[1]] = f[2]
    elif f[0] == "iperf":
        iperf[f[1]] = json.loads(f[2]) if f[2].startswith("[") else None
        if iperf[f[1]] is None: fails.append(line.strip())
    elif f[0] == "connect":
        try: conn[f[1]] = [float(f[2]), float(f[3])]
        except (IndexError, ValueError): conn[f[1]] = None; fails.append(line.strip())
    elif f[0] == "fail": fails.append(line.strip())
def med(v): return statistics.median(v)
def p90(v): s = sorted(v); return s[min(len(s) - 1, int(len(s) * 0.9))]
out = []
def emit(name, value, unit):
    out.append("usernet_bench %s=%.3f %s" % (name, value, unit))
print("start-to-ready, `nsnet run --network MODE -- true` (%d runs)" % len(wall.get("none", [])))
print("| mode | wall median (p90) | network part | child's first action, median |")
print("| --- | --- | --- | --- |")
base = med(wall["none"]) if wall.get("none") else None
for mode, v in wall.items():
    if not v: print("| %s | failed | | |" % mode); continue
    key = mode.replace(":", "_").replace("=", "")
    extra = "—" if mode == "none" or base is None else "%+.1f ms" % (med(v) - base)
    c = child.get(mode) or []
    print("| %s | %.1f ms (%.1f) | %s | %s |" % (mode, med(v), p90(v), extra, "%.1f ms" % med(c) if c else "?"))
    emit("ready_%s_median" % key, med(v), "ms"); emit("ready_%s_p90" % key, p90(v), "ms")
    if base is not None and mode != "none": emit("ready_%s_network" % key, med(v) - base, "ms")
    if c: emit("ready_%s_child_median" % key, med(c), "ms")
print()
names = {"slirp1500": "nsnet slirp4netns mtu=1500 -> 10.0.2.2",
         "slirp65520": "nsnet slirp4netns mtu=65520 -> 10.0.2.2",
         "pasta": "nsnet pasta map_gw=true -> gw %s" % target.get("pasta", "?"),
         "standalone": "standalone slirp4netns -c --mtu=65520 -> 10.0.2.2",
         "veth": "root veth pair -> 10.98.0.1"}
print("container -> sandbox host TCP (iperf3 -t 3, one run; connect() median of 200)")
print("| path | throughput | retransmits | connect median (p90) |")
print("| --- | --- | --- | --- |")
for k, label in names.items():
    ip, cn = iperf.get(k), conn.get(k)
    tput = "%.2f Gbit/s" % (ip[0] / 1e9) if ip else "failed"
    rtx = str(ip[1]) if ip else "—"
    lat = "%.0f µs (%.0f)" % (cn[0], cn[1]) if cn else "failed"
    print("| %s | %s | %s | %s |" % (label, tput, rtx, lat))
    if ip: emit("tcp_%s_gbps" % k, ip[0] / 1e9, "Gbit/s")
    if cn: emit("connect_%s_median" % k, cn[0], "us")
print()
for line in out: print(line)
for line in fails: print("usernet_bench failure: " + line)
EOF
}

case $STAGE in
  user) user_stage ;;
  sandbox) sandbox_stage ;;
  outer)
    [ "$(id -u)" -eq 0 ] || { echo "usernet_bench: needs root (it makes its own sandbox)" >&2; exit 1; }
    for tool in iperf3 jq slirp4netns pasta setpriv "$PY"; do
      command -v "$tool" >/dev/null || { echo "usernet_bench: $tool missing" >&2; exit 1; }
    done
    exec unshare -m -n --propagation private bash "$SELF" --stage=sandbox --nsnet="$NSNET" \
      --samples="$SAMPLES" --uid="$BENCH_UID"
    ;;
esac
