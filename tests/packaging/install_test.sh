#!/usr/bin/env bash
# `cmake --install` into a temporary DESTDIR: checks the installed tree, then runs the *installed*
# nsnet and plugins through ADD/CHECK/DEL of conf/10-bridge.conflist, and the default network read
# from the installed share/nsnet/conf, inside a sandbox (private mount and network namespaces,
# tmpfs /run and /var/lib/cni, a netns made there). Nothing outside $tmp and the sandbox is
# touched: no link, route or rule on the machine, nothing in /opt, /usr or /etc.
# Root; exits 77 (skipped) without it.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR PLUGIN...
set -euo pipefail

if [ "${1:-}" = --in-sandbox ]; then
  in_sandbox=1
  shift
fi
build=${1:?usage: install_test.sh BUILD_DIR SOURCE_DIR PLUGIN...}
src=${2:?usage: install_test.sh BUILD_DIR SOURCE_DIR PLUGIN...}
shift 2
plugins=("$@")

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# ---- Part 2, inside the sandbox: $tmp is inherited through the environment.
if [ "${in_sandbox:-}" = 1 ]; then
  root=$tmp/root
  mount -t tmpfs tmpfs /run
  if [ -d /var/lib/cni ]; then mount -t tmpfs tmpfs /var/lib/cni; fi  # never mkdir'ed on the host
  ip link set lo up
  ip netns add ctr
  export CNI_PATH=$root/opt/cni/bin NETCONFPATH=$root/usr/share/nsnet/conf
  nsnet=$root/usr/bin/nsnet
  cache=$tmp/cache

  # 10-bridge.conflist ("nsnet-bridge": bridge nsnet3, 10.91.0.0/16 and fd00:91::/64).
  "$nsnet" net --cache-dir "$cache" add nsnet-bridge /run/netns/ctr >"$tmp/add.json" ||
    fail "installed nsnet net add nsnet-bridge"
  grep -q '"10\.91\.' "$tmp/add.json" || fail "ADD result has no 10.91.0.0/16 address: $(cat "$tmp/add.json")"
  grep -q 'inet 10\.91\.' <<<"$(ip -n ctr -o addr show dev eth0)" || fail "the container's eth0 has no 10.91 address"
  ip -o link show nsnet3 >/dev/null || fail "no bridge nsnet3 in the sandbox"
  "$nsnet" net --cache-dir "$cache" check nsnet-bridge /run/netns/ctr || fail "installed nsnet net check"
  "$nsnet" net --cache-dir "$cache" del nsnet-bridge /run/netns/ctr || fail "installed nsnet net del"
  if ip -n ctr link show eth0 >/dev/null 2>&1; then fail "eth0 left in the container after DEL"; fi
  if [ -n "$(ip -o link show type veth)" ]; then fail "veth left after DEL: $(ip -o link show type veth)"; fi
  leftover=$(find /run/cni/networks/nsnet-bridge -type f ! -name lock ! -name 'last_reserved_ip.*' 2>/dev/null || true)
  [ -z "$leftover" ] || fail "IPAM allocations left after DEL: $leftover"
  [ -z "$(find "$cache" -type f 2>/dev/null)" ] || fail "cached results left after DEL"
  if command -v nft >/dev/null && grep -q 'ctr\|10\.91\.' <<<"$(nft list ruleset)"; then
    fail "nft rules left after DEL: $(nft list ruleset)"
  fi

  # The default network "nsnet", absent from NETCONFPATH: read from the installed
  # share/nsnet/conf/00-nsnet.conflist (found relative to the installed nsnet), not the compiled-in
  # copy. The installed file is edited to tell the two apart: bridge nsinst0 instead of nsnet0.
  sed -i 's/"nsnet0"/"nsinst0"/' "$root/usr/share/nsnet/conf/00-nsnet.conflist"
  mkdir "$tmp/empty"
  ip netns add ctr2
  NETCONFPATH=$tmp/empty "$nsnet" net --cache-dir "$cache" add nsnet /run/netns/ctr2 >/dev/null ||
    fail "installed nsnet net add nsnet (the default network)"
  ip -o link show nsinst0 >/dev/null || fail "the default network did not come from the installed file"
  NETCONFPATH=$tmp/empty "$nsnet" net --cache-dir "$cache" del nsnet /run/netns/ctr2 ||
    fail "installed nsnet net del nsnet"
  if [ -n "$(ip -o link show type veth)" ]; then fail "veth left after DEL of the default network"; fi
  echo "sandbox: ADD/CHECK/DEL through the installed plugins passed"
  exit 0
fi

# ---- Part 1, on the machine: install into $tmp and check the tree.
[ "$(id -u)" -eq 0 ] || { echo "install_test: needs root (the sandbox), skipped"; exit 77; }
[ ${#plugins[@]} -gt 0 ] || fail "no plugin names given"
tmp=$(mktemp -d)
export tmp
trap 'rm -rf "$tmp"' EXIT
opt_before=$(ls -a /opt/cni 2>&1 || true)
root=$tmp/root

DESTDIR=$root cmake --install "$build" --prefix /usr >"$tmp/install.log" ||
  { cat "$tmp/install.log" >&2; fail "cmake --install"; }
# Every path installed is inside DESTDIR.
outside=$(grep -E '^-- (Installing|Up-to-date):' "$tmp/install.log" | grep -v ": $root/" || true)
[ -z "$outside" ] || fail "installed outside DESTDIR: $outside"

[ -x "$root/usr/bin/nsnet" ] || fail "no usr/bin/nsnet"
bin=$root/opt/cni/bin
if [ ! -f "$bin/nsnet-cni" ] || [ -L "$bin/nsnet-cni" ] || [ ! -x "$bin/nsnet-cni" ]; then fail "no opt/cni/bin/nsnet-cni"; fi
for plugin in "${plugins[@]}"; do
  [ -L "$bin/$plugin" ] || fail "opt/cni/bin/$plugin is not a link"
  [ "$(readlink "$bin/$plugin")" = nsnet-cni ] || fail "opt/cni/bin/$plugin -> $(readlink "$bin/$plugin"), not nsnet-cni"
done
[ "$(find "$bin" -mindepth 1 | wc -l)" -eq $((${#plugins[@]} + 1)) ] || fail "unexpected files in opt/cni/bin: $(ls "$bin")"
CNI_COMMAND=VERSION "$bin/bridge" </dev/null | grep -q '"supportedVersions"' || fail "installed bridge VERSION"

conf=$root/usr/share/nsnet/conf
for file in "$src"/conf/*.conflist "$src"/conf/*.conf "$src"/conf/lab/*; do
  rel=${file#"$src"/conf/}
  cmp -s "$file" "$conf/$rel" || fail "share/nsnet/conf/$rel missing or different"
done
[ -f "$conf/00-nsnet.conflist" ] || fail "no default network in share/nsnet/conf"
[ ! -e "$root/etc" ] || fail "something was installed under /etc: $(find "$root/etc")"
[ ! -e "$root/usr/lib/cni" ] || fail "something was installed under /usr/lib/cni"

completion=$root/usr/share/bash-completion/completions/nsnet
[ -f "$completion" ] || fail "no bash completion"
bash -c "source '$completion' && complete -p nsnet" >/dev/null || fail "the completion does not register"

if [ -d "$build/launcher/man" ]; then
  for page in nsnet nsnet-run nsnet-net nsnet-lab nsnet-ps nsnet-exec nsnet-stop nsnet-gc; do
    man=$root/usr/share/man/man1/$page.1.gz
    gzip -t "$man" 2>/dev/null || fail "no valid share/man/man1/$page.1.gz"
    title=${page^^}
    grep -q "^\.TH $title \"1\"" <<<"$(zcat "$man")" || fail "$page.1: no .TH $title"
    grep -q '^\.SH SYNOPSIS' <<<"$(zcat "$man")" || fail "$page.1: no SYNOPSIS"
  done
else
  echo "man pages were not built (no help2man when configured): not checked"
fi

unshare -m -n --propagation private bash "$0" --in-sandbox "$build" "$src" "${plugins[@]}"

[ "$(ls -a /opt/cni 2>&1 || true)" = "$opt_before" ] || fail "/opt/cni on the machine changed"
echo "install: all checks passed"
