#!/usr/bin/env bash
# Builds the release preset and runs the benchmarks in tests/bench, nsnet's plugins side by side
# with Debian's reference plugins (containernetworking-plugins, /usr/lib/cni). Needs root: the
# benchmark makes its own network namespaces.
# Usage: scripts/bench.sh [google-benchmark flags for the start-up benchmark, e.g.
#        --benchmark_filter=ADD]
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$NSNET_ROOT"
install_packages "${NSNET_BUILD_PACKAGES[@]}" "${NSNET_TEST_PACKAGES[@]}"
build_preset release
plugins=$NSNET_ROOT/build/release/plugins/bin
log "plugin start-up and loopback (Google Benchmark)"
build/release/tests/nsnet_bench --nsnet-plugins="$plugins" --reference-plugins=/usr/lib/cni \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true "$@"
log "host-local IPAM"
build/release/tests/nsnet_ipam_bench --nsnet-plugins="$plugins" --reference-plugins=/usr/lib/cni
log "main plugins (ptp + host-local)"
build/release/tests/nsnet_main_plugin_bench --nsnet-plugins="$plugins" --reference-plugins=/usr/lib/cni
