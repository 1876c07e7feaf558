#!/usr/bin/env bash
# The main job: installs what is missing, builds nsnet (release preset), and shows `nsnet run`:
# a command in a full set of new namespaces (mount, uts, ipc, net, pid with a fresh /proc,
# cgroup) on the default network (bridge nsnet0, 10.88.0.0/16, masquerade), showing its
# interfaces and a TCP round trip to a server on the host side; then --detach, ps, exec, stop;
# then the rootless path: an unprivileged user's container, root inside, on slirp4netns.
# Needs root. Everything happens in a sandbox: a private network namespace as the "host" and
# private /run and /var/lib/cni, so the machine is left as it was.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$NSNET_ROOT"

nsnet=$NSNET_ROOT/build/release/bin/nsnet
if [ "${1-}" != --sandbox ]; then
  [ "$(id -u)" -eq 0 ] || die "run as root: the demo creates network namespaces"
  install_packages "${NSNET_BUILD_PACKAGES[@]}" "${NSNET_RUN_PACKAGES[@]}" "${NSNET_DEMO_PACKAGES[@]}"
  log "building nsnet and its plugins (release preset)"
  cmake --preset release -S "$NSNET_ROOT" -DNSNET_BUILD_TESTS=OFF >/dev/null
  cmake --build --preset release --target nsnet -- -j"$(nproc)"
  # A fresh network namespace as the host, private mounts for /run and /var/lib/cni.
  exec unshare --mount --net --propagation private "$0" --sandbox
fi
mount -t tmpfs nsnet-demo /run
if [ -d /var/lib/cni ]; then mount -t tmpfs nsnet-demo /var/lib/cni
else mount -t tmpfs nsnet-demo /var/lib && mkdir /var/lib/cni; fi
ip link set lo up

# The "host side" server: an echo server on every address of the sandbox host.
socat TCP-LISTEN:7777,fork,reuseaddr EXEC:cat &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT

log "nsnet run --hostname demo -- bash -c '...'   (a full namespace set on the default network)"
"$nsnet" run --hostname demo -- bash -c '
  echo "inside: pid $$, hostname $(hostname), $(ls /proc | grep -c "^[0-9]") processes in /proc"
  ip -brief address
  ip route
  exec 3<>/dev/tcp/10.88.0.1/7777
  echo "ping from the container" >&3
  read -r reply <&3
  echo "TCP round trip to the host side (10.88.0.1:7777): \"$reply\""'
echo "(exit status $?)"

log "exit status and signals are the command's"
"$nsnet" run --network none -- sh -c 'exit 3' || echo "nsnet run -- sh -c 'exit 3' -> $?"

log "nsnet run --detach --name web --publish 8080:80 -- sleep 60; nsnet ps; nsnet exec; nsnet stop"
"$nsnet" run --detach --name web --publish 8080:80 -- sleep 60
"$nsnet" ps
"$nsnet" exec web -- sh -c 'echo "exec inside web: hostname $(hostname), pid $$, eth0 $(ip -brief -4 address show eth0 | awk "{print \$3}")"'
"$nsnet" stop web

log "rootless: as user nobody, nsnet run --network slirp4netns:allow_host_loopback=true -- bash -c '...'"
# /dev/net/tun is 0666 on a normal system; where it is not, the user gets a 0666 node of its own,
# bound in this sandbox's mount namespace only.
if ! setpriv --reuid 65534 --regid 65534 --clear-groups test -w /dev/net/tun; then
  mknod /run/tun c 10 200 && chmod 0666 /run/tun && mount --bind /run/tun /dev/net/tun
fi
install -d -o 65534 -g 65534 -m 0700 /run/user-nobody
setpriv --reuid 65534 --regid 65534 --clear-groups \
  env XDG_RUNTIME_DIR=/run/user-nobody HOME=/run/user-nobody \
  "$nsnet" run --network slirp4netns:allow_host_loopback=true -- bash -c '
  echo "outside: user nobody (uid 65534); inside: uid $(id -u), uid_map \"$(tr -s " " </proc/self/uid_map)\""
  ip -brief address show tap0
  exec 3<>/dev/tcp/10.0.2.2/7777
  echo "ping from the rootless container" >&3
  read -r reply <&3
  echo "TCP round trip through slirp4netns to the host side (10.0.2.2 -> 127.0.0.1:7777): \"$reply\""'
echo "(exit status $?; slirp4netns processes left: $(pgrep -c -x slirp4netns || true))"

log "nsnet lab up conf/lab/vxlan-4nodes.json; nsnet lab check vxlan4; nsnet lab down vxlan4"
"$nsnet" lab up "$NSNET_ROOT/conf/lab/vxlan-4nodes.json"
"$nsnet" lab exec vxlan4 n1/p1 -- ip route
"$nsnet" lab check vxlan4
"$nsnet" lab down vxlan4

log "after teardown: host links, IPAM reservations, result cache, nsnet and lab state"
ip -brief link
ls /run/cni/networks/nsnet /var/lib/cni/results /run/nsnet /run/nsnet-lab
