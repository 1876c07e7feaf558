#!/usr/bin/env bash
# Installs what is missing, builds the release preset, and shows the main job: nsnet's loopback
# CNI plugin doing ADD, CHECK and DEL in a throwaway network namespace, as a container runtime
# would call it. Needs root (the plugin configures a network namespace).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$NSNET_ROOT"

[ "$(id -u)" -eq 0 ] || die "run as root: the demo creates a network namespace"
install_packages "${NSNET_BUILD_PACKAGES[@]}" "${NSNET_RUN_PACKAGES[@]}"
log "building the plugins (release preset)"
cmake --preset release -S "$NSNET_ROOT" -DNSNET_BUILD_TESTS=OFF >/dev/null
cmake --build --preset release --target nsnet-cni -- -j"$(nproc)"
plugin_dir=$NSNET_ROOT/build/release/plugins/bin

# The "container": a process in a fresh network namespace. Killing it frees the namespace,
# so nothing is left behind (no /run/netns entry, no link).
unshare --net sleep infinity &
holder=$!
trap 'kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true' EXIT
while [ "$(readlink "/proc/$holder/ns/net" 2>/dev/null)" = "$(readlink /proc/self/ns/net)" ]; do :; done
netns=/proc/$holder/ns/net

cni() {  # cni COMMAND: runs the loopback plugin like a runtime does
  log "CNI_COMMAND=$1 loopback < conf/99-loopback.conf"
  CNI_COMMAND=$1 CNI_CONTAINERID=nsnet-demo CNI_NETNS=$netns CNI_IFNAME=eth0 CNI_PATH=$plugin_dir \
    "$plugin_dir/loopback" < conf/99-loopback.conf && rc=0 || rc=$?
  echo "(exit status $rc)"
}

log "inside the container before ADD:"; nsenter --net="$netns" ip -br addr show lo
cni ADD
log "inside the container after ADD:"; nsenter --net="$netns" ip -br addr show lo
cni CHECK
cni DEL
cni DEL   # DEL is idempotent
log "inside the container after DEL:"; nsenter --net="$netns" ip -br link show lo
log "VERSION:"
echo '{"cniVersion":"1.1.0"}' | CNI_COMMAND=VERSION "$plugin_dir/loopback"; echo
