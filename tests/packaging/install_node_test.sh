#!/usr/bin/env bash
# Tests scripts/install-node.sh against temporary bin/conf dirs and a fake plugin dir (a shell
# script standing in for nsnet-cni, plus the plugin-name symlinks), so no build is needed: the
# install (files, links, the conflist), idempotence (a second run renames nothing: inodes and
# mtimes stay), --dry-run, refused CIDRs, atomic replacement under a concurrent reader,
# --uninstall, and --pod-cidr-from-api against a fake Kubernetes API on 127.0.0.1 (plain HTTP).
#
# Usage: tests/packaging/install_node_test.sh [SCRIPT]   (default: scripts/install-node.sh)
# Needs python3 (JSON checks, the fake API); the API cases also need curl and jq and are skipped
# without them. No root, no traffic but to 127.0.0.1. Exits 0 only if every case passed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script=${1:-$here/../../scripts/install-node.sh}
command -v python3 >/dev/null || { echo "SKIP: python3 not found" >&2; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/nsnet-install-node.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

passed=0 failed=0 skipped=0 case_failed=0 case_name=''
fail() { printf '  FAIL %s: %s\n' "$case_name" "$*" >&2; case_failed=1; }
expect() {  # expect DESCRIPTION COMMAND...: a check within the current case
  local what=$1
  shift
  if ! "$@"; then fail "$what"; fi
}
# run_case NAME: runs case_NAME in a subshell, so that one failure cannot stop the rest; in the
# background and then waited for, because `set -e` does not apply in a subshell run as `(...) ||`.
run_case() {
  case_name=$1 case_failed=0
  local status=0 pid
  (case_"$1") &
  pid=$!
  wait "$pid" || status=$?
  if ((status == 77)); then
    echo "SKIP $1"; skipped=$((skipped + 1))
  elif ((status == 0)); then
    echo "PASS $1"; passed=$((passed + 1))
  else
    echo "FAIL $1"; failed=$((failed + 1))
  fi
}
# Within a case: fail() marks it, and the case ends with this.
done_case() { exit "$case_failed"; }

# A plugin dir shaped like the build's and the package's: nsnet-cni and a symlink per name.
make_source() {  # make_source DIR TAG
  mkdir -p "$1"
  # shellcheck disable=SC2016 # $0 is the fake's own
  printf '#!/bin/sh\necho "fake nsnet-cni %s as ${0##*/}"\n' "$2" >"$1/nsnet-cni"
  chmod 755 "$1/nsnet-cni"
  local name
  for name in bridge host-local portmap bandwidth loopback; do ln -s nsnet-cni "$1/$name"; done
}
make_source "$work/src" A
make_source "$work/src-b" B

# Every entry of the given dirs (and the dirs themselves) with inode, mtime and ctime.
snapshot() { find "$@" -exec stat -c '%n %i %.9Y %.9Z %a' {} + 2>/dev/null | sort; }

# conf_get FILE PYTHON_EXPR: evaluates an expression over the parsed conflist `c`.
conf_get() { python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# The fake API: GET /api/v1/nodes/NAME with the right bearer token answers the node object.
# Usage: fake_api.py PORT_FILE [CERT KEY]; it writes its port (on 127.0.0.1) to PORT_FILE.
cat >"$work/fake_api.py" <<'EOF'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

NODES = {
    "node-dual": {"podCIDR": "10.244.5.0/24", "podCIDRs": ["10.244.5.0/24", "fd00:10:244:5::/64"]},
    "node-v4": {"podCIDR": "10.244.6.0/24"},
    "node-none": {},
    "node-bad": {"podCIDR": "10.244.7.1/24"},
}
asked = {}

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer fake-token-123":
            return self.answer(401, {"kind": "Status", "message": "Unauthorized"})
        prefix = "/api/v1/nodes/"
        name = self.path[len(prefix):] if self.path.startswith(prefix) else ""
        asked[name] = asked.get(name, 0) + 1
        spec = NODES.get(name)
        if name == "node-late":  # the controller manager assigns its range after the first GET
            spec = {"podCIDR": "10.244.8.0/24"} if asked[name] > 1 else {}
        if spec is None:
            return self.answer(404, {"kind": "Status", "message": f"nodes \"{name}\" not found"})
        self.answer(200, {"kind": "Node", "apiVersion": "v1", "metadata": {"name": name}, "spec": spec})

    def answer(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
if len(sys.argv) > 2:  # CERT KEY: HTTPS, as the real API
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[2], sys.argv[3])
    server.socket = context.wrap_socket(server.socket, server_side=True)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.timeout = 1
for _ in range(600):  # bounded: at most ~600 requests or 600 s idle
    server.handle_request()
EOF

# start_fake_api PORT_FILE [CERT KEY]: starts it in the background (server_pid), waits for its port.
start_fake_api() {
  timeout 120 python3 "$work/fake_api.py" "$@" &
  server_pid=$!
  # Each case runs in its own subshell: the server ends with it (or after 120 s in any case).
  trap stop_server EXIT
  local i=0
  while [[ ! -s $1 ]] && ((i++ < 100)); do sleep 0.05; done
  [[ -s $1 ]]
}
stop_server() { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; }

# --- cases ----------------------------------------------------------------------------------------

case_install() {
  local d=$work/install out
  mkdir -p "$d/bin"
  printf '#!/bin/sh\necho reference bridge\n' >"$d/bin/bridge"  # a reference plugin to replace
  printf '#!/bin/sh\necho flannel\n' >"$d/bin/flannel"          # someone else's: left alone
  chmod 755 "$d/bin/bridge" "$d/bin/flannel"
  out=$("$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" \
    --pod-cidr 10.244.1.0/24 --cluster-cidr 10.244.0.0/16 --mtu 1450) || fail "install exited $?"
  printf '%s\n' "$out" | sed 's/^/    /'
  expect "nsnet-cni is a copy" cmp -s "$work/src/nsnet-cni" "$d/bin/nsnet-cni"
  expect "nsnet-cni is a regular file" test -f "$d/bin/nsnet-cni" -a ! -L "$d/bin/nsnet-cni"
  expect "nsnet-cni mode 755" test "$(stat -c %a "$d/bin/nsnet-cni")" = 755
  local name
  for name in bridge host-local portmap bandwidth loopback; do
    expect "$name links to nsnet-cni" test "$(readlink "$d/bin/$name")" = nsnet-cni
  done
  expect "bridge runs nsnet-cni" test "$("$d/bin/bridge")" = "fake nsnet-cni A as bridge"
  expect "output names the replaced reference plugin" grep -q "bridge -> nsnet-cni (replaces a plugin binary)" <<<"$out"
  expect "flannel untouched" test "$("$d/bin/flannel")" = flannel
  local c=$d/conf/10-nsnet.conflist
  expect "conflist is JSON" python3 -m json.tool "$c" >/dev/null
  expect "conflist mode 644" test "$(stat -c %a "$c")" = 644
  expect "cniVersion 1.0.0" test "$(conf_get "$c" 'c["cniVersion"]')" = 1.0.0
  expect "network name" test "$(conf_get "$c" 'c["name"]')" = nsnet
  expect "chain bridge, portmap, bandwidth" \
    test "$(conf_get "$c" '",".join(p["type"] for p in c["plugins"])')" = bridge,portmap,bandwidth
  expect "pod CIDR is the range" \
    test "$(conf_get "$c" 'c["plugins"][0]["ipam"]["ranges"]')" = "[[{'subnet': '10.244.1.0/24'}]]"
  expect "host-local" test "$(conf_get "$c" 'c["plugins"][0]["ipam"]["type"]')" = host-local
  expect "default route" test "$(conf_get "$c" 'c["plugins"][0]["ipam"]["routes"]')" = "[{'dst': '0.0.0.0/0'}]"
  expect "bridge cni0, gateway, masquerade, hairpin" test "$(conf_get "$c" \
    '[c["plugins"][0][k] for k in ("bridge", "isGateway", "ipMasq", "hairpinMode")]')" = "['cni0', True, True, True]"
  expect "cluster CIDR not masqueraded" \
    test "$(conf_get "$c" 'c["plugins"][0]["ipMasqExclude"]')" = "['10.244.0.0/16']"
  expect "mtu" test "$(conf_get "$c" 'c["plugins"][0]["mtu"]')" = 1450
  expect "portmap capability and snat" \
    test "$(conf_get "$c" '(c["plugins"][1]["capabilities"], c["plugins"][1]["snat"])')" = "({'portMappings': True}, True)"
  expect "bandwidth capability" test "$(conf_get "$c" 'c["plugins"][2]["capabilities"]')" = "{'bandwidth': True}"
  expect "no temporary file left" test -z "$(find "$d" -name '*nsnet-tmp*')"
  expect "one line per change (7 + created conf dir + summary)" test "$(wc -l <<<"$out")" = 9

  # Idempotent: nothing renamed, rewritten or touched.
  local before after
  before=$(snapshot "$d")
  sleep 0.02  # so a rewrite would show in the mtimes
  out=$("$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" \
    --pod-cidr 10.244.1.0/24 --cluster-cidr 10.244.0.0/16 --mtu 1450) || fail "second run exited $?"
  after=$(snapshot "$d")
  expect "second run says unchanged" test "$out" = "nothing to do: 7 unchanged"
  expect "second run changed no inode, mtime or mode" test "$before" = "$after"
  [[ $before == "$after" ]] || diff <(echo "$before") <(echo "$after") >&2 || true

  # A changed input changes exactly that file.
  out=$("$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" \
    --pod-cidr 10.244.9.0/24 --cluster-cidr 10.244.0.0/16 --mtu 1450) || fail "third run exited $?"
  expect "new CIDR rewrites only the conflist" test "$out" = "rewrote $c"$'\n'"1 changed, 6 unchanged"
  expect "new CIDR in the conflist" \
    test "$(conf_get "$c" 'c["plugins"][0]["ipam"]["ranges"][0][0]["subnet"]')" = 10.244.9.0/24
  out=$("$script" --source "$work/src-b" --bin-dir "$d/bin" --conf-dir "$d/conf" \
    --pod-cidr 10.244.9.0/24 --cluster-cidr 10.244.0.0/16 --mtu 1450) || fail "fourth run exited $?"
  expect "new binary replaces only nsnet-cni" test "$out" = "replaced $d/bin/nsnet-cni"$'\n'"1 changed, 6 unchanged"
  expect "bridge runs the new binary" test "$("$d/bin/bridge")" = "fake nsnet-cni B as bridge"
  done_case
}

# Installed as ${prefix}/share/nsnet/install-node.sh, the script finds ${prefix}/libexec/nsnet/cni.
case_default_source() {
  local p=$work/prefix d=$work/default-source
  mkdir -p "$p/share/nsnet" "$p/libexec/nsnet"
  cp "$script" "$p/share/nsnet/install-node.sh"
  cp -a "$work/src-b" "$p/libexec/nsnet/cni"
  ln -s /opt/elsewhere/nsnet-cni "$p/libexec/nsnet/cni/tuning"  # absolute links count too
  "$p/share/nsnet/install-node.sh" --bin-dir "$d/bin" --conf-dir "$d/conf" --pod-cidr 10.244.1.0/24 \
    >/dev/null || fail "install exited $?"
  expect "the installed plugins were found" test "$("$d/bin/bridge")" = "fake nsnet-cni B as bridge"
  expect "an absolute link in the source is a plugin name" test "$(readlink "$d/bin/tuning")" = nsnet-cni
  local status=0
  "$work/prefix/share/nsnet/install-node.sh" --source "$work/prefix" --bin-dir "$d/bin" \
    --conf-dir "$d/conf" --pod-cidr 10.244.1.0/24 >/dev/null 2>&1 || status=$?
  expect "a source without nsnet-cni exits 2" test "$status" = 2
  done_case
}

case_dual_stack() {
  local d=$work/dual c
  "$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" --network-name pods \
    --conflist 20-pods.conflist --pod-cidr 10.244.3.0/24,FD00:10:244:3::/64 \
    --cluster-cidr 10.244.0.0/16 --cluster-cidr fd00:10:244::/56 >/dev/null || fail "install exited $?"
  c=$d/conf/20-pods.conflist
  expect "conflist named by --conflist" test -f "$c"
  expect "network name" test "$(conf_get "$c" 'c["name"]')" = pods
  expect "one range set per family" test "$(conf_get "$c" 'c["plugins"][0]["ipam"]["ranges"]')" = \
    "[[{'subnet': '10.244.3.0/24'}], [{'subnet': 'fd00:10:244:3::/64'}]]"
  expect "a default route per family" test "$(conf_get "$c" 'c["plugins"][0]["ipam"]["routes"]')" = \
    "[{'dst': '0.0.0.0/0'}, {'dst': '::/0'}]"
  expect "both cluster CIDRs excluded" test "$(conf_get "$c" 'c["plugins"][0]["ipMasqExclude"]')" = \
    "['10.244.0.0/16', 'fd00:10:244::/56']"
  expect "no mtu unless given" test "$(conf_get "$c" '"mtu" in c["plugins"][0]')" = False
  done_case
}

case_dry_run() {
  local d=$work/dry out before
  out=$("$script" --dry-run --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" \
    --pod-cidr 10.244.1.0/24) || fail "dry run exited $?"
  expect "dry run created nothing" test ! -e "$d"
  expect "dry run names the conflist" grep -qxF "would write $d/conf/10-nsnet.conflist" <<<"$out"
  expect "dry run names a link" grep -qxF "would link $d/bin/portmap -> nsnet-cni" <<<"$out"
  expect "dry run counts" test "$(tail -n1 <<<"$out")" = "9 would change, 0 unchanged"

  "$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" --pod-cidr 10.244.1.0/24 >/dev/null
  before=$(snapshot "$d")
  out=$("$script" --dry-run --source "$work/src-b" --bin-dir "$d/bin" --conf-dir "$d/conf" \
    --pod-cidr 10.244.2.0/24) || fail "second dry run exited $?"
  expect "dry run over an install changed nothing" test "$before" = "$(snapshot "$d")"
  expect "dry run says what would change" test "$out" = \
    "would replace $d/bin/nsnet-cni"$'\n'"would rewrite $d/conf/10-nsnet.conflist"$'\n'"2 would change, 5 unchanged"
  out=$("$script" --dry-run --uninstall --bin-dir "$d/bin" --conf-dir "$d/conf") || fail "uninstall dry run exited $?"
  expect "uninstall dry run changed nothing" test "$before" = "$(snapshot "$d")"
  expect "uninstall dry run lists 7 removals" test "$(grep -c '^would remove ' <<<"$out")" = 7
  done_case
}

case_refused_input() {
  local d=$work/refused before status bad err
  "$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" --pod-cidr 10.244.1.0/24 >/dev/null
  before=$(snapshot "$d")
  for bad in garbage 10.244.1.5/24 10.244.1.0/33 300.1.2.0/24 10.244.01.0/24 10.244.1.0 10.0.0.0/31 \
    10.244.1.0/24,10.244.2.0/24 fd00::1/64 fd00:::/64 1::2::3/64 fd00::/129 g::/64 '10.0.0.0/8;rm' ''; do
    status=0
    err=$("$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" --pod-cidr "$bad" 2>&1 >/dev/null) ||
      status=$?
    expect "--pod-cidr '$bad' exits 2 (got $status)" test "$status" = 2
    expect "--pod-cidr '$bad' says why in one line" test "$(wc -l <<<"$err")" = 1
    status=0
    "$script" --source "$work/src" --bin-dir "$d/new-bin" --conf-dir "$d/new-conf" --pod-cidr "$bad" 2>/dev/null ||
      status=$?
    expect "--pod-cidr '$bad' into fresh dirs exits 2" test "$status" = 2
  done
  printf '    e.g. %s\n' "$("$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" \
    --pod-cidr 10.244.1.5/24 2>&1)"
  for bad in --cluster-cidr=10.0.0.1/8 --mtu=0 --mtu=70000 --mtu=x --network-name=a/b --conflist=x.conf \
    --conflist=../x.conflist --bogus --api-timeout=-1; do
    status=0
    "$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" --pod-cidr 10.244.1.0/24 "$bad" \
      2>/dev/null >&2 || status=$?
    expect "$bad exits 2 (got $status)" test "$status" = 2
  done
  status=0
  "$script" --bin-dir "$d/bin" --conf-dir "$d/conf" >/dev/null 2>&1 || status=$?
  expect "no pod CIDR option exits 2" test "$status" = 2
  status=0
  "$script" --pod-cidr 10.1.0.0/16 --pod-cidr-from-api >/dev/null 2>&1 || status=$?
  expect "both pod CIDR options exit 2" test "$status" = 2
  status=0
  "$script" --source "$work" --bin-dir "$d/bin" --conf-dir "$d/conf" --pod-cidr 10.1.0.0/16 >/dev/null 2>&1 ||
    status=$?
  expect "a source without nsnet-cni exits 2" test "$status" = 2
  expect "refused runs left the install as it was" test "$before" = "$(snapshot "$d")"
  expect "refused runs created no fresh dir" test ! -e "$d/new-bin" -a ! -e "$d/new-conf"
  expect "--help exits 0" "$script" --help >/dev/null
  done_case
}

# A reader parses the conflist (and reads nsnet-cni) as fast as it can while the script replaces
# both 200 times with alternating contents: it must never see a partial or missing file.
case_atomic() {
  local d=$work/atomic i cidr src
  "$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" --pod-cidr 10.244.0.0/24 >/dev/null
  cat >"$work/reader.py" <<'EOF'
import json, os, sys, time
conf, binary, stop = sys.argv[1:4]
contents = {open(p, "rb").read() for p in sys.argv[4:]}
reads = bad = 0
subnets = set()
binaries = set()
while not os.path.exists(stop):
    try:
        with open(conf) as f:
            subnets.add(json.load(f)["plugins"][0]["ipam"]["ranges"][0][0]["subnet"])
        with open(binary, "rb") as f:
            data = f.read()
        if data not in contents:
            raise ValueError(f"nsnet-cni has unknown content {data[:40]!r}")
        binaries.add(data)
        reads += 1
    except Exception as e:  # a partial file, a missing name: what atomic replacement prevents
        bad += 1
        if bad <= 5:
            print(f"reader: {type(e).__name__}: {e}", file=sys.stderr)
    time.sleep(0.0001)  # leaves the writer some CPU on a small machine
print(reads, bad, len(subnets), len(binaries))
EOF
  python3 "$work/reader.py" "$d/conf/10-nsnet.conflist" "$d/bin/nsnet-cni" "$work/stop" \
    "$work/src/nsnet-cni" "$work/src-b/nsnet-cni" >"$work/reader.out" &
  local reader=$!
  for ((i = 0; i < 200; i++)); do
    # Long and short contents alternate, so a reader of a file being rewritten in place would
    # see a truncated or overlong document.
    if ((i % 2)); then
      cidr=10.244.1.0/24 src=$work/src-b
      set -- --cluster-cidr 10.244.0.0/16,10.96.0.0/12,fd00:1::/48 --mtu 1450
    else
      cidr=10.244.2.0/24 src=$work/src
      set --
    fi
    "$script" --source "$src" --bin-dir "$d/bin" --conf-dir "$d/conf" --pod-cidr "$cidr" "$@" >/dev/null ||
      fail "rewrite $i exited $?"
  done
  touch "$work/stop"
  wait "$reader" || fail "reader exited $?"
  local reads bad subnets binaries
  read -r reads bad subnets binaries <"$work/reader.out"
  echo "    reader: $reads complete reads, $bad bad, $subnets subnets and $binaries binaries seen"
  expect "reader never saw a partial file" test "$bad" = 0
  expect "reader read while the script wrote" test "$reads" -gt 200
  expect "reader saw both conflists" test "$subnets" -ge 2
  expect "reader saw both binaries" test "$binaries" = 2
  expect "no temporary file left" test -z "$(find "$d" -name '*nsnet-tmp*')"
  done_case
}

case_uninstall() {
  local d=$work/uninstall out
  mkdir -p "$d/bin" "$d/conf"
  printf 'x\n' >"$d/bin/flannel"
  ln -s flannel "$d/bin/other-link"       # a link that is not ours
  ln -s /usr/bin/true "$d/bin/tuning"     # nor this
  "$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" --pod-cidr 10.244.1.0/24 >/dev/null
  printf '{"cniVersion": "1.0.0", "name": "other", "plugins": []}\n' >"$d/conf/05-other.conflist"
  ln -s "$d/bin/nsnet-cni" "$d/bin/static"  # an absolute link to our binary is ours too
  out=$("$script" --uninstall --bin-dir "$d/bin" --conf-dir "$d/conf") || fail "uninstall exited $?"
  expect "uninstall removed 8" test "$(tail -n1 <<<"$out")" = "8 changed, 0 unchanged"
  expect "what remains is not ours" test "$(cd "$d" && find . -mindepth 1 | sort | tr '\n' ' ')" = \
    "./bin ./bin/flannel ./bin/other-link ./bin/tuning ./conf ./conf/05-other.conflist "
  out=$("$script" --uninstall --bin-dir "$d/bin" --conf-dir "$d/conf") || fail "second uninstall exited $?"
  expect "second uninstall does nothing" test "$out" = "nothing to do: 0 unchanged"
  # A conflist of the same file name but another network is not ours.
  cp "$d/conf/05-other.conflist" "$d/conf/10-nsnet.conflist"
  "$script" --uninstall --bin-dir "$d/bin" --conf-dir "$d/conf" >/dev/null 2>&1 || fail "third uninstall exited $?"
  expect "another network's conflist stays" test -f "$d/conf/10-nsnet.conflist"
  done_case
}

case_from_api() {
  command -v curl >/dev/null && command -v jq >/dev/null || exit 77
  local d=$work/api sa=$work/api-sa out status
  mkdir -p "$sa"
  printf 'fake-token-123' >"$sa/token"
  start_fake_api "$work/api-port" || { fail "fake API did not start"; done_case; }
  NSNET_K8S_API_URL="http://127.0.0.1:$(<"$work/api-port")"
  export NSNET_K8S_API_URL NSNET_K8S_SERVICEACCOUNT_DIR=$sa
  export NSNET_K8S_ALLOW_HTTP=1
  unset KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT
  api() { "$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" --pod-cidr-from-api \
    --api-timeout 0 "$@"; }

  NODE_NAME=node-dual api --cluster-cidr 10.244.0.0/16 >/dev/null || fail "node-dual exited $?"
  expect "dual-stack podCIDRs become the ranges" \
    test "$(conf_get "$d/conf/10-nsnet.conflist" 'c["plugins"][0]["ipam"]["ranges"]')" = \
    "[[{'subnet': '10.244.5.0/24'}], [{'subnet': 'fd00:10:244:5::/64'}]]"
  NODE_NAME=node-v4 api >/dev/null || fail "node-v4 exited $?"
  expect "podCIDR becomes the range" \
    test "$(conf_get "$d/conf/10-nsnet.conflist" 'c["plugins"][0]["ipam"]["ranges"]')" = \
    "[[{'subnet': '10.244.6.0/24'}]]"
  out=$(NODE_NAME=node-late api --api-timeout 10) || fail "node-late exited $?"
  expect "waits for a range to be assigned" \
    test "$(conf_get "$d/conf/10-nsnet.conflist" 'c["plugins"][0]["ipam"]["ranges"]')" = \
    "[[{'subnet': '10.244.8.0/24'}]]"

  local before
  before=$(snapshot "$d")
  api_fails() {  # api_fails DESCRIPTION MESSAGE_PART [env...]: exits 1, says MESSAGE_PART, writes nothing
    local err status=0
    err=$(env "${@:3}" "$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" \
      --pod-cidr-from-api --api-timeout 0 2>&1 >/dev/null) || status=$?
    expect "$1: exits 1 (got $status)" test "$status" = 1
    expect "$1: says '$2' (said: $err)" grep -qF -- "$2" <<<"$err"
  }
  api_fails "no podCIDR" "has no spec.podCIDR yet" NODE_NAME=node-none
  api_fails "invalid podCIDR" "not a network address" NODE_NAME=node-bad
  api_fails "unknown node" "HTTP 404" NODE_NAME=node-missing
  api_fails "no NODE_NAME" "NODE_NAME is not set" NODE_NAME=
  api_fails "bad NODE_NAME" "not a node name" NODE_NAME=../../secrets
  api_fails "plain HTTP refused by default" "refusing plain-HTTP" NODE_NAME=node-v4 NSNET_K8S_ALLOW_HTTP=
  api_fails "no token" "service account token" NODE_NAME=node-v4 NSNET_K8S_SERVICEACCOUNT_DIR="$work/none"
  printf 'wrong' >"$work/api-sa-wrong-token"; mkdir -p "$work/api-sa-wrong"
  mv "$work/api-sa-wrong-token" "$work/api-sa-wrong/token"
  api_fails "wrong token" "HTTP 401" NODE_NAME=node-v4 NSNET_K8S_SERVICEACCOUNT_DIR="$work/api-sa-wrong"
  api_fails "not in a pod" "KUBERNETES_SERVICE_HOST" NODE_NAME=node-v4 NSNET_K8S_API_URL=
  api_fails "API unreachable" "curl: (7)" NODE_NAME=node-v4 NSNET_K8S_API_URL=http://127.0.0.1:1
  expect "failed API runs wrote nothing" test "$before" = "$(snapshot "$d")"
  trap - EXIT
  stop_server || true
  done_case
}

# In-cluster defaults: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, verified with the
# service account's ca.crt (here a self-signed certificate for 127.0.0.1).
case_from_api_tls() {
  command -v curl >/dev/null && command -v jq >/dev/null && command -v openssl >/dev/null || exit 77
  local d=$work/api-tls sa=$work/api-tls-sa status err
  mkdir -p "$sa"
  printf 'fake-token-123' >"$sa/token"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$work/api.key" -out "$sa/ca.crt" 2>/dev/null ||
    fail "openssl req exited $?"
  start_fake_api "$work/api-tls-port" "$sa/ca.crt" "$work/api.key" || { fail "fake API did not start"; done_case; }
  unset NSNET_K8S_API_URL NSNET_K8S_ALLOW_HTTP
  KUBERNETES_SERVICE_PORT=$(<"$work/api-tls-port")
  export KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT
  export NSNET_K8S_SERVICEACCOUNT_DIR=$sa
  NODE_NAME=node-dual "$script" --source "$work/src" --bin-dir "$d/bin" --conf-dir "$d/conf" \
    --pod-cidr-from-api --api-timeout 0 >/dev/null || fail "node-dual over HTTPS exited $?"
  expect "podCIDRs over HTTPS" \
    test "$(conf_get "$d/conf/10-nsnet.conflist" 'c["plugins"][0]["ipam"]["ranges"]')" = \
    "[[{'subnet': '10.244.5.0/24'}], [{'subnet': 'fd00:10:244:5::/64'}]]"
  # Another CA: the server is not trusted.
  mkdir -p "$work/api-tls-other"
  cp "$sa/token" "$work/api-tls-other/token"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other -keyout "$work/other.key" \
    -out "$work/api-tls-other/ca.crt" 2>/dev/null || fail "openssl req exited $?"
  status=0
  err=$(NODE_NAME=node-dual NSNET_K8S_SERVICEACCOUNT_DIR="$work/api-tls-other" "$script" --source "$work/src" \
    --bin-dir "$d/bin2" --conf-dir "$d/conf2" --pod-cidr-from-api --api-timeout 0 2>&1 >/dev/null) || status=$?
  expect "an untrusted server exits 1 (got $status)" test "$status" = 1
  expect "an untrusted server is a certificate error (said: $err)" grep -qi certificate <<<"$err"
  expect "nothing written" test ! -e "$d/bin2"
  trap - EXIT
  stop_server || true
  done_case
}

for name in ${NSNET_TEST_CASES:-install default_source dual_stack dry_run refused_input atomic uninstall from_api from_api_tls}; do run_case "$name"; done
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
