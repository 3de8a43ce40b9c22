# shellcheck shell=bash
# Shared helpers for the e2e scripts; source it first.
# Environment (defaults suit a run from the repo after building into ./build):
#   DOCKER_DELTA   the binary under test
#   FIXTURES       output of tests/fixtures/build-images.sh
#   BAD_FIXTURES   output of tests/fixtures/make-bad-inputs.sh
#   DOCKERD_ENV    env file written by tests/fixtures/dockerd.sh (docker tests only)
#   DD_TIMEOUT     seconds one docker_delta run may take (default 300)
#   KEEP_TMP=1     keep the scratch dir for a look after a failure
# A script is a list of cases: `t NAME FUNCTION ARGS...`. Each case runs in its
# own subshell with errexit, so a failed assertion ends that case only; `finish`
# prints the summary and sets the exit status.
set -euo pipefail
shopt -s inherit_errexit

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$E2E_DIR/../.." && pwd)
: "${DOCKER_DELTA:=$REPO_DIR/build/docker_delta}"
: "${FIXTURES:=$REPO_DIR/build/test-images/good}"
: "${BAD_FIXTURES:=$REPO_DIR/build/test-images/bad}"
: "${DD_TIMEOUT:=300}"
export DOCKER_DELTA FIXTURES BAD_FIXTURES

[[ -x $DOCKER_DELTA ]] || { echo "FAIL: DOCKER_DELTA=$DOCKER_DELTA is not an executable" >&2; exit 1; }
[[ -e $FIXTURES/.done ]] || { echo "FAIL: FIXTURES=$FIXTURES not built (tests/fixtures/build-images.sh)" >&2; exit 1; }
# shellcheck disable=SC1091
. "$FIXTURES/expected.env"

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dd-e2e.XXXXXX")
_cleanup() {
    # tmpfs mounts made by small_tmpdir go first, so nothing is left mounted.
    local m
    for m in $(findmnt -rn -o TARGET 2>/dev/null | grep -F "$E2E_TMP/" | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
    if [[ ${KEEP_TMP:-0} == 1 ]]; then
        echo "scratch kept in $E2E_TMP"
    else
        rm -rf "$E2E_TMP"
    fi
}
trap _cleanup EXIT

_PASSED=0 _FAILED=0 _SKIPPED=0
_FAILED_NAMES=()

# t NAME FUNCTION [ARGS...]: run one case; it starts in an empty dir ($CASE_DIR).
t() {
    local name=$1; shift
    local slug
    slug=$(printf '%s' "$name" | tr -c 'A-Za-z0-9._-' '_' | cut -c1-80)
    CASE_DIR=$E2E_TMP/$((_PASSED + _FAILED + _SKIPPED))-$slug
    mkdir -p "$CASE_DIR"
    export CASE_DIR
    local rc=0
    set +e
    (
        set -euo pipefail
        cd "$CASE_DIR"
        "$@"
    )
    rc=$?
    set -e
    case $rc in
        0) _PASSED=$((_PASSED + 1)); echo "ok - $name" ;;
        77) _SKIPPED=$((_SKIPPED + 1)); echo "skip - $name" ;;
        *) _FAILED=$((_FAILED + 1)); _FAILED_NAMES+=("$name"); echo "not ok - $name" ;;
    esac
}

# small_tmpdir SIZE: TMPDIR becomes a tmpfs of SIZE (e.g. 1g) for the rest of the case: what a
# run may decompress or spool is bounded by the space it has. Unmounted when the suite ends.
small_tmpdir() {
    local d=$CASE_DIR/small-tmp
    mkdir -p "$d"
    mount -t tmpfs -o size="$1" tmpfs "$d" 2>/dev/null || skip "cannot mount a tmpfs here (needs root)"
    export TMPDIR=$d
}

finish() {
    echo
    if ((_FAILED > 0)); then
        echo "failed cases:"
        printf '  %s\n' "${_FAILED_NAMES[@]}"
    fi
    echo "$(basename "$0" .sh): $_PASSED passed, $_FAILED failed, $_SKIPPED skipped"
    ((_FAILED == 0))
}

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

# ---- running the tool --------------------------------------------------------
# run_dd ARGS...: runs the binary, never fails; sets RC, OUT (stdout), ERR (stderr).
run_dd() {
    local o=$CASE_DIR/.stdout e=$CASE_DIR/.stderr
    RC=0
    timeout --kill-after=10 "$DD_TIMEOUT" "$DOCKER_DELTA" "$@" >"$o" 2>"$e" </dev/null || RC=$?
    OUT=$(cat "$o")
    ERR=$(cat "$e")
    LAST_CMD="docker_delta $*"
    if ((RC == 124 || RC == 137)); then
        fail "timed out after ${DD_TIMEOUT}s: $LAST_CMD"
    fi
    if ((RC > 128)); then
        fail "killed by signal $((RC - 128)) (crash?): $LAST_CMD
stderr: $ERR"
    fi
}

# The keyword must be in the message itself, not in a fixture's file name that
# the message quotes ("many-entries.oci" says nothing about entries).
_strip_paths() {
    local text=$1 p q
    for p in "${BAD_FIXTURES:-}" "$FIXTURES" "$E2E_TMP"; do
        [[ -n $p ]] || continue
        q=$(printf '%s' "$p" | sed 's/[][\\.*^$#]/\\&/g')
        text=$(sed "s#$q/[^ '\"\`:,)]*##g" <<<"$text")
    done
    # A file name the caller knows the message may quote on its own.
    if [[ -n ${E2E_STRIP:-} ]]; then
        text=${text//"$E2E_STRIP"/}
    fi
    printf '%s' "$text"
}

_show() { printf '  command: %s\n  exit: %s\n  stdout: %s\n  stderr: %s\n' "$LAST_CMD" "$RC" "${OUT:0:2000}" "${ERR:0:2000}" >&2; }

# expect_ok ARGS...: the command must exit 0.
expect_ok() {
    run_dd "$@"
    if ((RC != 0)); then
        echo "FAIL: expected success" >&2
        _show
        exit 1
    fi
}

# expect_fail CODE REGEX ARGS...: exit CODE, exactly one stderr line
# "docker_delta: error: ..." matching REGEX (case-insensitive, extended).
expect_fail() {
    local code=$1 re=$2; shift 2
    run_dd "$@"
    local why=""
    if ((RC != code)); then
        why="expected exit $code, got $RC"
    elif [[ $(printf '%s\n' "$ERR" | wc -l) -ne 1 || -z $ERR ]]; then
        why="expected exactly one line on stderr"
    elif [[ $ERR != "docker_delta: error: "* ]]; then
        why="stderr does not start with 'docker_delta: error: '"
    elif ! grep -Eiq -- "$re" <<<"$(_strip_paths "$ERR")"; then
        why="stderr does not match /$re/ (paths of fixtures and scratch files ignored)"
    fi
    if [[ -n $why ]]; then
        echo "FAIL: $why" >&2
        _show
        exit 1
    fi
}

# ---- assertions ----------------------------------------------------------------
assert_eq() { # assert_eq WHAT EXPECTED ACTUAL
    [[ $2 == "$3" ]] || fail "$1: expected '$2', got '$3'"
}
assert_match() { # assert_match WHAT REGEX ACTUAL
    grep -Eq -- "$2" <<<"$3" || fail "$1: '$3' does not match /$2/"
}
assert_absent() { [[ ! -e $1 && ! -L $1 ]] || fail "expected $1 not to exist, found: $(ls -la "$1" 2>&1 | head -5)"; }
assert_dir_empty() { # nothing at all left in DIR (no DEST, no temp files)
    local left
    left=$(ls -A "$1")
    [[ -z $left ]] || fail "expected $1 to be empty, found: $left"
}

# ---- reading images with independent tools -------------------------------------
SKOPEO=(skopeo --insecure-policy)

# magic FILE -> gzip|zstd|none from the first bytes
magic() {
    local m
    m=$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')
    case $m in
        1f8b*) echo gzip ;;
        28b52ffd) echo zstd ;;
        *) echo none ;;
    esac
}

# unpack_any FILE: the bytes decompressed according to their magic
unpack_any() {
    case $(magic "$1") in
        gzip) gzip -dc "$1" ;;
        zstd) zstd -dc "$1" ;;
        *) cat "$1" ;;
    esac
}

# config_digest TRANSPORT -> sha256:<hex> of the raw config blob
config_digest() {
    local raw
    raw=$("${SKOPEO[@]}" inspect --config --raw "$1" | sha256sum | cut -d' ' -f1) || fail "skopeo cannot read config of $1"
    echo "sha256:$raw"
}
diff_ids() { "${SKOPEO[@]}" inspect --config --raw "$1" | jq -r '.rootfs.diff_ids | join(" ")'; }
layer_media_types() { "${SKOPEO[@]}" inspect --raw "$1" | jq -r '[.layers[].mediaType] | unique | join(" ")'; }

# verify_image TRANSPORT EXPECTED_ID EXPECTED_DIFF_IDS
# The config digest and diff_ids must be as expected, and every blob must be
# intact: skopeo checks each blob digest while copying to dir:, then each layer
# is decompressed here and hashed against its diff_id.
verify_image() {
    local tr=$1 want_id=$2 want_diffs=$3
    local got_id got_diffs
    got_id=$(config_digest "$tr")
    assert_eq "image ID (config digest) of $tr" "$want_id" "$got_id"
    got_diffs=$(diff_ids "$tr")
    assert_eq "diff_ids of $tr" "$want_diffs" "$got_diffs"
    local d
    d=$(mktemp -d "$CASE_DIR/verify.XXXXXX")
    "${SKOPEO[@]}" copy -q "$tr" "dir:$d" 2>"$d.err" || fail "skopeo copy of $tr failed (blob digest or structure): $(cat "$d.err")"
    local n i mt dg got
    n=$(jq '.layers | length' "$d/manifest.json")
    local -a want_list
    read -r -a want_list <<<"$want_diffs"
    assert_eq "layer count in manifest of $tr" "${#want_list[@]}" "$n"
    for ((i = 0; i < n; i++)); do
        mt=$(jq -r ".layers[$i].mediaType" "$d/manifest.json")
        dg=$(jq -r ".layers[$i].digest" "$d/manifest.json")
        # By the bytes: skopeo labels every docker-archive layer as gzip.
        got=$(unpack_any "$d/${dg#sha256:}" | sha256sum | cut -d' ' -f1)
        assert_eq "uncompressed sha256 of layer $i ($mt) of $tr" "${want_list[i]}" "sha256:$got"
    done
    rm -rf "$d" "$d.err"
}

# check_rootfs ROOTFS TEXT: the files every small/dup image has
check_rootfs() {
    local r=$1 text=$2
    [[ -f $r/bin/busybox ]] || fail "no /bin/busybox in $r"
    assert_eq "sha256 of /bin/busybox" "$BUSYBOX_SHA256" "$(sha256sum "$r/bin/busybox" | cut -d' ' -f1)"
    [[ -x $r/bin/busybox ]] || fail "/bin/busybox not executable"
    assert_eq "/hello.txt" "$text" "$(cat "$r/hello.txt")"
}
# check_small_extras ROOTFS: small:v1/v2 third layer (symlink + hard link)
check_small_extras() {
    local r=$1
    assert_eq "/etc/app.conf" "key=value" "$(cat "$r/etc/app.conf")"
    [[ -L $r/etc/app-link ]] || fail "/etc/app-link is not a symlink"
    assert_eq "/etc/app-link target" "app.conf" "$(readlink "$r/etc/app-link")"
    assert_eq "/etc/app-hard shares the inode of /etc/app.conf" \
        "$(stat -c %i "$r/etc/app.conf")" "$(stat -c %i "$r/etc/app-hard")"
}

# umoci_unpack OCI_DIR REF -> prints the rootfs path
umoci_unpack() {
    local b
    b=$(mktemp -d "$CASE_DIR/bundle.XXXXXX")
    rmdir "$b"
    umoci unpack --image "$1:$2" "$b" >"$b.log" 2>&1 || fail "umoci unpack $1:$2 failed: $(tail -5 "$b.log")"
    echo "$b/rootfs"
}

# jf JSON FILTER: one jq query on a JSON string
jf() { jq -r "$2" <<<"$1"; }

# check_process_json EXPECTED_ID EXPECTED_LAYERS: validates $OUT of a --json run
check_process_json() {
    jq -e . >/dev/null <<<"$OUT" || fail "--json output is not JSON: $OUT"
    assert_eq "json image_id" "$1" "$(jf "$OUT" .image_id)"
    assert_eq "json layers" "$2" "$(jf "$OUT" .layers)"
    assert_match "json bytes" '^[1-9][0-9]*$' "$(jf "$OUT" .bytes)"
    assert_match "json destination" '.' "$(jf "$OUT" '.destination // empty')"
}

# extract_rootfs TRANSPORT -> prints a rootfs built by applying every layer with
# tar (any compression; our images have no whiteouts). Used where umoci cannot
# go: zstd layers and archives.
extract_rootfs() {
    local d r i n dg
    d=$(mktemp -d "$CASE_DIR/img.XXXXXX")
    r=$d.rootfs
    mkdir -p "$r"
    "${SKOPEO[@]}" copy -q "$1" "dir:$d" 2>"$d.err" || fail "skopeo copy of $1 failed: $(cat "$d.err")"
    n=$(jq '.layers | length' "$d/manifest.json")
    for ((i = 0; i < n; i++)); do
        dg=$(jq -r ".layers[$i].digest" "$d/manifest.json")
        # Via a file: tar stops at its end-of-archive mark, and a writer still
        # piping padding would die of SIGPIPE under pipefail.
        unpack_any "$d/${dg#sha256:}" > "$d/layer.tar" || fail "cannot decompress layer $i of $1"
        tar -C "$r" -xpf "$d/layer.tar" || fail "cannot apply layer $i of $1"
    done
    echo "$r"
}

# docker_archive_layer_compressions TAR -> unique compressions of the layer
# members named in manifest.json (read from the bytes, not from any label)
docker_archive_layer_compressions() {
    local d
    d=$(mktemp -d "$CASE_DIR/da.XXXXXX")
    tar -C "$d" -xf "$1" || fail "cannot untar $1"
    [[ -f $d/manifest.json ]] || fail "$1 has no manifest.json"
    local l
    for l in $(jq -r '.[].Layers[]' "$d/manifest.json"); do
        [[ -e $d/$l ]] || fail "$1: manifest.json names missing layer $l"
        magic "$d/$l"
    done | sort -u | tr '\n' ' ' | sed 's/ $//'
    rm -rf "$d"
}

# oci_layer_check TRANSPORT COMPRESSION: every layer's media type and bytes
# agree with COMPRESSION (none|gzip|zstd)
oci_layer_check() {
    local tr=$1 want=$2 d n i mt dg
    d=$(mktemp -d "$CASE_DIR/ol.XXXXXX")
    "${SKOPEO[@]}" copy -q "$tr" "dir:$d" 2>"$d.err" || fail "skopeo copy of $tr failed: $(cat "$d.err")"
    n=$(jq '.layers | length' "$d/manifest.json")
    for ((i = 0; i < n; i++)); do
        mt=$(jq -r ".layers[$i].mediaType" "$d/manifest.json")
        dg=$(jq -r ".layers[$i].digest" "$d/manifest.json")
        case $want in
            none) assert_match "media type of layer $i" '^application/vnd\.(oci\.image\.layer\.v1\.tar|docker\.image\.rootfs\.diff\.tar)$' "$mt" ;;
            gzip) assert_match "media type of layer $i" '(\+gzip|\.tar\.gzip)$' "$mt" ;;
            zstd) assert_match "media type of layer $i" '(\+zstd|\.tar\.zstd)$' "$mt" ;;
        esac
        assert_eq "bytes of layer $i ($mt)" "$want" "$(magic "$d/${dg#sha256:}")"
    done
    rm -rf "$d" "$d.err"
}

# oci_verify_layout DIR REF -> prints the config digest (REF "" = the only entry)
# Independent of skopeo (which rejects some valid layouts): oci-layout file,
# index.json, the descriptor for REF, and for the manifest, config and every
# layer: blob present, size and sha256 as described; layers decompress (by
# their bytes) to the config's diff_ids.
oci_verify_layout() {
    local d=$1 ref=$2 desc
    assert_eq "oci-layout imageLayoutVersion" "1.0.0" "$(jq -r .imageLayoutVersion "$d/oci-layout" 2>/dev/null)"
    assert_eq "index.json schemaVersion" 2 "$(jq -r .schemaVersion "$d/index.json")"
    if [[ -n $ref ]]; then
        desc=$(jq -c --arg r "$ref" '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $r)] | if length == 1 then .[0] else empty end' "$d/index.json")
    else
        desc=$(jq -c 'if (.manifests | length) == 1 then .manifests[0] else empty end' "$d/index.json")
    fi
    [[ -n $desc ]] || fail "index.json of $d has no single descriptor for ref $ref: $(head -c 600 "$d/index.json")"
    _blob_ok() { # _blob_ok DESCRIPTOR_JSON -> path
        local dg sz p
        dg=$(jq -r .digest <<<"$1"); sz=$(jq -r .size <<<"$1")
        [[ $dg =~ ^sha256:[0-9a-f]{64}$ ]] || fail "bad digest in descriptor: $1"
        p=$d/blobs/sha256/${dg#sha256:}
        [[ -f $p && ! -L $p ]] || fail "blob $dg missing in $d"
        assert_eq "size of $dg" "$sz" "$(stat -c %s "$p")"
        assert_eq "sha256 of blob $dg" "$dg" "sha256:$(sha256sum "$p" | cut -d' ' -f1)"
        echo "$p"
    }
    local mp cp n i lp got
    mp=$(_blob_ok "$desc")
    cp=$(_blob_ok "$(jq -c .config "$mp")")
    n=$(jq '.layers | length' "$mp")
    assert_eq "layers in manifest vs diff_ids in config" "$(jq '.rootfs.diff_ids | length' "$cp")" "$n"
    for ((i = 0; i < n; i++)); do
        lp=$(_blob_ok "$(jq -c ".layers[$i]" "$mp")")
        got=$(unpack_any "$lp" | sha256sum | cut -d' ' -f1)
        assert_eq "diff_id of layer $i" "$(jq -r ".rootfs.diff_ids[$i]" "$cp")" "sha256:$got"
    done
    jq -r .config.digest "$mp"
}

# oci_archive_verify TAR REF -> prints the config digest (extracts, then as above)
oci_archive_verify() {
    local x
    x=$(mktemp -d "$CASE_DIR/oa.XXXXXX")
    tar -C "$x" -xf "$1" || fail "cannot untar $1"
    oci_verify_layout "$x" "$2"
}
