#!/usr/bin/env bash
# Installs what is missing, builds both presets (release, asan) and runs every test under each,
# then the fuzz targets for a few seconds each; clang-tidy checks the whole tree meanwhile.
# Exits non-zero if any test, fuzz target or clang-tidy check fails, or if the run left anything
# on the machine.
# Usage: scripts/test.sh [ctest arguments...]    e.g. scripts/test.sh -L unit
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
cd "$NSNET_ROOT"

install_packages "${NSNET_BUILD_PACKAGES[@]}" "${NSNET_TEST_PACKAGES[@]}"

# What the machine has before the run; compared afterwards. Tests run in their own namespaces,
# so none of this may change.
snapshot() {
  ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
  if [ -d /run/netns ]; then find /run/netns -mindepth 1 | sort; fi
  if [ -d /var/lib/cni ]; then find /var/lib/cni -mindepth 1 | sort; fi
}
before=$(snapshot)

status=0
# Within CI's time budget: the benchmarks are not built (scripts/bench.sh builds them), and the
# sanitizer build keeps line tables but not full debug info (-g1: ASan's reports still name file
# and line; measured 15-20% less compile time).
build_preset release -DNSNET_BUILD_BENCHMARKS=OFF

# clang-tidy needs a compile database, not a build: it runs in the background from here on, at a
# lower priority, on the CPU the tests leave idle while they wait on the kernel, on plugins and on
# timeouts, and on the build's single-threaded tail. Its report comes at the end.
# In a process group of its own, so that a run that stops early (a failed build) ends it too.
tidy_log=$(mktemp)
tidy_pid=
stop_tidy() {
  if [ -n "$tidy_pid" ]; then kill -- -"$tidy_pid" 2>/dev/null || true; fi
  rm -f "$tidy_log"
}
trap stop_tidy EXIT
setsid nice -n 10 scripts/tidy.sh >"$tidy_log" 2>&1 &
tidy_pid=$!

# Most tests wait more than they compute (namespaces, plugin execs, sleeps in the probes): three
# per core keep both busy. The long ones are scheduled first (COST, tests/CMakeLists.txt).
test_jobs=${NSNET_TEST_JOBS:-$((3 * $(nproc)))}
run_tests() {  # run_tests PRESET [CTEST_ARGS...]
  local preset=$1
  shift
  log "testing preset $preset"
  ctest --preset "$preset" -j"$test_jobs" "$@" || status=1
}
run_tests release "$@"
build_preset asan -DCMAKE_CXX_FLAGS_DEBUG=-g1
# The differential tests and the libcni interop test compare nsnet's behaviour with the reference
# plugins' and libcni's; that behaviour is the same in both builds, and the release run covers it.
# The sanitizer run, where everything runs several times slower, checks nsnet's own code through
# the plugins' own tests. The packaging tests check scripts and the release build's
# install tree, which the sanitizer build does not change.
run_tests asan -E 'Differential|Reference|interop|packaging' "$@"

# The fuzz targets, built by the asan preset (clang, libFuzzer): a bounded run, 3 s each from their
# seed corpora, a target per core (scripts/fuzz.sh 600 is the long run).
NSNET_FUZZ_PRESET=asan scripts/fuzz.sh 3 || status=1

log "waiting for clang-tidy"
wait "$tidy_pid" || status=1
tidy_pid=
cat "$tidy_log" >&2

after=$(snapshot)
if [ "$before" != "$after" ]; then
  log "the test run left state on the machine:"
  diff <(echo "$before") <(echo "$after") >&2 || true
  status=1
fi

if [ "$status" -eq 0 ]; then log "all tests passed"; else log "FAILED"; fi
exit "$status"
