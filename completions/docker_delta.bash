# bash completion for docker_delta (and docker-delta, the docker CLI plugin link).
# Commands and options are read from the program's own --help, once per shell, so they never
# drift from the binary; option values, transports and paths are completed here.

_docker_delta_help_cache=()

# The commands: the "Subcommands:" section of `docker_delta --help`.
_docker_delta_commands() {
    local bin=$1
    "$bin" --help 2>/dev/null | awk '/^Subcommands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^[^ ]/ {on=0}'
}

# The long and short options of a command (or the global ones), from its --help.
_docker_delta_options() {
    local bin=$1 cmd=$2 key=${2:-_global}
    local i
    for i in "${!_docker_delta_help_cache[@]}"; do
        [[ ${_docker_delta_help_cache[i]%%=*} == "$key" ]] && { echo "${_docker_delta_help_cache[i]#*=}"; return; }
    done
    local opts
    opts=$("$bin" ${cmd:+"$cmd"} --help 2>/dev/null | grep -oE '^  +(-[a-zA-Z],)?--[a-z-]+' | tr ',' ' ' | tr -s ' ' '\n' | grep -v '^$' | tr '\n' ' ')
    _docker_delta_help_cache+=("$key=$opts")
    echo "$opts"
}

_docker_delta_transports="docker-archive: oci: oci-archive: dir: archive: delta: docker-daemon: search:"

# Paths after an optional "TYPE:" prefix, which is kept.
_docker_delta_paths() {
    local cur=$1 prefix="" path=$1
    if [[ $cur == *:* ]]; then
        prefix=${cur%%:*}:
        path=${cur#*:}
    fi
    local IFS=$'\n' p
    for p in $(compgen -f -- "$path"); do
        if [[ -d $p ]]; then COMPREPLY+=("$prefix$p/"); else COMPREPLY+=("$prefix$p"); fi
    done
}

_docker_delta() {
    local cur prev bin=${COMP_WORDS[0]}
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    COMPREPLY=()
    # `docker-delta` is the plugin link; the program behind it answers --help the same way.
    [[ $(basename -- "$bin") == docker-delta ]] && bin=docker_delta
    command -v "$bin" >/dev/null 2>&1 || bin=docker_delta

    # The command is the first word that is not an option or an option's value.
    local cmd="" i w commands
    commands=$(_docker_delta_commands "$bin")
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        [[ $w == -* ]] && continue
        if grep -qx -- "$w" <<<"$commands"; then cmd=$w; break; fi
    done

    case $prev in
        --progress) mapfile -t COMPREPLY < <(compgen -W "auto bar json none" -- "$cur"); return ;;
        --format) mapfile -t COMPREPLY < <(compgen -W "docker-archive oci oci-archive dir" -- "$cur"); return ;;
        --compress) mapfile -t COMPREPLY < <(compgen -W "none gzip zstd" -- "$cur"); return ;;
        -m|--method) mapfile -t COMPREPLY < <(compgen -W "zstd suffix xdelta3 bsdiff layer" -- "$cur"); return ;;
        -c|--compression) mapfile -t COMPREPLY < <(compgen -W "zstd gzip bzip2 xz none" -- "$cur"); return ;;
        --load-layers) mapfile -t COMPREPLY < <(compgen -W "auto all missing" -- "$cur"); return ;;
        --platform) mapfile -t COMPREPLY < <(compgen -W "linux/amd64 linux/arm64 linux/arm/v7 linux/386 linux/ppc64le linux/s390x" -- "$cur"); return ;;
        --filter) mapfile -t COMPREPLY < <(compgen -W "platform: dedupe delta: exclude: normalize-timestamps" -- "$cur"); compopt -o nospace 2>/dev/null; return ;;
        --host) mapfile -t COMPREPLY < <(compgen -W "unix:///var/run/docker.sock tcp://" -- "$cur"); return ;;
        -l|--level|--max-expansion) return ;;
        -o|--output|--inventory) _docker_delta_paths "$cur"; compopt -o nospace 2>/dev/null; return ;;
    esac

    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_docker_delta_options "$bin" "$cmd")" -- "$cur")
        return
    fi
    if [[ -z $cmd ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
        return
    fi
    # Arguments: a transport, or a path (after a transport prefix or bare).
    compopt -o nospace 2>/dev/null
    if [[ $cur != *:* ]]; then
        local t
        for t in $_docker_delta_transports; do [[ $t == "$cur"* ]] && COMPREPLY+=("$t"); done
    fi
    _docker_delta_paths "$cur"
}

complete -F _docker_delta docker_delta docker-delta
