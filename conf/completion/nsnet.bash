# bash completion for nsnet: verbs, `nsnet lab` and `nsnet net` verbs, options, network names
# (from $NETCONFPATH, default /etc/cni/net.d, plus the built-in "nsnet"), lab names
# (`nsnet lab ls --json`) and container ids (`nsnet ps --json`).
# Installed as ${datadir}/bash-completion/completions/nsnet.
# shellcheck disable=SC2207  # COMPREPLY=($(compgen ...)): the completion idiom; words have no blanks

# The "name" of each network file in the CNI config dir.
_nsnet_networks() {
  local dir=${NETCONFPATH:-/etc/cni/net.d} file
  echo nsnet
  for file in "$dir"/*.conflist "$dir"/*.conf "$dir"/*.json; do
    [[ -f $file ]] || continue
    grep -o -m1 '"name"[[:space:]]*:[[:space:]]*"[^"]*"' "$file" 2>/dev/null | head -n1 |
      sed 's/.*"\([^"]*\)"$/\1/'
  done
}

# One top-level string field of the objects in the JSON array that `nsnet ARGS...` prints
# (pretty-printed, two spaces a level): `_nsnet_json_field name lab ls --json`.
_nsnet_json_field() {
  local field=$1
  shift
  "$_nsnet_cmd" "$@" 2>/dev/null | sed -n "s/^    \"$field\": \"\([^\"]*\)\".*/\1/p"
}

# compopt, quiet when called outside of completion (the tests call _nsnet directly).
_nsnet_compopt() { compopt "$@" 2>/dev/null || true; }

_nsnet() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local _nsnet_cmd=${COMP_WORDS[0]} verb=${COMP_WORDS[1]} i n_args=0
  # `--opt=value`: bash splits at '=' (COMP_WORDBREAKS); the option is the word before it.
  if [[ $cur == = ]]; then
    cur='' prev=${COMP_WORDS[COMP_CWORD - 1]}
  elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  fi
  COMPREPLY=()

  if ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W "run ps exec stop gc net lab --help --version" -- "$cur"))
    return
  fi

  case $verb in
  run)
    # After `--` or the command: the command's own words.
    for ((i = 2; i < COMP_CWORD; i++)); do
      if [[ ${COMP_WORDS[i]} == -- ]]; then
        if ((i == COMP_CWORD - 1)); then COMPREPLY=($(compgen -c -- "$cur")); else _nsnet_compopt -o default; fi
        return
      fi
    done
    case $prev in
    --network)
      COMPREPLY=($(compgen -W "none host slirp4netns pasta $(_nsnet_networks)" -- "$cur"))
      COMPREPLY+=($(compgen -f -X '!*.conflist' -- "$cur"))
      return ;;
    --propagation) COMPREPLY=($(compgen -W "private shared slave unchanged" -- "$cur")); return ;;
    --setgroups) COMPREPLY=($(compgen -W "allow deny" -- "$cur")); return ;;
    -R | --root | -w | --wd | --cni-path | --mount-proc) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --name | --hostname | --publish | --dns | -S | --setuid | -G | --setgid | --map-user | \
      --map-group | --map-users | --map-groups | --monotonic | --boottime | --kill-child)
      return ;;
    esac
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "--mount --uts --ipc --net --pid --user --cgroup --time --fork
        --kill-child --mount-proc --propagation --root --wd --setuid --setgid --keep-caps
        --monotonic --boottime --hostname --map-root-user --map-current-user --map-user
        --map-group --map-users --map-groups --map-auto --setgroups --network --publish --dns
        --cni-path --name --detach --help" -- "$cur"))
    else
      COMPREPLY=($(compgen -c -- "$cur"))
    fi
    ;;
  exec | stop)
    if [[ $cur == -* ]]; then
      [[ $verb == stop ]] && COMPREPLY=($(compgen -W "--time --help" -- "$cur"))
      return
    fi
    [[ $prev == -t || $prev == --time ]] && return
    # exec takes one id, then the command; stop takes ids.
    if [[ $verb == exec ]] && ((COMP_CWORD > 2)); then _nsnet_compopt -o default; return; fi
    COMPREPLY=($(compgen -W "$(_nsnet_json_field id ps --json)" -- "$cur"))
    ;;
  ps) COMPREPLY=($(compgen -W "--json --help" -- "$cur")) ;;
  gc)
    if [[ $prev == --cni-path ]]; then COMPREPLY=($(compgen -d -- "$cur")); return; fi
    COMPREPLY=($(compgen -W "--cni-path --help" -- "$cur"))
    ;;
  net)
    if [[ $prev == --cache-dir ]]; then COMPREPLY=($(compgen -d -- "$cur")); return; fi
    if ((COMP_CWORD == 2)); then
      COMPREPLY=($(compgen -W "add check del gc status --cache-dir --help" -- "$cur"))
      return
    fi
    [[ $cur == -* ]] && { COMPREPLY=($(compgen -W "--help" -- "$cur")); return; }
    # NETWORK, then NETNS (a path, e.g. under /run/netns).
    for ((i = 3; i < COMP_CWORD; i++)); do [[ ${COMP_WORDS[i]} == -* ]] || n_args=$((n_args + 1)); done
    if ((n_args == 0)); then
      COMPREPLY=($(compgen -W "$(_nsnet_networks)" -- "$cur"))
      COMPREPLY+=($(compgen -f -X '!*.conflist' -- "$cur"))
    elif ((n_args == 1)); then
      COMPREPLY=($(compgen -f -- "$cur"))
    fi
    ;;
  lab)
    local lab_verb=${COMP_WORDS[2]}
    if ((COMP_CWORD == 2)); then
      COMPREPLY=($(compgen -W "up down ls exec check graph --help" -- "$cur"))
      return
    fi
    for ((i = 3; i < COMP_CWORD; i++)); do [[ ${COMP_WORDS[i]} == -* ]] || n_args=$((n_args + 1)); done
    case $lab_verb in
    up)
      [[ $prev == -j || $prev == --parallel ]] && return
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--parallel --quiet --help" -- "$cur"))
      else
        _nsnet_compopt -o filenames
        COMPREPLY=($(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
      fi
      ;;
    ls) COMPREPLY=($(compgen -W "--json --help" -- "$cur")) ;;
    down | check | exec)
      [[ $prev == --timeout ]] && return
      if [[ $cur == -* ]]; then
        [[ $lab_verb == check ]] && COMPREPLY=($(compgen -W "--json --timeout --help" -- "$cur"))
        return
      fi
      if ((n_args == 0)); then
        COMPREPLY=($(compgen -W "$(_nsnet_json_field name lab ls --json)" -- "$cur"))
      elif [[ $lab_verb == exec ]] && ((n_args >= 2)); then
        _nsnet_compopt -o default
      fi
      ;;
    graph)
      [[ $prev == -o ]] && { _nsnet_compopt -o filenames; COMPREPLY=($(compgen -f -- "$cur")); return; }
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--svg -o --help" -- "$cur"))
      else
        _nsnet_compopt -o filenames
        COMPREPLY=($(compgen -W "$(_nsnet_json_field name lab ls --json)" -- "$cur")
                   $(compgen -f -X '!*.json' -- "$cur") $(compgen -d -- "$cur"))
      fi
      ;;
    esac
    ;;
  esac
}

complete -F _nsnet nsnet
