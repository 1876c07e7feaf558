#!/usr/bin/env bash
# Builds the release preset and runs the benchmarks in tests/bench, nsnet's plugins side by side
# with Debian's reference plugins (containernetworking-plugins, /usr/lib/cni). Needs root: the
# benchmark makes its own network namespaces.
# Usage: scripts/bench.sh [google-benchmark flags for the start-up benchmark, e.g.
#        --benchmark_filter=ADD]
# NSNET_MAIN_BENCH_ARGS: extra flags for the main-plugin benchmark; the default run (1,000
# sequential bridge ADDs per side) takes minutes, "--sequential=100 --parallel-total=16" does not.
# NSNET_USERNET_BENCH_ARGS: extra flags for tests/bench/usernet_bench.sh (e.g. --samples=10).
# NSNET_LAB_BENCH_ARGS: extra flags for tests/bench/lab_bench.sh (e.g. --runs=1).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$NSNET_ROOT"
install_packages "${NSNET_BUILD_PACKAGES[@]}" "${NSNET_TEST_PACKAGES[@]}"
build_preset release -DNSNET_BUILD_BENCHMARKS=ON
plugins=$NSNET_ROOT/build/release/plugins/bin
log "plugin start-up and loopback (Google Benchmark)"
build/release/tests/nsnet_bench --nsnet-plugins="$plugins" --reference-plugins=/usr/lib/cni \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true "$@"
log "host-local IPAM"
build/release/tests/nsnet_ipam_bench --nsnet-plugins="$plugins" --reference-plugins=/usr/lib/cni
log "main plugins (bridge and ptp + host-local: latency, 1,000 sequential, parallel)"
# shellcheck disable=SC2086  # the flags are meant to split into words
build/release/tests/nsnet_main_plugin_bench --nsnet-plugins="$plugins" --reference-plugins=/usr/lib/cni \
  ${NSNET_MAIN_BENCH_ARGS-}
log "portmap (ADD+DEL against the reference; connection setup to the first and last of 1,000 ports)"
build/release/tests/nsnet_portmap_bench --nsnet-plugins="$plugins" --reference-plugins=/usr/lib/cni
log "the full chained conflist (conf/40-chain.conflist), ADD and DEL"
build/release/tests/nsnet_chain_bench --nsnet-plugins="$plugins" --reference-plugins=/usr/lib/cni \
  --conf="$NSNET_ROOT/conf/40-chain.conflist"
log "nsnet run against unshare, and against unshare + the reference plugins"
build/release/tests/nsnet_launcher_bench --nsnet="$NSNET_ROOT/build/release/bin/nsnet" \
  --nsnet-plugins="$plugins" --reference-plugins=/usr/lib/cni --conf="$NSNET_ROOT/conf/00-nsnet.conflist"
log "rootless user-mode networking: nsnet run with slirp4netns and pasta (start-to-ready, iperf3, connect)"
install_packages iperf3 slirp4netns passt jq
# shellcheck disable=SC2086  # the flags are meant to split into words
tests/bench/usernet_bench.sh --nsnet="$NSNET_ROOT/build/release/bin/nsnet" ${NSNET_USERNET_BENCH_ARGS-}
log "nsnet lab: up, full-mesh check and down of 2..16-node clusters with 8 pods each"
# shellcheck disable=SC2086
tests/bench/lab_bench.sh --nsnet="$NSNET_ROOT/build/release/bin/nsnet" ${NSNET_LAB_BENCH_ARGS-}
