#!/usr/bin/env bash
# Installs nsnet's CNI plugins and a pod-network conflist on a cluster node (or any CNI host):
# nsnet-cni copied into the bin dir with one symlink per plugin name, and a conflist of bridge
# (+ host-local) -> portmap -> bandwidth in the conf dir. Every file is written to a temporary
# name in its target directory and renamed over the old one, so a runtime never reads a
# half-written conflist nor execs a half-copied binary; what is already as wanted is left alone.
# Installed as ${prefix}/share/nsnet/install-node.sh; see --help.
set -euo pipefail
export LC_ALL=C

prog=${0##*/}
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly prog script_dir

usage() {
  cat <<EOF
Usage: $prog [options] (--pod-cidr CIDR | --pod-cidr-from-api)
       $prog --uninstall [--bin-dir DIR] [--conf-dir DIR] [--conflist FILE] [--network-name NAME]

Installs nsnet's CNI plugins into a bin dir (nsnet-cni once, each plugin name a symlink to it,
replacing a reference plugin of that name) and writes a conflist for this node's pod network:
bridge cni0 with host-local IPAM over the pod CIDR(s), then portmap, then bandwidth.
Files are replaced atomically (temporary file + rename); unchanged files are not touched.

Options:
  --source DIR           plugin dir holding nsnet-cni and its symlinks (default: the installed
                         ../../libexec/nsnet/cni next to this script, else the build tree's
                         build/release/plugins/bin)
  --bin-dir DIR          where runtimes look for plugins (default /opt/cni/bin)
  --conf-dir DIR         where runtimes read network configs (default /etc/cni/net.d)
  --pod-cidr CIDR        this node's pod range; repeat or separate with commas for dual-stack
                         (one IPv4 and/or one IPv6 range)
  --pod-cidr-from-api    read the pod range(s) from this node's object in the Kubernetes API
                         (.spec.podCIDRs, else .spec.podCIDR), as a pod of a DaemonSet: needs
                         NODE_NAME, the service account token and CA, KUBERNETES_SERVICE_HOST
                         and KUBERNETES_SERVICE_PORT, and curl and jq
  --api-timeout SECONDS  how long to wait for the API and for the node's pod CIDR to be
                         assigned (default 60; 0 = one attempt)
  --cluster-cidr CIDR    a range never masqueraded (bridge ipMasqExclude): the cluster's pod
                         range(s); repeat or separate with commas
  --mtu N                MTU of the bridge and the pods' interfaces (68-65535; default: the
                         kernel's, 1500) - e.g. 1450 under a VXLAN overlay
  --network-name NAME    the conflist's network name (default nsnet)
  --conflist FILE        the conflist's file name in the conf dir (default 10-nsnet.conflist)
  --dry-run              print what would change; write nothing
  --uninstall            remove what this script installs: the plugin names that are symlinks
                         to nsnet-cni, nsnet-cni, and the conflist if it names NAME
  -h, --help             this text

Output: one line per change ("installed", "replaced", "linked", "wrote", "removed"; "would ..."
with --dry-run), then a summary: "N changed, M unchanged", or "nothing to do: M unchanged".
Exit status: 0 done, 1 failed, 2 usage error (unknown option, invalid CIDR or value).

Environment for --pod-cidr-from-api (overridable so that it can be tested):
  NODE_NAME                        the node's name (from the downward API: spec.nodeName)
  NSNET_K8S_API_URL                API base URL (default https://\$KUBERNETES_SERVICE_HOST:\$KUBERNETES_SERVICE_PORT)
  NSNET_K8S_SERVICEACCOUNT_DIR     token and ca.crt (default /var/run/secrets/kubernetes.io/serviceaccount)
  NSNET_K8S_ALLOW_HTTP=1           accept a plain http:// API URL (tests only)
EOF
}

die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
usage_error() { printf '%s: %s (see --help)\n' "$prog" "$*" >&2; exit 2; }
warn() { printf '%s: warning: %s\n' "$prog" "$*" >&2; }

# --- address validation (pure bash: the image needs no ipcalc) ---------------------------------

# parse_ipv4 ADDR: sets REPLY to the address as a 32-bit integer; fails on anything but a
# dotted quad of decimal octets without leading zeros (as Go's net.ParseIP since 1.17).
parse_ipv4() {
  local octet='(0|[1-9][0-9]{0,2})' o value=0
  [[ $1 =~ ^$octet\.$octet\.$octet\.$octet$ ]] || return 1
  for o in "${BASH_REMATCH[@]:1:4}"; do
    ((o <= 255)) || return 1
    value=$((value << 8 | o))
  done
  REPLY=$value
}

# parse_ipv6 ADDR: sets REPLY to the address as 8 space-separated 16-bit integers; accepts "::"
# once and a trailing dotted quad (::ffff:10.0.0.0).
parse_ipv6() {
  local a=${1,,} head tail g
  local -a groups=() head_groups=() tail_groups=()
  [[ $a =~ ^[0-9a-f:.]+$ && $a == *:* ]] || return 1
  if [[ $a == *.* ]]; then
    parse_ipv4 "${a##*:}" || return 1
    a="${a%:*}:$(printf '%x:%x' $((REPLY >> 16)) $((REPLY & 0xffff)))"
  fi
  if [[ $a == *::* ]]; then
    head=${a%%::*} tail=${a#*::}
    [[ $tail != *::* ]] || return 1
    [[ -z $head ]] || IFS=: read -ra head_groups <<<"$head"
    [[ -z $tail ]] || IFS=: read -ra tail_groups <<<"$tail"
    ((${#head_groups[@]} + ${#tail_groups[@]} <= 7)) || return 1
    groups=("${head_groups[@]}")
    for ((g = ${#head_groups[@]} + ${#tail_groups[@]}; g < 8; g++)); do groups+=(0); done
    groups+=("${tail_groups[@]}")
    # "a::" and "::a" are fine; "a:::b", ":a::" and "::a:" are not.
    [[ $head != :* && $head != *: && $tail != :* && $tail != *: ]] || return 1
  else
    IFS=: read -ra groups <<<"$a"
    [[ $a != *: ]] || return 1
    ((${#groups[@]} == 8)) || return 1
  fi
  REPLY=
  for g in "${groups[@]}"; do
    [[ $g =~ ^[0-9a-f]{1,4}$ ]] || return 1
    REPLY+="$((16#$g)) "
  done
  REPLY=${REPLY% }
}

# check_cidr WHAT CIDR MAX_PREFIX_V4 MAX_PREFIX_V6: sets REPLY to 4 or 6; prints one line and
# fails when CIDR is not a network address in CIDR notation with a prefix up to the maximum.
check_cidr() {
  local what=$1 cidr=$2 max4=$3 max6=$4 addr prefix i host_bits mask
  local -a g
  if [[ $cidr != */* ]]; then
    printf '%s: %s %q: not in CIDR notation (ADDRESS/PREFIX)\n' "$prog" "$what" "$cidr" >&2
    return 1
  fi
  addr=${cidr%/*} prefix=${cidr#*/}
  if ! [[ $prefix =~ ^(0|[1-9][0-9]{0,2})$ ]]; then
    printf '%s: %s %q: invalid prefix length\n' "$prog" "$what" "$cidr" >&2
    return 1
  fi
  if parse_ipv4 "$addr"; then
    if ((prefix > 32)); then
      printf '%s: %s %q: IPv4 prefix length over 32\n' "$prog" "$what" "$cidr" >&2
      return 1
    fi
    mask=$(((0xffffffff << (32 - prefix)) & 0xffffffff))
    if ((REPLY & ~mask & 0xffffffff)); then
      local net=$((REPLY & mask))
      printf '%s: %s %q: not a network address (did you mean %d.%d.%d.%d/%d?)\n' "$prog" "$what" \
        "$cidr" $((net >> 24)) $((net >> 16 & 255)) $((net >> 8 & 255)) $((net & 255)) "$prefix" >&2
      return 1
    fi
    if ((prefix > max4)); then
      printf '%s: %s %q: too small for pods (at most /%d)\n' "$prog" "$what" "$cidr" "$max4" >&2
      return 1
    fi
    REPLY=4
  elif parse_ipv6 "$addr"; then
    if ((prefix > 128)); then
      printf '%s: %s %q: IPv6 prefix length over 128\n' "$prog" "$what" "$cidr" >&2
      return 1
    fi
    read -ra g <<<"$REPLY"
    for ((i = 0; i < 8; i++)); do
      host_bits=$((16 * (i + 1) - prefix))
      ((host_bits > 0)) || continue
      ((host_bits > 16)) && host_bits=16
      if ((g[i] & ((1 << host_bits) - 1))); then
        printf '%s: %s %q: not a network address (host bits set after /%d)\n' "$prog" "$what" \
          "$cidr" "$prefix" >&2
        return 1
      fi
    done
    if ((prefix > max6)); then
      printf '%s: %s %q: too small for pods (at most /%d)\n' "$prog" "$what" "$cidr" "$max6" >&2
      return 1
    fi
    REPLY=6
  else
    printf '%s: %s %q: not an IPv4 or IPv6 address\n' "$prog" "$what" "$cidr" >&2
    return 1
  fi
}

# add_pod_cidrs FAIL_STATUS LIST: validates a comma-separated list into pod_cidrs (at most one
# range per family); exits with FAIL_STATUS on a bad one.
add_pod_cidrs() {
  local status=$1 cidr family existing
  local -a list
  IFS=, read -ra list <<<"$2"
  ((${#list[@]})) || usage_error "--pod-cidr: empty value"
  for cidr in "${list[@]}"; do
    check_cidr "pod CIDR" "$cidr" 30 126 || exit "$status"
    family=$REPLY
    for existing in "${pod_cidrs[@]}"; do
      if [[ ($family == 4 && $existing != *:*) || ($family == 6 && $existing == *:*) ]]; then
        printf '%s: pod CIDR %s: a second IPv%s range (%s is one; host-local gives each pod one address per range)\n' \
          "$prog" "$cidr" "$family" "$existing" >&2
        exit "$status"
      fi
    done
    pod_cidrs+=("${cidr,,}")
  done
}

add_cluster_cidrs() {
  local cidr
  local -a list
  IFS=, read -ra list <<<"$1"
  ((${#list[@]})) || usage_error "--cluster-cidr: empty value"
  for cidr in "${list[@]}"; do
    check_cidr "cluster CIDR" "$cidr" 32 128 || exit 2
    cluster_cidrs+=("${cidr,,}")
  done
}

# --- options ------------------------------------------------------------------------------------

source_dir='' bin_dir=/opt/cni/bin conf_dir=/etc/cni/net.d network_name=nsnet
conflist_name=10-nsnet.conflist mtu='' from_api=0 api_timeout=60 dry_run=0 uninstall=0
pod_cidrs=() cluster_cidrs=()

while (($#)); do
  opt=$1 value='' has_value=0
  if [[ $opt == --*=* ]]; then
    value=${opt#*=} opt=${opt%%=*} has_value=1
  fi
  case $opt in
    --source | --bin-dir | --conf-dir | --pod-cidr | --cluster-cidr | --mtu | --network-name | \
      --conflist | --api-timeout)
      if ((!has_value)); then
        (($# >= 2)) || usage_error "$opt needs a value"
        value=$2
        shift
      fi
      ;;
    *) ((!has_value)) || usage_error "$opt takes no value" ;;
  esac
  case $opt in
    --source) source_dir=$value ;;
    --bin-dir) bin_dir=$value ;;
    --conf-dir) conf_dir=$value ;;
    --pod-cidr) add_pod_cidrs 2 "$value" ;;
    --pod-cidr-from-api) from_api=1 ;;
    --api-timeout) api_timeout=$value ;;
    --cluster-cidr) add_cluster_cidrs "$value" ;;
    --mtu) mtu=$value ;;
    --network-name) network_name=$value ;;
    --conflist) conflist_name=$value ;;
    --dry-run) dry_run=1 ;;
    --uninstall) uninstall=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage_error "unknown option: $opt" ;;
  esac
  shift
done

[[ -n $bin_dir ]] || usage_error "--bin-dir: empty value"
[[ -n $conf_dir ]] || usage_error "--conf-dir: empty value"
# libcni's rule for network names.
[[ $network_name =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ ]] ||
  usage_error "--network-name $(printf %q "$network_name"): use letters, digits, '_', '.', '-'"
[[ $conflist_name =~ ^[a-zA-Z0-9_][a-zA-Z0-9_.-]*\.conflist$ ]] ||
  usage_error "--conflist $(printf %q "$conflist_name"): a file name ending in .conflist"
if [[ -n $mtu ]] && ! [[ $mtu =~ ^[1-9][0-9]{1,4}$ && $mtu -ge 68 && $mtu -le 65535 ]]; then
  usage_error "--mtu $(printf %q "$mtu"): a number from 68 to 65535"
fi
[[ $api_timeout =~ ^[0-9]{1,5}$ ]] || usage_error "--api-timeout $(printf %q "$api_timeout"): seconds"

if ((uninstall)); then
  if ((from_api)) || ((${#pod_cidrs[@]})) || ((${#cluster_cidrs[@]})) || [[ -n $mtu ]]; then
    usage_error "--uninstall takes no pod network options"
  fi
else
  if ((from_api)) && ((${#pod_cidrs[@]})); then
    usage_error "--pod-cidr and --pod-cidr-from-api exclude each other"
  fi
  ((from_api)) || ((${#pod_cidrs[@]})) || usage_error "give --pod-cidr CIDR or --pod-cidr-from-api"
fi

# --- the Kubernetes API -------------------------------------------------------------------------

# Prints the node's pod CIDRs, comma-separated; waits up to api_timeout for the API to answer and
# for the controller manager to assign a range (a node that just registered has none yet).
pod_cidrs_from_api() {
  local sa_dir=${NSNET_K8S_SERVICEACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
  local url=${NSNET_K8S_API_URL:-} host port token response code body cidrs deadline line
  local -a curl_args
  command -v curl >/dev/null || die "--pod-cidr-from-api needs curl"
  command -v jq >/dev/null || die "--pod-cidr-from-api needs jq"
  [[ -n ${NODE_NAME:-} ]] || die "--pod-cidr-from-api: NODE_NAME is not set (downward API: spec.nodeName)"
  [[ $NODE_NAME =~ ^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$ ]] ||
    die "NODE_NAME $(printf %q "$NODE_NAME"): not a node name"
  if [[ -z $url ]]; then
    host=${KUBERNETES_SERVICE_HOST:-} port=${KUBERNETES_SERVICE_PORT:-}
    [[ -n $host && -n $port ]] ||
      die "--pod-cidr-from-api: KUBERNETES_SERVICE_HOST/PORT are not set (not in a pod?)"
    [[ $host == *:* ]] && host="[$host]"
    url="https://$host:$port"
  fi
  url=${url%/}
  case $url in
    https://*) curl_args=(--cacert "$sa_dir/ca.crt") ;;
    http://*)
      [[ ${NSNET_K8S_ALLOW_HTTP:-} == 1 ]] ||
        die "refusing plain-HTTP API URL $url (NSNET_K8S_ALLOW_HTTP=1 allows it, for tests)"
      curl_args=()
      ;;
    *) die "API URL $url: not http(s)" ;;
  esac
  [[ -r $sa_dir/token ]] || die "cannot read the service account token $sa_dir/token"
  token=$(<"$sa_dir/token")
  url+="/api/v1/nodes/$NODE_NAME"
  deadline=$((SECONDS + api_timeout))
  while :; do
    # The token goes through stdin, not the command line (which /proc shows to everyone).
    if response=$(printf 'Authorization: Bearer %s\n' "$token" |
      curl --silent --show-error --noproxy '*' --connect-timeout 5 --max-time 15 \
        --header @- --header 'Accept: application/json' --write-out '\n%{http_code}' \
        "${curl_args[@]}" "$url" 2>&1); then
      code=${response##*$'\n'} body=${response%$'\n'*}
      case $code in
        200)
          cidrs=$(jq -r '(.spec.podCIDRs // []) as $all
                         | if ($all | length) > 0 then $all | join(",") else .spec.podCIDR // "" end' \
            <<<"$body") || die "GET $url: the answer is not a node object"
          [[ -z $cidrs ]] || { printf '%s\n' "$cidrs"; return 0; }
          response="node $NODE_NAME has no spec.podCIDR yet (does kube-controller-manager run with --allocate-node-cidrs and --cluster-cidr?)"
          ;;
        401 | 403 | 404) die "GET $url: HTTP $code: $(head -c 300 <<<"$body")" ;;
        *) response="HTTP $code" ;;
      esac
    else
      # curl's error line (it may go on for lines of advice, then the --write-out code)
      while IFS= read -r line; do
        if [[ $line == curl:* ]]; then break; fi
      done <<<"$response"
      response=${line:-curl failed}
      [[ $response == curl:* ]] || response="curl failed"
    fi
    ((SECONDS < deadline)) || die "GET $url: ${response##*$'\n'}"
    sleep 2
  done
}

# --- changes ------------------------------------------------------------------------------------

changed=0 unchanged=0 tmp=''
trap '[[ -z $tmp ]] || rm -f -- "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

change() {  # change DONE TO_DO WHAT...: "DONE WHAT...", or with --dry-run "would TO_DO WHAT..."
  local done=$1 to_do=$2
  shift 2
  changed=$((changed + 1))
  if ((dry_run)); then printf 'would %s %s\n' "$to_do" "$*"; else printf '%s %s\n' "$done" "$*"; fi
}

# A temporary name in DIR that no runtime reads (libcni loads only *.conf, *.conflist, *.json).
make_tmp() { tmp=$(mktemp -- "$1/.$2.nsnet-tmp.XXXXXX") || die "cannot create a file in $1"; }

commit_tmp() {  # commit_tmp DEST: renames the temporary file over DEST
  mv -T -- "$tmp" "$1" || die "cannot rename $tmp to $1"
  tmp=''
}

ensure_dir() {
  [[ -d $1 ]] && return 0
  [[ ! -e $1 ]] || die "$1 exists and is not a directory"
  change created create "$1"
  ((dry_run)) || mkdir -p -- "$1" || die "cannot create $1"
}

# install_file SRC DEST MODE: DEST becomes a copy of SRC, unless it already is one.
install_file() {
  local src=$1 dest=$2 mode=$3 verb=(installed install)
  if [[ -f $dest && ! -L $dest ]] && cmp -s -- "$src" "$dest"; then
    if [[ $(stat -c %a -- "$dest") == "$mode" ]]; then
      unchanged=$((unchanged + 1))
      return 0
    fi
  fi
  [[ ! -e $dest && ! -L $dest ]] || verb=(replaced replace)
  change "${verb[@]}" "$dest"
  ((dry_run)) && return 0
  make_tmp "${dest%/*}" "${dest##*/}"
  cp -- "$src" "$tmp" || die "cannot copy $src to $tmp"
  chmod "$mode" -- "$tmp"
  sync -- "$tmp"  # the data is on disk before the name points at it
  commit_tmp "$dest"
}

# install_link NAME TARGET DIR: DIR/NAME becomes a symlink to TARGET (relative: it stays valid
# whatever path the directory is mounted at).
install_link() {
  local name=$1 target=$2 dir=$3 dest="$3/$1" what
  if [[ -L $dest && $(readlink -- "$dest") == "$target" ]]; then
    unchanged=$((unchanged + 1))
    return 0
  fi
  if [[ -L $dest ]]; then
    what=" (was a link to $(readlink -- "$dest"))"
  elif [[ -d $dest ]]; then
    die "$dest is a directory; not replacing it"
  elif [[ -e $dest ]]; then
    what=" (replaces a plugin binary)"
  else
    what=''
  fi
  change linked link "$dest -> $target$what"
  ((dry_run)) && return 0
  make_tmp "$dir" "$name"
  rm -f -- "$tmp"  # mktemp reserved the name; ln makes the link under it
  ln -s -- "$target" "$tmp" || die "cannot create the link $tmp"
  commit_tmp "$dest"
}

# write_text DEST CONTENT MODE: DEST holds exactly CONTENT, unless it already does.
write_text() {
  local dest=$1 content=$2 mode=$3 verb=(wrote write)
  if [[ -f $dest && ! -L $dest ]] && cmp -s -- "$dest" <(printf '%s' "$content"); then
    unchanged=$((unchanged + 1))
    return 0
  fi
  [[ ! -e $dest && ! -L $dest ]] || verb=(rewrote rewrite)
  change "${verb[@]}" "$dest"
  ((dry_run)) && return 0
  make_tmp "${dest%/*}" "${dest##*/}"
  printf '%s' "$content" >"$tmp" || die "cannot write $tmp"
  chmod "$mode" -- "$tmp"
  sync -- "$tmp"
  commit_tmp "$dest"
}

remove() {
  change removed remove "$1"
  ((dry_run)) || rm -f -- "$1" || die "cannot remove $1"
}

json_list() {  # json_list ITEM...: ["a", "b"]
  local out='' item
  for item in "$@"; do out+="${out:+, }\"$item\""; done
  printf '[%s]' "$out"
}

conflist_json() {
  local ranges='' routes='' cidr
  for cidr in "${pod_cidrs[@]}"; do
    ranges+="${ranges:+, }[{\"subnet\": \"$cidr\"}]"
    if [[ $cidr == *:* ]]; then
      routes+="${routes:+, }{\"dst\": \"::/0\"}"
    else
      routes+="${routes:+, }{\"dst\": \"0.0.0.0/0\"}"
    fi
  done
  printf '{\n  "cniVersion": "1.0.0",\n  "name": "%s",\n  "plugins": [\n' "$network_name"
  printf '    {\n      "type": "bridge",\n      "bridge": "cni0",\n'
  printf '      "isGateway": true,\n      "ipMasq": true,\n'
  ((${#cluster_cidrs[@]})) && printf '      "ipMasqExclude": %s,\n' "$(json_list "${cluster_cidrs[@]}")"
  printf '      "hairpinMode": true,\n'
  [[ -z $mtu ]] || printf '      "mtu": %d,\n' "$mtu"
  printf '      "ipam": {\n        "type": "host-local",\n'
  printf '        "ranges": [%s],\n        "routes": [%s]\n      }\n    },\n' "$ranges" "$routes"
  printf '    {\n      "type": "portmap",\n      "capabilities": {"portMappings": true},\n'
  printf '      "snat": true\n    },\n'
  printf '    {\n      "type": "bandwidth",\n      "capabilities": {"bandwidth": true}\n    }\n'
  printf '  ]\n}\n'
}

summary() {
  if ((changed)); then
    printf '%d %s, %d unchanged\n' "$changed" "$( ((dry_run)) && echo 'would change' || echo changed)" \
      "$unchanged"
  else
    printf 'nothing to do: %d unchanged\n' "$unchanged"
  fi
}

# --- uninstall ----------------------------------------------------------------------------------

if ((uninstall)); then
  conflist="$conf_dir/$conflist_name"
  # Ours: the layout this script writes, with this network name.
  if [[ -f $conflist ]] && grep -qxF "  \"name\": \"$network_name\"," -- "$conflist" &&
    grep -qxF '      "bridge": "cni0",' -- "$conflist"; then
    remove "$conflist"
  elif [[ -e $conflist ]]; then
    warn "$conflist is not nsnet's network $network_name; leaving it"
  fi
  if [[ -d $bin_dir ]]; then
    for path in "$bin_dir"/*; do
      if [[ -L $path ]] && [[ $(readlink -- "$path") == @(nsnet-cni|"$bin_dir/nsnet-cni") ]]; then
        remove "$path"
      fi
    done
    if [[ -f $bin_dir/nsnet-cni && ! -L $bin_dir/nsnet-cni ]]; then remove "$bin_dir/nsnet-cni"; fi
  fi
  summary
  exit 0
fi

# --- install ------------------------------------------------------------------------------------

if [[ -z $source_dir ]]; then
  if [[ -f $script_dir/../../libexec/nsnet/cni/nsnet-cni ]]; then
    source_dir=$script_dir/../../libexec/nsnet/cni
  elif [[ -f $script_dir/../build/release/plugins/bin/nsnet-cni ]]; then
    source_dir=$script_dir/../build/release/plugins/bin
  else
    usage_error "no plugins next to this script (../../libexec/nsnet/cni) nor a build (build/release/plugins/bin): give --source DIR"
  fi
fi
[[ -d $source_dir ]] || usage_error "--source $source_dir: not a directory"
[[ -f $source_dir/nsnet-cni && -x $source_dir/nsnet-cni ]] ||
  usage_error "--source $source_dir: no executable nsnet-cni there"
plugins=()
for path in "$source_dir"/*; do  # links to nsnet-cni, relative (the build's) or absolute
  if [[ -L $path && $(readlink -- "$path") =~ (^|/)nsnet-cni$ ]]; then plugins+=("${path##*/}"); fi
done
((${#plugins[@]})) || die "$source_dir has no plugin names linked to nsnet-cni"

if ((from_api)); then
  api_cidrs=$(pod_cidrs_from_api)  # an assignment, so that its failure ends the script
  add_pod_cidrs 1 "$api_cidrs"
fi

# Binaries first, the config last: a runtime starts using the network when the conflist appears.
ensure_dir "$bin_dir"
install_file "$source_dir/nsnet-cni" "$bin_dir/nsnet-cni" 755
for name in "${plugins[@]}"; do install_link "$name" nsnet-cni "$bin_dir"; done

ensure_dir "$conf_dir"
for path in "$conf_dir"/*.conf "$conf_dir"/*.conflist "$conf_dir"/*.json; do
  if [[ -f $path && ${path##*/} < $conflist_name ]]; then
    warn "$path sorts before $conflist_name: a runtime that loads one network (containerd, CRI-O) uses that one"
  fi
done
write_text "$conf_dir/$conflist_name" "$(conflist_json)"$'\n' 644

summary
