#!/usr/bin/env bash
# Hostile delta packages: real packages made by `create`, then forged (digests kept consistent)
# to ask the receiver for external programs, huge windows and dictionaries, unbounded gzip
# recompression, a tiny patch that rebuilds 1 GiB, and an 8 MiB header. Each must end quickly in
# one clear line, exit 1, within 256 MiB, run no program beyond the fixed decoder, and leave
# nothing at the destination.
. "$(dirname "$0")/lib.sh"

A1=$FIXTURES/app-v1.buildah.docker.tar
A2=$FIXTURES/app-v2.buildah.docker.tar
FORGE=$E2E_DIR/../fixtures/make-hostile-packages.py
MAX_RSS_KIB=$((256 * 1024))
MAX_SECONDS=20
command -v strace >/dev/null || skip "strace is not installed (tests/fixtures/packages.txt)"
[[ -x /usr/bin/time ]] || skip "/usr/bin/time is not installed"

package() { # package METHOD MODE: a genuine package made with METHOD (once), forged by MODE into hostile.dd
    local genuine=$E2E_TMP/genuine-$1.dd
    [[ -e $genuine ]] || expect_ok create -m "$1" --base "$A1" "$A2" "$genuine"
    python3 "$FORGE" "$genuine" hostile.dd "$2"
}

# hostile_apply REGEX [ALLOWED_PROGRAM]: apply hostile.dd under strace and /usr/bin/time.
hostile_apply() {
    local re=$1 allowed=${2:-} rc=0
    mkdir dest
    timeout --kill-after=5 "$MAX_SECONDS" strace -f -qq -e trace=execve -o execs.txt \
        /usr/bin/time -f "%e %M" -o usage.txt \
        "$DOCKER_DELTA" apply --base "$A1" hostile.dd "docker-archive:dest/out.tar" >out.txt 2>err.txt </dev/null || rc=$?
    local err seconds rss
    err=$(cat err.txt)
    read -r seconds rss < <(grep -E '^[0-9.]+ [0-9]+$' usage.txt || echo "? ?")
    echo "  measured: ${seconds}s, max RSS ${rss} KiB, exit $rc: $err" >&2
    ((rc != 124 && rc != 137)) || fail "did not end within ${MAX_SECONDS}s"
    ((rc == 1)) || fail "expected exit 1, got $rc: $err"
    [[ $(wc -l <err.txt) -eq 1 && $err == "docker_delta: error: "* ]] || fail "expected one error line, got: $err"
    grep -Eiq -- "$re" <<<"$err" || fail "error does not match /$re/: $err"
    ((rss < MAX_RSS_KIB)) || fail "peak RSS ${rss} KiB is not under $MAX_RSS_KIB KiB"
    # Programs started: docker_delta (and time) itself, and at most the one fixed decoder.
    local programs
    programs=$(grep -oE 'execve\("[^"]+"' execs.txt | sed 's/execve("//; s/"$//' | xargs -rn1 basename | sort -u |
        grep -vxE "time|docker_delta${allowed:+|$allowed}" || true)
    [[ -z $programs ]] || fail "the receiver ran: $programs"
    assert_dir_empty dest
}

xdelta3_case() { package xdelta3 "$1"; hostile_apply "$2" xdelta3; }
t "xdelta3: an application header asking for gzip recompression" xdelta3_case xdelta3-apphead "application header"
t "xdelta3: lzma secondary compression" xdelta3_case xdelta3-secondary "secondary compression"
t "xdelta3: a window asking for secondary compression" xdelta3_case xdelta3-window "secondary compression"
t "xdelta3: a gzip-compressed VCDIFF" xdelta3_case xdelta3-gzipped "not a VCDIFF"

bsdiff_1g() { package bsdiff bsdiff-1g; hostile_apply "diff_id|digest"; }
t "bsdiff: a few KB rebuilding 1 GiB is streamed, then refused by its diff_id" bsdiff_1g

gzip_case() { package zstd "$1"; hostile_apply "$2" gzip; }
t "zstd delta: 100000 gzip operations in one segment" gzip_case gzip-many "more than 4096 gzip operations"
t "zstd delta: 2000 segments recompressing 16 MiB each" gzip_case gzip-content "recompress more than|run gzip more than"

patch_case() { package zstd "$1"; hostile_apply "$2"; }
t "zstd delta v2: 4000 patches reading 4 GiB of the base for 4 KB" patch_case patch-reads "reads more than [0-9]+ bytes of its base layers"
t "zstd delta v2: a patch whose source lies past its base" patch_case patch-past-base "references bytes"

zstd_delta_w31() { package zstd zstd-delta-w31; hostile_apply "zstd window"; }
t "zstd delta: a frame declaring window log 31" zstd_delta_w31

whole_case() { package zstd "$1"; hostile_apply "$2"; }
t "whole layer: zstd with window log 31" whole_case zstd-layer-w31 "window larger than"
t "whole layer: xz declaring a 768 MiB dictionary" whole_case xz-dict768 "needs [0-9]+ MiB to decompress, more than"

header_8mib() { package zstd header-8mib; hostile_apply "base|layer"; }
t "an 8 MiB header of many small objects" header_8mib

finish
