#!/usr/bin/env bash
# clang-tidy with the checked-in .clang-tidy over every translation unit: netcore, plugins,
# launcher, the tests and the fuzz targets (the unity sources include them, so each header and
# source is parsed about once). Exits non-zero on any finding.
#
# clang-tidy needs a compile database, not a build: this configures its own build dir (clang, the
# asan preset's options, no precompiled headers, which clang-tidy 22 could not read from clang 14)
# and compiles nothing, so it can run beside a build or the tests.
# Usage: scripts/tidy.sh [BUILD_DIR]    (default build/tidy)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$NSNET_ROOT"

build=${1:-build/tidy}
tidy=$(command -v clang-tidy-22 || true)
[ -n "$tidy" ] || die "no clang-tidy-22 (Debian package clang-tidy-22, in bookworm-security)"
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
  -DNSNET_SANITIZE=ON -DNSNET_BUILD_FUZZERS=ON -DNSNET_BUILD_TESTS=ON \
  -DNSNET_BUILD_BENCHMARKS=OFF -DNSNET_PCH=OFF >/dev/null
db=$build/compile_commands.json

mapfile -t units < <(jq -r '.[].file' "$db" | sort -u)
[ ${#units[@]} -gt 0 ] || die "no translation units in $db"
log "clang-tidy: ${#units[@]} translation units"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
# The unity sources live in the build dir, outside the tree: name the config explicitly.
printf '%s\0' "${units[@]}" |
  xargs -0 -P "$(nproc)" -n 1 "$tidy" -p "$build" --config-file=.clang-tidy --quiet \
    >"$out" 2>&1 || status=1
# clang-tidy counts the suppressed diagnostics of third-party headers ("N warnings generated");
# only the findings are worth printing.
grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$out" || true
if [ "$status" -ne 0 ]; then log "clang-tidy: findings above"; exit 1; fi
log "clang-tidy: clean"
