#!/usr/bin/env bash
# The bash completion (conf/completion/nsnet.bash): sources it, sets COMP_WORDS/COMP_CWORD as bash
# would, calls _nsnet and checks COMPREPLY. A fake `nsnet` answers `lab ls --json` and
# `ps --json`; NETCONFPATH is a temporary dir. No privileges; touches nothing outside $tmp.
# Usage: completion_test.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: completion_test.sh SOURCE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# shellcheck source=/dev/null
source "$src/conf/completion/nsnet.bash"

cat >"$tmp/nsnet" <<'FAKE'
#!/bin/sh
case "$*" in
  "lab ls --json") printf '[\n  {\n    "name": "lab-a",\n    "pods": 2\n  },\n  {\n    "name": "lab-b"\n  }\n]\n' ;;
  "ps --json") printf '[\n  {\n    "id": "web",\n    "networks": [{"id": "nested"}]\n  }\n]\n' ;;
esac
FAKE
chmod +x "$tmp/nsnet"
mkdir "$tmp/net.d"
printf '{\n  "cniVersion": "1.1.0",\n  "name": "mynet",\n  "plugins": []\n}\n' >"$tmp/net.d/10-my.conflist"
printf '{"cniVersion":"1.0.0","name":"compact","type":"loopback"}' >"$tmp/net.d/99-lo.conf"
echo 'not a network' >"$tmp/net.d/README"
export NETCONFPATH=$tmp/net.d

failures=0
# expect WORDS... :: EXPECTED...: completes the last word of WORDS (may be '') and compares the
# sorted COMPREPLY with the sorted EXPECTED.
expect() {
  local words=() expected=()
  while [ "$1" != "::" ]; do words+=("$1"); shift; done
  shift
  expected=("$@")
  COMP_WORDS=("$tmp/nsnet" "${words[@]}")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _nsnet
  local got want
  got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | sed '/^$/d')
  want=$(printf '%s\n' "${expected[@]}" | sort | sed '/^$/d')
  if [ "$got" != "$want" ]; then
    echo "FAIL: nsnet ${words[*]}<TAB>: got [${got//$'\n'/ }], want [${want//$'\n'/ }]" >&2
    failures=$((failures + 1))
  fi
}

expect '' :: run ps exec stop gc net lab --help --version
expect l :: lab
expect lab '' :: up down ls exec check graph --help
expect lab d :: down
expect lab down '' :: lab-a lab-b
expect lab check lab- :: lab-a lab-b
expect lab check --t :: --timeout
expect lab ls --j :: --json
expect net '' :: add check del gc status --cache-dir --help
expect net add '' :: nsnet mynet compact
expect net del my :: mynet
expect run --network '' :: none host slirp4netns pasta nsnet mynet compact
expect run --network = sl :: slirp4netns
expect run --propagation s :: shared slave
expect run --map-r :: --map-root-user
expect run --publish '' ::
expect stop '' :: web
expect exec w :: web
expect ps -- :: --json --help
expect gc --c :: --cni-path

# Everything in COMPREPLY stays inside bash: the function leaked no variables.
for var in cur prev verb _nsnet_cmd n_args lab_verb; do
  if declare -p "$var" >/dev/null 2>&1; then
    echo "FAIL: _nsnet leaked the variable $var" >&2
    failures=$((failures + 1))
  fi
done

if [ "$failures" -ne 0 ]; then
  echo "$failures completion check(s) failed" >&2
  exit 1
fi
echo "completion: all checks passed"
