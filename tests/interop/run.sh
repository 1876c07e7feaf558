#!/usr/bin/env bash
# Interop test: nsnet's plugins driven by libcni, the Go library real runtimes embed
# (cnidriver/main.go, built here offline from Debian's libcni 1.1.2 sources). Each lifecycle case
# is one container: ADD, CHECK, the cached result, DEL, DEL again, DEL once the netns is gone.
# The slirp4netns case also checks that DEL leaves neither its daemon nor its state.
# Each cache case makes the same attachment through libcni and through `nsnet net`, compares the
# two result cache files field by field, then each side CHECKs and DELs the other's attachment.
#
# Usage: tests/interop/run.sh [PLUGIN_DIR [NSNET_BIN]]
#        (default: build/release/plugins/bin and build/release/bin/nsnet)
# Needs root, go (golang-go) and libcni's sources (golang-github-appc-cni-dev): exits 77 (skip)
# without them and installs nothing. Runs inside private mount + network namespaces with a tmpfs
# on /run, so the machine's network, /run/netns and /var/lib/cni are never touched.
# Exits 0 only if every case passed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
libcni_src=/usr/share/gocode/src/github.com/containernetworking/cni/libcni

skip() { echo "SKIP interop.libcni: $*" >&2; exit 77; }
die() { echo "FAIL interop.libcni: $*" >&2; exit 1; }

# --- outside: prerequisites, build the driver, re-run this script in the sandbox -----------------
if [ "${1-}" != --sandbox ]; then
  [ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
  command -v go >/dev/null || skip "go not found (Debian package golang-go)"
  [ -d "$libcni_src" ] || skip "libcni sources not found (Debian package golang-github-appc-cni-dev)"
  plugin_dir=${1:-$here/../../build/release/plugins/bin}
  [ -d "$plugin_dir" ] || die "plugin dir $plugin_dir does not exist (build first)"
  plugin_dir=$(cd "$plugin_dir" && pwd)
  nsnet_bin=${2:-$plugin_dir/../../bin/nsnet}
  [ -x "$nsnet_bin" ] || die "nsnet binary $nsnet_bin does not exist (build first)"
  nsnet_bin=$(cd "$(dirname "$nsnet_bin")" && pwd)/$(basename "$nsnet_bin")

  # /tmp, not $TMPDIR: it must stay visible once the sandbox mounts its own /run.
  scratch=$(mktemp -d /tmp/nsnet-interop.XXXXXX)
  trap 'rm -rf "$scratch"' EXIT
  trap 'exit 130' INT; trap 'exit 143' TERM  # so a timeout or ^C still runs the EXIT trap
  # GOPATH mode against the packaged sources: no module download, no network. CGO off: no C
  # toolchain needed, and the driver does not depend on the machine's resolver libraries.
  (cd "$here/cnidriver" && GOPATH=/usr/share/gocode GO111MODULE=off GOPROXY=off GOFLAGS='' \
     CGO_ENABLED=0 GOCACHE="$scratch/gocache" go build -o "$scratch/cnidriver" .) ||
    die "building cnidriver failed"

  # Not exec: the trap above must still remove the scratch dir.
  status=0
  NSNET_INTEROP_OUTER_NETNS=$(readlink /proc/self/ns/net) \
    unshare --mount --net --propagation private bash "$0" --sandbox "$plugin_dir" "$scratch" "$nsnet_bin" ||
    status=$?
  exit "$status"
fi

# --- inside the sandbox ------------------------------------------------------------------------
plugin_dir=$2
driver=$3/cnidriver
nsnet_bin=$4
[ "$(readlink /proc/self/ns/net)" != "${NSNET_INTEROP_OUTER_NETNS-}" ] ||
  die "not in a private network namespace; refusing to run"
mount -t tmpfs -o mode=0755 nsnet-interop /run
# Plugins are told to use dirs under /run; this (or the check at the end) covers one that does not.
if [ -d /var/lib/cni ]; then
  mount -t tmpfs nsnet-interop /var/lib/cni
  var_lib_cni_existed=yes
else
  var_lib_cni_existed=no
fi
if [ ! -x "$driver" ] || [ ! -d "$plugin_dir" ] || [ ! -x "$nsnet_bin" ]; then
  die "driver, plugin dir or nsnet not visible in the sandbox"
fi

work=/run/nsnet-interop
cache=$work/cache       # libcni's CacheDir
data=$work/networks     # host-local's dataDir
conf=$work/conf
mkdir -p "$cache" "$data" "$conf"

# Everything dies with the namespaces anyway; deleting the netns files makes that explicit.
cleanup() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do ip netns delete "$ns" || true; done
}
trap cleanup EXIT

# --- configurations ----------------------------------------------------------------------------
# libcni runs every plugin of a list with the same CNI_IFNAME and keeps the last plugin's result,
# so runtimes (containerd, CRI-O) attach loopback as a list of its own with ifname lo.
cat >"$conf/loopback.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "interop-lo", "plugins": [{"type": "loopback"}]}
EOF
cat >"$conf/bridge.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "interop-bridge", "plugins": [
  {"type": "bridge", "bridge": "interop-br0", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "subnet": "10.77.0.0/24", "dataDir": "$data"}}]}
EOF
# One address per list for the cache cases, so libcni and nsnet get the same one in turn; the
# bridge's container MAC comes from the "mac" capability argument, so it is the same too.
cat >"$conf/cache-bridge.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "interop-cache-br", "plugins": [
  {"type": "bridge", "bridge": "interop-br1", "isGateway": true, "ipMasq": false,
   "capabilities": {"mac": true},
   "ipam": {"type": "host-local", "dataDir": "$data",
            "ranges": [[{"subnet": "10.77.2.0/24", "rangeStart": "10.77.2.9", "rangeEnd": "10.77.2.9"}]]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOF
cat >"$conf/cache-ptp.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "interop-cache-ptp", "plugins": [
  {"type": "ptp", "ipam": {"type": "host-local", "dataDir": "$data",
   "ranges": [[{"subnet": "10.77.3.0/24", "rangeStart": "10.77.3.9", "rangeEnd": "10.77.3.9"}]]}}]}
EOF
cat >"$conf/slirp.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "interop-slirp", "plugins": [
  {"type": "slirp4netns", "dataDir": "$work/slirp"}]}
EOF
for version in 1.0.0 0.4.0 0.3.1; do  # one list, three spec versions
  cat >"$conf/ptp-$version.conflist" <<EOF
{"cniVersion": "$version", "name": "interop-ptp", "plugins": [
  {"type": "ptp", "ipam": {"type": "host-local", "subnet": "10.77.1.0/24", "dataDir": "$data"}}]}
EOF
done

# --- helpers (run inside a case's subshell; fail ends the case) -----------------------------------
cni() { "$driver" -cni-path "$plugin_dir" -cache-dir "$cache" "$@"; }
fail() { echo "$*" >&2; exit 1; }
step() { echo "-- $*"; }
version_ge() { [ "$(printf '%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]; }

# attachment_vars CONFLIST:IFNAME — sets list, ifname, net, version, res (the ADD result file)
attachment_vars() {
  list=$conf/${1%%:*}
  ifname=${1##*:}
  net=$(jq -r .name "$list")
  version=$(jq -r .cniVersion "$list")
  res=$work/$cid/$net-$ifname.json
}

# Addresses ("a.b.c.d/len") and flags of a link, in the container or (ns "") the sandbox host.
link_addrs() { ip ${1:+-n "$1"} -j addr show dev "$2" | jq -r '.[0].addr_info[] | "\(.local)/\(.prefixlen)"'; }
link_json() { ip ${1:+-n "$1"} -j -d link show dev "$2" 2>/dev/null; }

verify_added() {
  jq -e --arg v "$version" '.cniVersion == $v' "$res" >/dev/null ||
    fail "result cniVersion is $(jq -c .cniVersion "$res"), want $version"
  # Every address names an interface index, and that interface is ours, in the container.
  jq -e --arg ifn "$ifname" --arg ns "$netns" '. as $r | (.ips | length) > 0 and
      all(.ips[]; (.interface | type) == "number" and
                  ($r.interfaces[.interface] | .name == $ifn and .sandbox == $ns))' "$res" >/dev/null ||
    fail "result ips/interfaces do not point at $ifname in $netns"
  # 0.3.x/0.4.0 results carry ips[].version; 1.0.0 dropped it.
  if version_ge "$version" 1.0.0; then
    jq -e 'all(.ips[]; has("version") | not)' "$res" >/dev/null || fail "1.0.0 result has ips[].version"
  else
    jq -e 'all(.ips[]; .version == (if (.address | test(":")) then "6" else "4" end))' "$res" >/dev/null ||
      fail "$version result lacks a correct ips[].version"
  fi

  # What the kernel says inside the container.
  local link addrs addr
  link=$(link_json "$cid" "$ifname") || fail "$ifname missing in the container"
  jq -e '.[0].flags | index("UP")' <<<"$link" >/dev/null || fail "$ifname is not up in the container"
  jq -e --argjson l "$link" --arg ifn "$ifname" \
    'all(.interfaces[] | select(.name == $ifn and .sandbox != null); .mac == $l[0].address)' "$res" >/dev/null ||
    fail "result mac of $ifname differs from the kernel's $(jq -r '.[0].address' <<<"$link")"
  addrs=$(link_addrs "$cid" "$ifname")
  for addr in $(jq -r '.ips[].address' "$res"); do
    grep -qxF "$addr" <<<"$addrs" || fail "$ifname in the container lacks $addr (has: $(tr '\n' ' ' <<<"$addrs"))"
  done

  # Host-side interfaces of the result exist on the (sandbox) host with that mac; each gateway
  # is on one of them (ptp: the veth's /32, bridge with isGateway: the bridge).
  local host gw found
  for host in $(jq -r '.interfaces[] | select(.sandbox == null) | .name' "$res"); do
    link=$(link_json "" "$host") || fail "host interface $host from the result does not exist"
    jq -r --arg h "$host" '.interfaces[] | select(.name == $h and .sandbox == null) | .mac' "$res" |
      grep -qxF "$(jq -r '.[0].address' <<<"$link")" || fail "result mac of host $host differs from the kernel's"
    jq -r '.[0].linkinfo.info_kind // ""' <<<"$link" >"$work/$cid/kind-$host"
  done
  # A user-mode network (slirp4netns) has no host-side interface: its gateway lives in the daemon.
  if jq -e 'any(.interfaces[]; .sandbox == null)' "$res" >/dev/null; then
    for gw in $(jq -r '.ips[] | .gateway // empty' "$res"); do
      found=no
      for host in $(jq -r '.interfaces[] | select(.sandbox == null) | .name' "$res"); do
        grep -q "^$gw/" <<<"$(link_addrs "" "$host")" && found=yes
      done
      [ "$found" = yes ] || fail "gateway $gw is on no host interface of the result"
    done
  fi

  # host-local's reservation: <dataDir>/<network>/<ip> holding "<containerID>\r\n<ifname>".
  if jq -e '.plugins[].ipam.dataDir // empty' "$list" >/dev/null; then
    for addr in $(jq -r '.ips[].address' "$res"); do
      cmp -s "$data/$net/${addr%/*}" <(printf '%s\r\n%s' "$cid" "$ifname") ||
        fail "no host-local reservation $data/$net/${addr%/*} for $cid/$ifname"
    done
  fi
}

verify_cached() {
  local file=$cache/results/$net-$cid-$ifname
  [ -f "$file" ] || fail "libcni cache file $file missing"
  jq -e --arg c "$cid" --arg i "$ifname" --arg n "$net" \
    '.kind == "cniCacheV1" and .containerId == $c and .ifName == $i and .networkName == $n' "$file" >/dev/null ||
    fail "cache file $file: unexpected kind/containerId/ifName/networkName"
  diff <(jq -S .result "$file") <(jq -S . "$res") >/dev/null || fail "cache file holds a different result"
  diff <(jq -r .config "$file" | base64 -d | jq -S .) <(jq -S . "$list") >/dev/null ||
    fail "cache file holds a different config"
  cni cached "$list" "$cid" "$netns" "$ifname" >"$work/$cid/cached.json" || fail "cached failed"
  diff <(jq -S . "$work/$cid/cached.json") <(jq -S . "$res") || fail "cached result differs from ADD's"
}

verify_deleted() {
  local file=$cache/results/$net-$cid-$ifname out
  [ ! -e "$file" ] || fail "cache file $file still exists after DEL"
  if out=$(cni cached "$list" "$cid" "$netns" "$ifname" 2>&1); then fail "cached still answers after DEL"; fi
  grep -q "no cached result" <<<"$out" || fail "cached after DEL: $out"
  if [ "$ifname" = lo ]; then
    # loopback's DEL sets lo down (lo itself cannot go away).
    link_json "$cid" lo | jq -e '.[0].flags | index("UP") | not' >/dev/null || fail "lo still up after DEL"
  else
    ! link_json "$cid" "$ifname" >/dev/null || fail "$ifname still exists in the container after DEL"
  fi
  local host
  for host in $(jq -r '.interfaces[] | select(.sandbox == null) | .name' "$res"); do
    # The bridge is shared by all containers of the network and stays, as in the reference.
    [ "$(cat "$work/$cid/kind-$host")" = bridge ] && continue
    ! link_json "" "$host" >/dev/null || fail "host interface $host still exists after DEL"
  done
  if jq -e '.plugins[].ipam.dataDir // empty' "$list" >/dev/null; then
    out=$(find "$data/$net" -mindepth 1 -maxdepth 1 ! -name lock ! -name 'last_reserved_ip.*')
    [ -z "$out" ] || fail "host-local reservations left after DEL: $out"
    out=$(grep -rlF "$cid" "$data" || true)
    [ -z "$out" ] || fail "host-local state still names $cid after DEL: $out"
  fi
}

# lifecycle CONTAINER_ID CONFLIST:IFNAME... — one container with its attachments, as a runtime
# drives it: ADD each in order, verify, CHECK (0.4.0+), cached, DEL in reverse, DEL again, and DEL
# once the netns is gone (stale path, then empty CNI_NETNS as containerd sends on a second stop).
lifecycle() {
  cid=$1; shift
  netns=/run/netns/$cid
  mkdir -p "$work/$cid"
  ip netns add "$cid"
  local a i
  for a; do
    attachment_vars "$a"; step "add $net $ifname"
    cni add "$list" "$cid" "$netns" "$ifname" >"$res" || fail "add $net/$ifname failed"
  done
  for a; do attachment_vars "$a"; step "verify $net $ifname"; verify_added; done
  for a; do
    attachment_vars "$a"
    if version_ge "$version" 0.4.0; then
      step "check $net $ifname"; cni check "$list" "$cid" "$netns" "$ifname" || fail "check $net/$ifname failed"
    else
      step "check $net $ifname: skipped, CHECK needs 0.4.0"
    fi
    step "cached $net $ifname"; verify_cached
  done
  for ((i = $#; i >= 1; i--)); do
    attachment_vars "${!i}"; step "del $net $ifname"
    cni del "$list" "$cid" "$netns" "$ifname" || fail "del $net/$ifname failed"
    verify_deleted
  done
  for a; do
    attachment_vars "$a"; step "del again $net $ifname"
    cni del "$list" "$cid" "$netns" "$ifname" || fail "second del $net/$ifname failed"
  done
  ip netns delete "$cid"
  for a; do
    attachment_vars "$a"; step "del $net $ifname, netns gone"
    cni del "$list" "$cid" "$netns" "$ifname" || fail "del $net/$ifname with a stale netns path failed"
    cni del "$list" "$cid" "" "$ifname" || fail "del $net/$ifname with an empty netns failed"
  done
}

# nsnet_net CACHE_DIR CNI_ARGS CAP_ARGS add|check|del CONFLIST CONTAINER_ID NETNS IFNAME — the
# same call as `cni`, through `nsnet net` and its environment (cnitool's variables).
nsnet_net() {
  local cache_dir=$1 cni_args=$2 cap_args=$3 cmd=$4 list=$5 id=$6 ns=$7 ifn=$8
  env -u CNI_ARGS -u CAP_ARGS NETCONFPATH="$conf" CNI_PATH="$plugin_dir" CNI_CONTAINERID="$id" \
    CNI_IFNAME="$ifn" ${cni_args:+CNI_ARGS="$cni_args"} ${cap_args:+CAP_ARGS="$cap_args"} \
    "$nsnet_bin" net --cache-dir "$cache_dir" "$cmd" "$list" "$ns"
}
# libcni through the driver, with the case's CNI_ARGS and capability arguments.
cni_with_args() {  # CACHE_DIR CNI_ARGS CAP_ARGS add|check|del CONFLIST CONTAINER_ID NETNS IFNAME
  local cache_dir=$1 cni_args=$2 cap_args=$3; shift 3
  "$driver" -cni-path "$plugin_dir" -cache-dir "$cache_dir" ${cni_args:+-cni-args "$cni_args"} \
    ${cap_args:+-cap-args "$cap_args"} "$@"
}

# What differs between two attachments made one after the other even with the same address and
# container MAC: the names and MACs the kernel or the plugin pick at random for host-side links
# (the host veth; the bridge's MAC follows its ports), and the container MAC unless pinned.
normalized_result() {  # FILE PIN_CONTAINER_MAC
  jq -S --argjson pin "$2" '.result | .interfaces |= map(
      if (.sandbox // "") == "" then .mac = "host-mac" | .name |= (if test("^veth") then "host-veth" else . end)
      elif $pin then . else .mac = "container-mac" end)' "$1"
}

# cache_compare CONTAINER_ID CONFLIST:IFNAME CNI_ARGS CAP_ARGS PIN_CONTAINER_MAC
cache_compare() {
  cid=$1; attachment_vars "$2"
  local cni_args=$3 cap_args=$4 pin=$5 key out
  netns=/run/netns/$cid
  mkdir -p "$work/$cid"
  ip netns add "$cid"
  local ours=$work/$cid/nsnet-cache
  local a=$work/$cid/libcni.json b=$ours/results/$net-$cid-$ifname
  local libcni_file=$cache/results/$net-$cid-$ifname

  step "libcni add + del $net $ifname"
  cni_with_args "$cache" "$cni_args" "$cap_args" add "$list" "$cid" "$netns" "$ifname" >"$res" ||
    fail "libcni add failed"
  cp "$libcni_file" "$a"
  cni_with_args "$cache" "$cni_args" "$cap_args" del "$list" "$cid" "$netns" "$ifname" ||
    fail "libcni del failed"

  step "nsnet net add $net $ifname"
  nsnet_net "$ours" "$cni_args" "$cap_args" add "$list" "$cid" "$netns" "$ifname" \
    >"$work/$cid/nsnet-add.json" || fail "nsnet net add failed"
  [ -f "$b" ] || fail "nsnet net wrote no cache file $b"
  [ "$(stat -c %a "$b")" = 600 ] || fail "cache file mode $(stat -c %a "$b"), want 600"
  [ "$(stat -c %a "$(dirname "$b")")" = 700 ] || fail "cache dir mode is not 700"

  step "compare cache files"
  for key in kind containerId config ifName networkName cniArgs capabilityArgs; do
    [ "$(jq -cS --arg k "$key" '.[$k]' "$a")" = "$(jq -cS --arg k "$key" '.[$k]' "$b")" ] ||
      fail "cache key $key: libcni $(jq -c --arg k "$key" '.[$k]' "$a"), nsnet $(jq -c --arg k "$key" '.[$k]' "$b")"
  done
  # libcni 1.1 has no "netns" key (1.2 added it); nsnet writes the attachment's netns.
  [ "$(jq -r '.netns // "absent"' "$a")" = absent ] || [ "$(jq -r .netns "$a")" = "$netns" ] ||
    fail "libcni cached netns $(jq -r .netns "$a")"
  [ "$(jq -r .netns "$b")" = "$netns" ] || fail "nsnet cached netns $(jq -r .netns "$b"), want $netns"
  # The same keys in the same order (Go marshals its struct in declaration order).
  [ "$(jq -c 'keys_unsorted' "$a")" = "$(jq -c 'del(.netns) | keys_unsorted' "$b")" ] ||
    fail "key order: libcni $(jq -c keys_unsorted "$a"), nsnet $(jq -c keys_unsorted "$b")"
  diff <(normalized_result "$a" "$pin") <(normalized_result "$b" "$pin") >&2 ||
    fail "cached results differ (libcni <, nsnet >)"

  # Each reads the other's entry: libcni CHECKs and DELs nsnet's attachment from nsnet's cache
  # (its prevResult comes from the file), then nsnet does the same for one libcni made.
  step "libcni check + del of nsnet's attachment"
  if version_ge "$version" 0.4.0; then
    cni_with_args "$ours" "$cni_args" "$cap_args" check "$list" "$cid" "$netns" "$ifname" ||
      fail "libcni check of nsnet's entry failed"
  fi
  cni_with_args "$ours" "$cni_args" "$cap_args" del "$list" "$cid" "$netns" "$ifname" ||
    fail "libcni del of nsnet's attachment failed"
  [ ! -e "$b" ] || fail "libcni left nsnet's cache file"
  step "nsnet check + del of libcni's attachment"
  cni_with_args "$cache" "$cni_args" "$cap_args" add "$list" "$cid" "$netns" "$ifname" >/dev/null ||
    fail "libcni add (2) failed"
  if version_ge "$version" 0.4.0; then
    nsnet_net "$cache" "$cni_args" "$cap_args" check "$list" "$cid" "$netns" "$ifname" ||
      fail "nsnet check of libcni's entry failed"
  fi
  # No CNI_ARGS/CAP_ARGS: nsnet takes them from libcni's entry.
  nsnet_net "$cache" "" "" del "$list" "$cid" "$netns" "$ifname" || fail "nsnet del of libcni's entry failed"
  [ ! -e "$libcni_file" ] || fail "nsnet left libcni's cache file"
  ! link_json "$cid" "$ifname" >/dev/null || fail "$ifname still exists in the container after DEL"
  out=$(find "$data/$net" -mindepth 1 -maxdepth 1 ! -name lock ! -name 'last_reserved_ip.*')
  [ -z "$out" ] || fail "host-local reservations left after DEL: $out"
  if [ -n "$cap_args" ] && grep -qF "$cid" <<<"$(nft list ruleset)"; then fail "portmap rules left for $cid"; fi
  ip netns delete "$cid"
}

# slirp_lifecycle CONTAINER_ID: the lifecycle of a slirp4netns attachment, then neither its daemon
# (found by the netns path on its command line; a zombie has none) nor its state is left.
slirp_lifecycle() {
  lifecycle "$1" slirp.conflist:tap0
  local p
  for p in /proc/[0-9]*; do
    if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q "slirp4netns.*/run/netns/$1 "; then
      fail "slirp4netns ${p#/proc/} still runs for $1"
    fi
  done
  [ -z "$(find "$work/slirp" -mindepth 2 2>/dev/null)" ] || fail "slirp4netns state left: $(find "$work/slirp")"
}

failed=0
run_case() {  # NAME FUNCTION ARGS...
  local name=$1 rc=0; shift
  # A subshell per case: a failure ends that case only. errexit must be set inside and the
  # subshell must not be part of a condition, or bash ignores errexit in it.
  set +e
  (
    set -e
    trap 'echo "line $LINENO: $BASH_COMMAND failed" >&2' ERR
    "$@"
  ) >"$work/$name.log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    echo "PASS $name"
  else
    echo "FAIL $name"
    sed 's/^/    /' "$work/$name.log"
    failed=$((failed + 1))
  fi
}

run_case loopback-1.0.0 lifecycle interop-c1 loopback.conflist:lo
run_case loopback+bridge+host-local-1.0.0 lifecycle interop-c2 loopback.conflist:lo bridge.conflist:eth0
run_case ptp+host-local-1.0.0 lifecycle interop-c3 ptp-1.0.0.conflist:eth0
run_case ptp+host-local-0.4.0 lifecycle interop-c4 ptp-0.4.0.conflist:eth0
run_case ptp+host-local-0.3.1 lifecycle interop-c5 ptp-0.3.1.conflist:eth0
run_case cache:bridge+portmap-1.0.0 cache_compare interop-c6 cache-bridge.conflist:eth0 \
  "IgnoreUnknown=1;K8S_POD_NAME=web" \
  '{"mac":"c2:11:22:33:44:55","portMappings":[{"hostPort":18080,"containerPort":80,"protocol":"tcp"}]}' true
run_case cache:ptp-0.4.0 cache_compare interop-c7 cache-ptp.conflist:net1 "" "" false
if command -v slirp4netns >/dev/null; then
  run_case slirp4netns-1.0.0 slirp_lifecycle interop-c8
else
  echo "SKIP slirp4netns-1.0.0: slirp4netns not installed"
fi

if [ "$var_lib_cni_existed" = no ] && [ -e /var/lib/cni ]; then
  echo "FAIL sandbox: /var/lib/cni was created on the machine during the run"
  failed=$((failed + 1))
fi
if [ "$failed" -eq 0 ]; then
  echo "PASS interop.libcni (plugins from $plugin_dir, nsnet $nsnet_bin)"
else
  echo "FAIL interop.libcni: $failed failed (plugins from $plugin_dir)"
  exit 1
fi
