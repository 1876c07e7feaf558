#!/usr/bin/env bash
# The Debian package: builds it with cpack into a temporary dir, checks its control fields and
# contents, installs it into a throwaway root (dpkg --root, its own empty dpkg database), checks
# the files, removes it and checks that nothing of it is left. Never touches the machine's /opt,
# /usr or dpkg database: as root, cpack runs in a private mount namespace with a tmpfs over /opt
# (an install rule with an absolute destination that escaped CPack's staging dir would land there,
# and fail the test, instead of on the machine).
# Exits 77 (skipped) when cpack, dpkg or dpkg-deb is missing.
# Usage: deb_test.sh BUILD_DIR PLUGIN...
set -euo pipefail
build=${1:?usage: deb_test.sh BUILD_DIR PLUGIN...}
shift
plugins=("$@")

for tool in cpack dpkg dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "deb_test: no $tool, skipped"; exit 77; }
done
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
[ ${#plugins[@]} -gt 0 ] || fail "no plugin names given"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status_before=$(md5sum /var/lib/dpkg/status)
opt_before=$(ls -a /opt/cni 2>&1 || true)

# ---- Build.
cpack_cmd=(cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/out")
if [ "$(id -u)" -eq 0 ]; then
  # shellcheck disable=SC2016  # expanded by the inner bash
  unshare -m --propagation private bash -c '
    log=$1
    shift
    mount -t tmpfs tmpfs /opt || exit 1
    "$@" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
    if [ -n "$(ls -A /opt)" ]; then echo "cpack installed into /opt: $(find /opt)" >&2; exit 2; fi
  ' sandbox "$tmp/cpack.log" "${cpack_cmd[@]}" || fail "cpack (see above)"
else
  "${cpack_cmd[@]}" >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log" >&2; fail cpack; }
fi
debs=("$tmp"/out/*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then fail "cpack made no single .deb: ${debs[*]}"; fi
deb=${debs[0]}

# ---- Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = nsnet ] || fail "Package: $(field Package)"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture: $(field Architecture)"
for name in Version Maintainer Description; do [ -n "$(field $name)" ] || fail "$name empty"; done
depends=$(field Depends)
# The runtime libraries only: libnftables1 (dlopen()ed), and glibc of the version linked in.
remaining=$(echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/ *(.*//' | sort -u | grep -v -x -e libnftables1 -e libc6 || true)
[ -z "$remaining" ] || fail "unexpected dependencies: $depends"
echo "$depends" | grep -q libnftables1 || fail "Depends lacks libnftables1: $depends"
[ "$(field Recommends)" = "slirp4netns, uidmap" ] || fail "Recommends: $(field Recommends)"
[ "$(field Suggests)" = "passt, graphviz" ] || fail "Suggests: $(field Suggests)"
field Description | grep -q /opt/cni/bin || fail "the description does not say where the plugins go"

# ---- Contents.
dpkg-deb -c "$deb" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }' >"$tmp/contents"
has() { grep -q -x -e "$1" "$tmp/contents" || fail "the package lacks $1"; }
has './usr/bin/nsnet'
has './opt/cni/bin/nsnet-cni'
for plugin in "${plugins[@]}"; do has "./opt/cni/bin/$plugin -> nsnet-cni"; done
has './usr/share/nsnet/conf/00-nsnet.conflist'
has './usr/share/nsnet/conf/lab/topology.schema.json'
has './usr/share/bash-completion/completions/nsnet'
if grep -q -e '^\./usr/lib/cni' -e '^\./etc' "$tmp/contents"; then
  fail "the package installs under /usr/lib/cni or /etc: $(grep -e '^\./usr/lib/cni' -e '^\./etc' "$tmp/contents")"
fi
# The binaries are static: the dynamic loader is never needed beyond libnftables' dlopen().
dpkg-deb -x "$deb" "$tmp/x"
for exe in "$tmp/x/usr/bin/nsnet" "$tmp/x/opt/cni/bin/nsnet-cni"; do
  if command -v file >/dev/null; then
    file -b "$exe" | grep -q 'statically linked' || fail "${exe#"$tmp"/x} is not static: $(file -b "$exe")"
  fi
done

# Installed-Size counts each plugin link as a link, not as another copy of nsnet-cni.
real_kib=$(du -s -k --apparent-size "$tmp/x" | cut -f1)
claimed_kib=$(field Installed-Size)
[ "$claimed_kib" -le $((real_kib + real_kib / 20 + 8)) ] ||
  fail "Installed-Size $claimed_kib KiB, but the files take $real_kib KiB"

# ---- Install into a throwaway root, then remove.
r=$tmp/root
mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates"
touch "$r/var/lib/dpkg/status"
dpkg_cmd=(dpkg --root="$r" --log="$tmp/dpkg.log" --force-depends --force-not-root)
"${dpkg_cmd[@]}" -i "$deb" >"$tmp/dpkg-i.log" 2>&1 || { cat "$tmp/dpkg-i.log" >&2; fail "dpkg -i"; }
[ -x "$r/usr/bin/nsnet" ] || fail "usr/bin/nsnet not installed"
[ "$(readlink "$r/opt/cni/bin/bridge")" = nsnet-cni ] || fail "opt/cni/bin/bridge is not a link to nsnet-cni"
CNI_COMMAND=VERSION "$r/opt/cni/bin/loopback" </dev/null | grep -q supportedVersions ||
  fail "the installed loopback does not answer VERSION"
"$r/usr/bin/nsnet" --version | grep -q '^nsnet ' || fail "the installed nsnet --version"
dpkg-query --admindir="$r/var/lib/dpkg" -W -f='${Status}' nsnet | grep -q 'install ok installed' ||
  fail "dpkg does not list nsnet as installed"

"${dpkg_cmd[@]}" -r nsnet >"$tmp/dpkg-r.log" 2>&1 || { cat "$tmp/dpkg-r.log" >&2; fail "dpkg -r"; }
left=$(find "$r" -mindepth 1 -path "$r/var" -prune -o -print)
[ -z "$left" ] || fail "left after dpkg -r: $left"
if dpkg-query --admindir="$r/var/lib/dpkg" -W -f='${Status}' nsnet 2>/dev/null | grep -q -v 'not-installed'; then
  fail "dpkg still knows nsnet: $(dpkg-query --admindir="$r/var/lib/dpkg" -W -f='${Status}' nsnet)"
fi

[ "$(md5sum /var/lib/dpkg/status)" = "$status_before" ] || fail "the machine's dpkg database changed"
[ "$(ls -a /opt/cni 2>&1 || true)" = "$opt_before" ] || fail "/opt/cni on the machine changed"
echo "deb: $(basename "$deb"): Depends: $depends; all checks passed"
