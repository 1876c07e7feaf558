#!/usr/bin/env bash
# clang-tidy with the checked-in .clang-tidy over every translation unit of a clang build:
# netcore, plugins, launcher, the tests and the fuzz targets (the unity sources include them, so
# each header and source is parsed about once). Exits non-zero on any finding.
# Usage: scripts/tidy.sh [BUILD_DIR]    (default build/asan: configured with clang, as the asan
#                                         preset is; compile_commands.json comes with it)
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$NSNET_ROOT"

build=${1:-build/asan}
db=$build/compile_commands.json
[ -f "$db" ] || die "no $db: configure a clang build first (cmake --preset asan)"
tidy=$(command -v clang-tidy-14 || command -v clang-tidy || true)
[ -n "$tidy" ] || die "no clang-tidy (Debian package clang-tidy-14)"

# Every entry but the precompiled-header stubs, which hold third-party headers only.
mapfile -t units < <(jq -r '.[].file' "$db" | grep -v '/cmake_pch\.[ch]xx\.cxx$' | sort -u)
[ ${#units[@]} -gt 0 ] || die "no translation units in $db"
log "clang-tidy: ${#units[@]} translation units"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
printf '%s\0' "${units[@]}" |
  xargs -0 -P "$(nproc)" -n 1 "$tidy" -p "$build" --quiet >"$out" 2>&1 || status=1
# clang-tidy counts the suppressed diagnostics of third-party headers ("N warnings generated");
# only the findings are worth printing.
grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$out" || true
if [ "$status" -ne 0 ]; then log "clang-tidy: findings above"; exit 1; fi
log "clang-tidy: clean"
