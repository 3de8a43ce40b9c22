#!/usr/bin/env bash
# Bash completion (completions/docker_delta.bash), driven as bash drives it: COMP_WORDS and
# COMP_CWORD set, the completion function called, COMPREPLY read.
#   completion_test.sh DOCKER_DELTA SOURCE_DIR
set -euo pipefail
bin=$(readlink -f "$1") src=$(readlink -f "$2")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/cwd/layout.d"; touch "$work/cwd/app-v1.tar"
ln -s "$(readlink -f "$bin")" "$work/bin/docker_delta"
export PATH=$work/bin:$PATH
cd "$work/cwd"
# shellcheck disable=SC1091
source "$src/completions/docker_delta.bash"
fail() { echo "FAIL: $*" >&2; exit 1; }
# complete WORD... -> the candidates for the last word, one line
complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _docker_delta; echo "${COMPREPLY[*]}"; }
expect() { local want=$1; shift; local got; got=$(complete_words "$@"); [[ $got == "$want" ]] || fail "'$*<TAB>' gave '$got', want '$want'"; }
expect_has() { local want=$1; shift; local got; got=$(complete_words "$@"); [[ " $got " == *" $want "* ]] || fail "'$*<TAB>' gave '$got', lacks '$want'"; }

expect "create" docker_delta cr
expect_has "--base" docker_delta apply --
expect_has "--dry-run" docker_delta apply --
expect_has "--format" docker_delta process x --
expect "auto bar json none" docker_delta --progress ""
expect "zstd suffix xdelta3 bsdiff layer" docker_delta create --base a.tar -m ""
expect "oci:layout.d/" docker_delta process oci:la
expect "docker-archive:app-v1.tar" docker_delta apply pkg docker-archive:app
expect_has "app-v1.tar" docker_delta process a
expect_has "exclude:" docker_delta process --filter ex
expect_has "--verbose" docker_delta --
# Every command the binary has is offered, and nothing else.
want=$("$bin" --help | awk '/^Subcommands:/ {on=1; next} on && /^[^ ]/ {on=0} on && /^  [a-z]/ {print $1}' | sort | tr '\n' ' ')
got=$(complete_words docker_delta "" | tr ' ' '\n' | sort | tr '\n' ' ')
[[ $got == "$want" ]] || fail "commands offered: '$got', the binary has: '$want'"
# The plugin link completes the same way.
expect "create" docker-delta cr
echo "bash completion: commands, options, values, transports and paths"
