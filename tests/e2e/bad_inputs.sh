#!/usr/bin/env bash
# Untrusted inputs from tests/fixtures/make-bad-inputs.sh: each must end in
# exit 1, one stderr line naming the problem, and nothing at DEST (no file,
# no directory, no temp files beside it), for every destination kind.
. "$(dirname "$0")/lib.sh"
[[ -e $BAD_FIXTURES/.done ]] || { echo "FAIL: BAD_FIXTURES=$BAD_FIXTURES not built (tests/fixtures/make-bad-inputs.sh)" >&2; exit 1; }

# file ; what the message must match (extended regex, case-insensitive) ;
# y = inspect must reject it too (the problem is in metadata inspect reads)
PATH_RE='path|escap|outside|absolute'
CASES=(
    "path-dotdot.docker.tar;$PATH_RE;y"
    "path-abs.docker.tar;$PATH_RE;y"
    "config-path-dotdot.docker.tar;$PATH_RE;y"
    "symlink-dotdot.docker.tar;link;n"
    "symlink-abs.docker.tar;link;n"
    "flipped-layer.docker.tar;digest|checksum|mismatch;n"
    "layer-count.docker.tar;layer|diff_id;y"
    "truncated.docker.tar;truncat|unexpected end|premature|incomplete;n"
    "truncated.docker.tar.gz;truncat|unexpected end|premature|incomplete;n"
    "duplicate-layer.docker.tar;duplicate;n"
    "duplicate-manifest.docker.tar;duplicate;y"
    "huge-manifest.docker.tar;too large|limit|exceed;y"
    "deep-json.docker.tar;deep|depth|nest;y"
    "digest-short.oci;digest;y"
    "digest-short.oci.tar;digest;y"
    "digest-traversal.oci;digest;y"
    "digest-algo.oci;digest|algorithm;y"
    "flipped-layer.oci;digest|checksum|mismatch|corrupt|crc|not valid|invalid;n"
    "flipped-config.oci;digest|checksum|mismatch;y"
    "layer-count.oci;layer|diff_id;y"
    "truncated.oci.tar;truncat|unexpected end|premature|incomplete;n"
    "duplicate-index.oci.tar;duplicate;y"
    "deep-json.oci;deep|depth|nest;y"
    "many-entries.oci;entries|too many|limit|too large;y"
    "many-entries-20k.oci;entries|too many;y"
    "symlink-blob.oci;link;n"
    "bomb.oci;expan|ratio|bomb;n"
    "bomb-zstd.oci;expan|ratio|bomb;n"
)

regex_for() { # regex_for FILE: the CASES regex of FILE
    local c f r
    for c in "${CASES[@]}"; do
        IFS=';' read -r f r _ <<<"$c"
        if [[ $f == "$1" ]]; then echo "$r"; fi
    done
}

# source spec for a fixture file, by suffix
src_of() {
    case $1 in
        *.docker.tar | *.docker.tar.gz) echo "docker-archive:$BAD_FIXTURES/$1" ;;
        *.oci.tar) echo "oci-archive:$BAD_FIXTURES/$1" ;;
        *.oci) echo "oci:$BAD_FIXTURES/$1" ;;
    esac
}

# rejected SOURCE REGEX KIND
rejected() {
    local src=$1 re=$2 kind=$3 dest
    mkdir -p "$CASE_DIR/d"
    case $kind in
        oci) dest=oci:$CASE_DIR/d/out:v1 ;;
        oci-archive) dest=oci-archive:$CASE_DIR/d/out.tar:v1 ;;
        docker-archive) dest=docker-archive:$CASE_DIR/d/out.tar:localhost/bad:v1 ;;
    esac
    E2E_STRIP=$(basename "${src#*:}"); export E2E_STRIP
    expect_fail 1 "$re" process "$src" "$dest"
    assert_dir_empty "$CASE_DIR/d"
}
small_tmpdir_rejected() { # small_tmpdir_rejected SOURCE REGEX
    small_tmpdir 1g
    rejected "$1" "$2" oci
    assert_match "the message names the space" 'free space' "$ERR"
    assert_dir_empty "$TMPDIR"
}
bomb_read() { # bomb_read SOURCE: the diff_id of the 4 GiB layer is checked as it streams
    . "$BAD_FIXTURES/expected.env"
    expect_ok inspect --verify "$1" --json
    assert_eq "diff_id" "$BOMB_DIFF_ID" "$(jf "$OUT" '.layers[0].diff_id')"
}
inspect_rejected() { # inspect_rejected SOURCE REGEX
    E2E_STRIP=$(basename "${1#*:}"); export E2E_STRIP
    expect_fail 1 "$2" inspect "$1" --json
    [[ -z $OUT ]] || fail "inspect printed to stdout on failure: ${OUT:0:300}"
}

for c in "${CASES[@]}"; do
    IFS=';' read -r file re insp <<<"$c"
    src=$(src_of "$file")
    [[ -e $BAD_FIXTURES/$file ]] || { t "$file exists" fail "fixture $BAD_FIXTURES/$file missing"; continue; }
    if [[ $file == bomb* ]]; then
        # 4 GiB of zeros with correct digests: genuine, and read where it fits (as docker reads
        # it); a bomb where it would not. One destination is enough for the slow one.
        t "$file -> oci rejected when TMPDIR has 1 GiB" small_tmpdir_rejected "$src" "$re"
        t "$file read where it fits" bomb_read "$src"
        continue
    fi
    for kind in oci oci-archive docker-archive; do
        t "$file -> $kind rejected" rejected "$src" "$re" "$kind"
    done
    if [[ $insp == y ]]; then
        t "inspect $file rejected" inspect_rejected "$src" "$re"
    fi
done

# Bare paths go through content detection first; the checks must still apply.
for file in path-dotdot.docker.tar symlink-dotdot.docker.tar truncated.docker.tar.gz duplicate-layer.docker.tar digest-traversal.oci; do
    re=$(regex_for "$file")
    t "$file (bare path) rejected" rejected "$BAD_FIXTURES/$file" "$re" oci
done

# The host files the hostile archives point at must be untouched and unread
# into any output (a belt-and-braces check on the symlink and path cases).
passwd_untouched() {
    local before
    before=$(sha256sum /etc/passwd)
    run_dd process "docker-archive:$BAD_FIXTURES/symlink-abs.docker.tar" "oci:$CASE_DIR/out:v1"
    run_dd process "docker-archive:$BAD_FIXTURES/path-abs.docker.tar" "docker-archive:$CASE_DIR/out2.tar"
    assert_eq "/etc/passwd" "$before" "$(sha256sum /etc/passwd)"
    if [[ -d $CASE_DIR/out ]] && grep -rq "root:x:0:0" "$CASE_DIR/out" 2>/dev/null; then
        fail "an output contains /etc/passwd"
    fi
}
t "/etc/passwd untouched" passwd_untouched

finish
