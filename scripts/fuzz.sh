#!/usr/bin/env bash
# Builds the fuzz preset (clang 14, libFuzzer, ASan+UBSan; tests/fuzz) and runs each fuzz target
# for SECONDS_PER_TARGET on a copy of its seed corpus (tests/fuzz/corpus/<target>/) in a temporary
# directory: the checked-in corpus is never written. Prints one line per target: executions,
# coverage, new corpus entries, result. Exits non-zero on any crash, sanitizer report, leak,
# timeout (one input running > 10 s) or OOM (> 2 GiB); the reproducer and the log are kept in
# $NSNET_FUZZ_ARTIFACTS (default: a new build/fuzz/artifacts/<date-time>/ per run) and their paths
# printed; replay with `build/fuzz/fuzz/fuzz_<target> <file>`.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 60 s, every target)
#   scripts/fuzz.sh 600             the long run: ten minutes per target
#   scripts/fuzz.sh 3               a bounded run: ~3 s per target, about a minute in all
#   scripts/fuzz.sh 60 result topology
# Targets are the executables' names without "fuzz_" (result, bridge_config, ...).
# NSNET_BUILD_JOBS sets the build's parallelism (default: nproc), NSNET_FUZZ_JOBS how many targets
# run at once (default: nproc; each is one process on one core). NSNET_FUZZ_PRESET=asan runs the
# targets of the asan preset's build instead (clang too, with the fuzzers: what scripts/test.sh
# does, so CI compiles nsnet with clang once).
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$NSNET_ROOT"

seconds=${1:-60}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "SECONDS_PER_TARGET must be a positive integer, got '$seconds'"
shift $(($# > 0 ? 1 : 0))

fuzz_dir=$NSNET_ROOT/tests/fuzz
preset=${NSNET_FUZZ_PRESET:-fuzz}
bin_dir=$NSNET_ROOT/build/$preset/fuzz
artifacts=${NSNET_FUZZ_ARTIFACTS:-$NSNET_ROOT/build/$preset/artifacts/$(date +%Y%m%d-%H%M%S)}

command -v clang++-14 >/dev/null || die "clang++-14 is missing (apt-get install clang-14)"
log "building preset $preset"
cmake --preset "$preset" -S "$NSNET_ROOT" >/dev/null
cmake --build --preset "$preset" -- -j"${NSNET_BUILD_JOBS:-$(nproc)}"

work=$(mktemp -d -t nsnet-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"

# Leaks are findings (libFuzzer's -detect_leaks defaults on with ASan); UB already aborts
# (-fno-sanitize-recover=all). Symbolized stacks in the log.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Every executable the build made, or the ones named.
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for binary in "$bin_dir"/fuzz_*; do
    name=$(basename "$binary")
    # One executable behind the plugins' config targets, run as each of them.
    [ "$name" = fuzz_plugin_config ] || targets+=("${name#fuzz_}")
  done
fi
for target in "${targets[@]}"; do
  [ -x "$bin_dir/fuzz_$target" ] || die "no fuzz target '$target' ($bin_dir/fuzz_$target)"
done

# fuzz_one TARGET: fuzzes it and writes its summary line to $work/TARGET/line; fails on a finding.
fuzz_one() {
  local target=$1 corpus=$work/$1/corpus
  mkdir -p "$corpus"
  if [ -d "$fuzz_dir/corpus/$target" ]; then cp -r "$fuzz_dir/corpus/$target/." "$corpus/"; fi
  local seeds dict log_file=$work/$target/fuzz.log prefix=$artifacts/$target- rc=0
  seeds=$(find "$corpus" -type f | wc -l)
  dict=$fuzz_dir/dict/$target.dict
  [ -f "$dict" ] || dict=$fuzz_dir/dict/json.dict
  "$bin_dir/fuzz_$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -dict="$dict" -artifact_prefix="$prefix" -print_final_stats=1 \
    "$corpus" >"$log_file" 2>&1 || rc=$?

  local execs cov entries reproducer result kind
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log_file" | tail -n1)
  cov=$({ grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log_file" || true; } | tail -n1)
  entries=$(($(find "$corpus" -type f | wc -l) - seeds))
  reproducer=$(find "$artifacts" -maxdepth 1 -type f -name "$target-*" | head -n1)
  if [ "$rc" -eq 0 ] && [ -z "$reproducer" ]; then
    result=ok
  else
    kind=$({ grep -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer): [a-z-]+' "$log_file" ||
             true; } | head -n1)
    if grep -q 'runtime error:' "$log_file"; then kind="UndefinedBehaviorSanitizer; $kind"; fi
    if grep -q 'broken invariant' "$log_file"; then kind="broken invariant; $kind"; fi
    cp "$log_file" "$artifacts/$target.log"
    result="FAILED (${kind:-exit $rc}): reproducer ${reproducer:-none}, log $artifacts/$target.log"
  fi
  printf '%-20s %10s execs  %-22s +%-5s corpus  %s\n' "$target" "${execs:-?}" "${cov:-cov: ?}" \
    "$entries" "$result" >"$work/$target/line"
  [ "$result" = ok ]
}

jobs=${NSNET_FUZZ_JOBS:-$(nproc)}
log "fuzzing ${#targets[@]} targets for ${seconds} s each, $jobs at a time"
status=0
running=0
for target in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
  fuzz_one "$target" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
for target in "${targets[@]}"; do cat "$work/$target/line"; done

if [ "$status" -eq 0 ]; then log "no findings"; else log "FINDINGS: see the reproducers above"; fi
exit "$status"
