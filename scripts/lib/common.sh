# Shared by the scripts in scripts/: package installation and the build.
# shellcheck shell=bash

NSNET_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Debian 12 packages, by purpose.
NSNET_BUILD_PACKAGES=(
  cmake ninja-build g++ pkg-config
  help2man                      # man pages generated from --help (launcher/CMakeLists.txt)
  libnl-3-dev libnl-route-3-dev nlohmann-json3-dev
  libnl-nf-3-dev                # ctnetlink: portmap flushes stale UDP conntrack entries
  libnftables-dev               # header only: netcore::fw dlopen()s libnftables.so.1
  libboost-dev libboost-filesystem-dev libspdlog-dev libfmt-dev libcli11-dev
  libssl-dev                    # SHA-512: nsnet net derives container IDs as cnitool does
)
NSNET_TEST_PACKAGES=(
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  clang-14 libclang-rt-14-dev   # the asan preset: clang's ASan/UBSan, and libFuzzer for tests/fuzz
  clang-tidy-22                 # scripts/tidy.sh (bookworm-security), the checked-in .clang-tidy
  iproute2                      # `ip -j` cross-checks of what netcore did
  nftables                      # `nft -j` cross-checks of what netcore::fw did
  containernetworking-plugins   # the reference plugins, for differential tests (/usr/lib/cni)
  golang-go golang-github-appc-cni-dev  # libcni (Go sources) for tests/interop: a real runtime client
  jq                            # tests/interop checks results and `ip -j` output with it
  iptables                      # the reference portmap and firewall (1.1.1) rule with iptables
  iperf3                        # bandwidth: measured rates against configured ones
  graphviz                      # nsnet lab graph --svg, and the check that dot accepts our graphs
  uidmap                        # newuidmap/newgidmap: nsnet run's rootless id-range tests
  slirp4netns passt             # rootless networking: nsnet run --network slirp4netns|pasta, the slirp4netns plugin
  socat                         # servers behind published ports in the rootless tests
  python3-yaml                  # tests/packaging: the Kubernetes manifest parses
  curl                          # tests/packaging: install-node.sh --pod-cidr-from-api (with jq)
)
NSNET_RUN_PACKAGES=(
  iproute2 util-linux
  libnftables1                  # dlopen()ed for masquerade, portmap and firewall
  uidmap                        # newuidmap/newgidmap: nsnet run --map-auto, --map-users
  libssl3                       # nsnet net: cnitool's container ID is a SHA-512
  slirp4netns                   # rootless networking, the default when not root (passt: pasta)
)
NSNET_DEMO_PACKAGES=(socat)     # the demo's echo server on the host side

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs whichever of the given packages are missing; runs apt-get update only when needed.
install_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = 'install ok installed' ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}); run as root or install them"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Configures (with the tests) and builds one CMake preset (release | asan).
build_preset() {  # build_preset PRESET [CMAKE_ARGS...]
  local preset=$1
  shift
  log "building preset $preset"
  cmake --preset "$preset" -S "$NSNET_ROOT" -DNSNET_BUILD_TESTS=ON "$@" >/dev/null
  cmake --build --preset "$preset" -- -j"$(nproc)"
}
