#!/usr/bin/env bash
# The built man pages: each renders without a warning, names itself, and together they mention
# every command the binary has, so a new command cannot go undocumented.
#   man_pages_test.sh MAN_DIR DOCKER_DELTA
set -euo pipefail
dir=$1 bin=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
pages="docker_delta docker_delta-create docker_delta-apply docker_delta-process docker_delta-inspect docker_delta-inventory"
all=""
for p in $pages; do
  f=$dir/$p.1.gz
  [[ -f $f ]] || fail "man page $p.1.gz was not built"
  # Wide, so that no name is broken at a hyphen across lines.
  text=$(MANWIDTH=2000 man -l "$f" 2>"$dir/.warnings") || fail "man -l $p failed"
  [[ ! -s $dir/.warnings ]] || fail "man -l $p warned: $(head -2 "$dir/.warnings")"
  lexgrog "$f" | grep "\"$p - " >/dev/null || fail "$p has no NAME line that whatis reads"
  all+=$text
done
rm -f "$dir/.warnings"
for c in $("$bin" --help | awk '/^Subcommands:/ {on=1; next} on && /^[^ ]/ {on=0} on && /^  [a-z]/ {print $1}'); do
  grep -qw -- "$c" <<<"$all" || fail "no man page mentions the command '$c'"
done
echo "man pages: $(wc -w <<<"$pages") pages render cleanly and cover every command"
