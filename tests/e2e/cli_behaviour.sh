#!/usr/bin/env bash
# The command line contract: presets, detection of bare SOURCE paths, inspect
# and process --json fields, existing DEST and --force, usage errors (exit 2),
# daemon names, missing files and references, -q.
. "$(dirname "$0")/lib.sh"

DA=$FIXTURES/small-v1.buildah.docker.tar
OA=$FIXTURES/small-v1.skopeo.oci.tar
OD=$FIXTURES/small-v1.oci

# In ARGS given to usage/failing, {case} stands for the case's own dir (the
# case dir does not exist yet when the arguments are written).
usage() { # usage ARGS...: exit 2, one stderr line, nothing written
    expect_fail 2 '.' "${@//\{case\}/$CASE_DIR}"
    [[ -z $(find "$CASE_DIR" -mindepth 1 -maxdepth 1 ! -name '.std*') ]] || fail "a usage error wrote files: $(ls -A "$CASE_DIR")"
}

# ---- presets: bare DEST gets the preset's kind ----------------------------------
preset() { # preset NAME SOURCE OUTKIND
    local name=$1 src=$2 kind=$3 out=$CASE_DIR/out list
    expect_ok "$name" "$src" "$out" --json
    check_process_json "$SMALL_V1_ID" 3
    case $kind in
        oci)
            [[ -d $out ]] || fail "$name did not write a directory"
            assert_eq "config digest (layout check)" "$SMALL_V1_ID" "$(oci_verify_layout "$out" "")"
            verify_image "oci:$out" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" ;;
        oci-archive)
            [[ -f $out ]] || fail "$name did not write a file"
            # Listing first: grep -q would end the pipe early and pipefail would see SIGPIPE.
            list=$(tar -tf "$out")
            grep -qx index.json <<<"$list" || fail "$name output has no index.json"
            ! grep -qx manifest.json <<<"$list" || fail "$name wrote a docker archive, not an OCI archive"
            verify_image "oci-archive:$out" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" ;;
        docker-archive)
            [[ -f $out ]] || fail "$name did not write a file"
            list=$(tar -tf "$out")
            grep -qx manifest.json <<<"$list" || fail "$name output has no manifest.json"
            verify_image "docker-archive:$out" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" ;;
    esac
}
t "archive-to-oci (docker archive)" preset archive-to-oci "$DA" oci
t "archive-to-oci (oci archive)" preset archive-to-oci "$OA" oci
t "archive-to-oci (gzip docker archive)" preset archive-to-oci "$FIXTURES/small-v1.docker.tar.gz" oci
t "archive-to-oci-archive (docker archive)" preset archive-to-oci-archive "$DA" oci-archive
t "archive-to-oci-archive (oci archive)" preset archive-to-oci-archive "$OA" oci-archive
t "archive-to-archive (docker archive)" preset archive-to-archive "$DA" docker-archive
t "archive-to-archive (oci archive)" preset archive-to-archive "$OA" docker-archive
t "oci-to-archive" preset oci-to-archive "$OD" docker-archive
t "oci-to-oci-archive" preset oci-to-oci-archive "$OD" oci-archive
t "oci-to-oci" preset oci-to-oci "$OD" oci
preset_typed() { # a typed DEST overrides the preset's kind
    expect_ok archive-to-oci "$DA" "oci-archive:$CASE_DIR/out.tar:v1"
    verify_image "oci-archive:$CASE_DIR/out.tar:v1" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
}
t "preset with typed DEST" preset_typed
preset_compress() {
    expect_ok oci-to-oci "$OD" "$CASE_DIR/out" --compress zstd
    oci_layer_check "oci:$CASE_DIR/out" zstd
    verify_image "oci:$CASE_DIR/out" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
}
t "oci-to-oci --compress zstd" preset_compress

# ---- bare SOURCE paths are detected from content -------------------------------
bare() { # bare PATH [ID DIFF_IDS]
    local id=${2:-$SMALL_V1_ID} diffs=${3:-$SMALL_V1_DIFF_IDS}
    expect_ok process "$1" "oci:$CASE_DIR/out:v1" --json
    check_process_json "$id" 3
    verify_image "oci:$CASE_DIR/out:v1" "$id" "$diffs"
}
for f in small-v1.buildah.docker.tar small-v1.podman.docker.tar small-v1.podman.oci.tar small-v1.skopeo.oci.tar \
         small-v1.zstd.oci.tar small-v1.docker.tar.gz small-v1.docker.tar.zst small-v1.oci.tar.gz \
         small-v1.oci small-v1.uncompressed.oci small-v1.zstd.oci small-v1.docker25.tar small-v1.containerd.tar; do
    t "bare path $f" bare "$FIXTURES/$f"
done
t "bare path dup-v1.legacy.tar" bare "$FIXTURES/dup-v1.legacy.tar" "$DUP_ID" "$DUP_DIFF_IDS"
bare_renamed() { # detection must not depend on the file name
    cp "$FIXTURES/small-v1.docker.tar.zst" "$CASE_DIR/image.bin"
    cp "$FIXTURES/small-v1.skopeo.oci.tar" "$CASE_DIR/other.bin"
    bare "$CASE_DIR/image.bin"
    rm -rf "$CASE_DIR/out"
    bare "$CASE_DIR/other.bin"
}
t "bare paths with misleading names" bare_renamed

# ---- inspect --json ------------------------------------------------------------
inspect_docker() {
    expect_ok inspect "$DA" --json
    jq -e . >/dev/null <<<"$OUT" || fail "not JSON: $OUT"
    assert_match "source" '.' "$(jf "$OUT" '.source | strings')"
    assert_eq "manifest_kind" docker-save "$(jf "$OUT" .manifest_kind)"
    assert_eq "image_id" "$SMALL_V1_ID" "$(jf "$OUT" .image_id)"
    assert_eq "platform" linux/amd64 "$(jf "$OUT" .platform)"
    assert_eq "platforms" '["linux/amd64"]' "$(jf "$OUT" '.platforms | tostring')"
    assert_eq "repo_tags" '["localhost/small:v1"]' "$(jf "$OUT" '.repo_tags | tostring')"
    assert_eq "diff_ids in order" "$SMALL_V1_DIFF_IDS" "$(jf "$OUT" '[.layers[].diff_id] | join(" ")')"
    assert_eq "compression" "none none none" "$(jf "$OUT" '[.layers[].compression] | join(" ")')"
    # Uncompressed layer members: size is the member size, digest (if given) the diff_id.
    local x sizes
    x=$CASE_DIR/x; mkdir -p "$x"; tar -C "$x" -xf "$DA"
    sizes=$(jq -r '.[0].Layers[]' "$x/manifest.json" | while read -r l; do stat -c %s "$x/$l"; done | tr '\n' ' ' | sed 's/ $//')
    assert_eq "layer sizes" "$sizes" "$(jf "$OUT" '[.layers[].size] | join(" ")')"
    assert_eq "layer digests are null or the diff_id" true \
        "$(jf "$OUT" '[.layers[] | (.digest == null or .digest == .diff_id)] | all')"
    assert_eq "media_type strings" true "$(jf "$OUT" '[.layers[].media_type | type == "string" and length > 0] | all')"
}
t "inspect docker-archive --json" inspect_docker

inspect_oci() { # inspect_oci SOURCE COMPRESSION: fields must match the manifest
    expect_ok inspect "$1" --json
    jq -e . >/dev/null <<<"$OUT" || fail "not JSON: $OUT"
    local m
    m=$("${SKOPEO[@]}" inspect --raw "$1")
    assert_eq "manifest_kind" oci-manifest "$(jf "$OUT" .manifest_kind)"
    assert_eq "image_id" "$SMALL_V1_ID" "$(jf "$OUT" .image_id)"
    assert_eq "platform" linux/amd64 "$(jf "$OUT" .platform)"
    assert_eq "platforms" '["linux/amd64"]' "$(jf "$OUT" '.platforms | tostring')"
    assert_eq "diff_ids" "$SMALL_V1_DIFF_IDS" "$(jf "$OUT" '[.layers[].diff_id] | join(" ")')"
    assert_eq "layer digests" "$(jq -r '[.layers[].digest] | join(" ")' <<<"$m")" "$(jf "$OUT" '[.layers[].digest] | join(" ")')"
    assert_eq "layer sizes" "$(jq -r '[.layers[].size] | join(" ")' <<<"$m")" "$(jf "$OUT" '[.layers[].size] | join(" ")')"
    assert_eq "layer media types" "$(jq -r '[.layers[].mediaType] | join(" ")' <<<"$m")" "$(jf "$OUT" '[.layers[].media_type] | join(" ")')"
    assert_eq "compression" "$2 $2 $2" "$(jf "$OUT" '[.layers[].compression] | join(" ")')"
}
t "inspect oci dir (gzip) --json" inspect_oci "oci:$OD:v1" gzip
t "inspect oci dir (uncompressed) --json" inspect_oci "oci:$FIXTURES/small-v1.uncompressed.oci:v1" none
t "inspect oci dir (zstd) --json" inspect_oci "oci:$FIXTURES/small-v1.zstd.oci:v1" zstd
t "inspect oci-archive (zstd) --json" inspect_oci "oci-archive:$FIXTURES/small-v1.zstd.oci.tar" zstd
t "inspect oci-archive (podman) --json" inspect_oci "oci-archive:$FIXTURES/small-v1.podman.oci.tar" gzip

inspect_gz() { # the outer compression of the archive is not a layer property
    expect_ok inspect "$FIXTURES/small-v1.docker.tar.gz" --json
    assert_eq "manifest_kind" docker-save "$(jf "$OUT" .manifest_kind)"
    assert_eq "image_id" "$SMALL_V1_ID" "$(jf "$OUT" .image_id)"
    assert_eq "compression" "none none none" "$(jf "$OUT" '[.layers[].compression] | join(" ")')"
}
t "inspect gzip docker archive" inspect_gz
inspect_pick() {
    expect_ok inspect "docker-archive:$FIXTURES/small-v1v2.podman.docker.tar:@1" --json
    assert_eq "image_id" "$SMALL_V2_ID" "$(jf "$OUT" .image_id)"
    assert_eq "repo_tags" '["localhost/small:v2"]' "$(jf "$OUT" '.repo_tags | tostring')"
}
t "inspect docker-archive :@1" inspect_pick
inspect_text() {
    expect_ok inspect "$DA"
    [[ -n $OUT ]] || fail "inspect printed nothing"
    assert_match "text output names the image ID" "${SMALL_V1_ID#sha256:}" "$OUT"
}
t "inspect text output" inspect_text

# ---- process --json and -q -------------------------------------------------------
process_json() {
    expect_ok process "$DA" "oci-archive:$CASE_DIR/out.tar:v1" --json
    check_process_json "$SMALL_V1_ID" 3
    assert_match "destination names the output" "out\.tar" "$(jf "$OUT" .destination)"
    [[ -z $ERR ]] || fail "--json run wrote to stderr: $ERR"
}
t "process --json" process_json
quiet() {
    expect_ok process "$DA" "oci:$CASE_DIR/out:v1" -q
    [[ -z $OUT && -z $ERR ]] || fail "-q printed: stdout='$OUT' stderr='$ERR'"
    verify_image "oci:$CASE_DIR/out:v1" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
}
t "process -q is silent" quiet
verbose() {
    expect_ok process "$DA" "oci:$CASE_DIR/out:v1" -v
    verify_image "oci:$CASE_DIR/out:v1" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
}
t "process -v" verbose
round_trip() { # docker -> oci -> oci-archive -> docker, ID never moves
    expect_ok process "$DA" "oci:$CASE_DIR/a:v1" --compress zstd
    expect_ok process "oci:$CASE_DIR/a:v1" "oci-archive:$CASE_DIR/b.tar:v1" --compress gzip
    expect_ok process "oci-archive:$CASE_DIR/b.tar:v1" "docker-archive:$CASE_DIR/c.tar:localhost/rt:v1"
    verify_image "docker-archive:$CASE_DIR/c.tar" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
    check_rootfs "$(extract_rootfs "docker-archive:$CASE_DIR/c.tar")" "$SMALL_V1_TEXT"
}
t "round trip through every kind" round_trip
out_ref() { # REF in DEST becomes the ref name / tag
    expect_ok process "$DA" "oci-archive:$CASE_DIR/o.tar:release-1"
    assert_eq "ref name in index.json" release-1 \
        "$(tar -xOf "$CASE_DIR/o.tar" index.json | jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]')"
    expect_ok process "$DA" "docker-archive:$CASE_DIR/d.tar:example.com/team/app:2.0"
    assert_eq "RepoTags" '["example.com/team/app:2.0"]' "$(tar -xOf "$CASE_DIR/d.tar" manifest.json | jq -c '.[0].RepoTags')"
}
t "DEST REF is written" out_ref

# ---- --filter ---------------------------------------------------------------------
filter_platform() { # --filter platform:... is --platform spelled as a stage
    expect_ok process "oci:$FIXTURES/multi.oci:v1" "oci:$CASE_DIR/out:v1" --filter platform:linux/arm64 --json
    check_process_json "$MULTI_ARM64_ID" 2
    verify_image "oci:$CASE_DIR/out:v1" "$MULTI_ARM64_ID" "$MULTI_ARM64_DIFF_IDS"
}
t "--filter platform:linux/arm64" filter_platform
filter_timestamps() { # new layers and config: the output must be self-consistent
    local id root
    expect_ok process "$DA" "oci:$CASE_DIR/out:v1" --filter normalize-timestamps:0 --json
    id=$(jf "$OUT" .image_id)
    [[ $id != "$SMALL_V1_ID" ]] || fail "normalize-timestamps:0 kept the image ID; the fixture's times are not 0"
    assert_eq "config digest (layout check: blobs and diff_ids)" "$id" "$(oci_verify_layout "$CASE_DIR/out" v1)"
    assert_eq "skopeo config digest" "$id" "$(config_digest "oci:$CASE_DIR/out:v1")"
    root=$(extract_rootfs "oci:$CASE_DIR/out:v1")
    check_rootfs "$root" "$SMALL_V1_TEXT"
    check_small_extras "$root"
    assert_eq "mtime of /hello.txt" 0 "$(stat -c %Y "$root/hello.txt")"
    assert_eq "mtime of /bin/busybox" 0 "$(stat -c %Y "$root/bin/busybox")"
    assert_eq "config created" "1970-01-01T00:00:00Z" "$("${SKOPEO[@]}" inspect --config --raw "oci:$CASE_DIR/out:v1" | jq -r .created)"
    # Same input, same filter: same image.
    expect_ok process "$FIXTURES/small-v1.podman.oci.tar" "oci:$CASE_DIR/out2:v1" --filter normalize-timestamps:0 --json
    assert_eq "image ID from another copy of the image" "$id" "$(jf "$OUT" .image_id)"
}
t "--filter normalize-timestamps:0" filter_timestamps
t "unknown --filter" usage process "$DA" "oci:{case}/out" --filter no-such-filter
t "bad --filter argument" usage process "$DA" "oci:{case}/out" --filter normalize-timestamps:yesterday

# ---- existing DEST ----------------------------------------------------------------
# snapshot TARGET: names, types and sizes of everything in the case dir, and
# the content of TARGET (every file in it, for a directory)
snapshot() {
    (cd "$CASE_DIR" && find . -mindepth 1 ! -name '.std*' -printf '%P %y %s\n' | sort)
    if [[ -d $1 ]]; then (cd "$1" && find . -type f -exec sha256sum {} + | sort); else sha256sum "$1"; fi
}
# existing KIND FLAG: without --force exit 1 and DEST untouched; with it replaced.
existing() {
    local kind=$1 flag=$2 dest target before
    case $kind in
        oci) target=$CASE_DIR/out; dest=oci:$target:v1 ;;
        oci-archive) target=$CASE_DIR/out.tar; dest=oci-archive:$target:v1 ;;
        docker-archive) target=$CASE_DIR/out.tar; dest=docker-archive:$target:localhost/x:v1 ;;
    esac
    expect_ok process "$DA" "$dest"  # what --force may replace: an output of the same kind
    before=$(snapshot "$target")
    expect_fail 1 'exist|force' process "$DA" "$dest"
    assert_eq "DEST and its siblings after refusal" "$before" "$(snapshot "$target")"
    expect_ok process "$DA" "$dest" "$flag"
    case $kind in
        oci) verify_image "oci:$target:v1" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" ;;
        oci-archive) verify_image "oci-archive:$target:v1" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" ;;
        docker-archive) verify_image "docker-archive:$target" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" ;;
    esac
    assert_eq "files beside DEST after --force" "$(basename "$target")" \
        "$(cd "$CASE_DIR" && find . -mindepth 1 -maxdepth 1 ! -name '.std*' -printf '%P\n')"
}
for kind in oci oci-archive docker-archive; do
    t "existing $kind DEST, then --force" existing "$kind" --force
done
# --force replaces only what docker_delta writes: a directory of the user's, a text file stay.
force_refuses_foreign() {
    local before
    mkdir -p "$CASE_DIR/home/docs"; echo keep > "$CASE_DIR/home/docs/marker"; echo keep > "$CASE_DIR/notes.txt"
    before=$(snapshot "$CASE_DIR/home")
    expect_fail 1 'replaces only|not an OCI layout|oci-layout' process "$DA" "oci:$CASE_DIR/home:v1" --force
    assert_eq "the directory after --force" "$before" "$(snapshot "$CASE_DIR/home")"
    expect_fail 1 'replaces only|not a tar' process "$DA" "docker-archive:$CASE_DIR/notes.txt" --force
    assert_eq "the text file" keep "$(cat "$CASE_DIR/notes.txt")"
}
t "--force refuses what docker_delta did not write" force_refuses_foreign
t "existing oci DEST, then -f" existing oci -f

# ---- usage errors: exit 2, one line, nothing written -------------------------------
t "no arguments" usage
t "unknown command" usage frobnicate
t "process without DEST" usage process "$DA"
t "process with an extra argument" usage process "$DA" "oci:{case}/out" "oci:{case}/out2"
t "unknown option" usage process "$DA" "oci:{case}/out" --bogus
t "--compress brotli" usage process "$DA" "oci:{case}/out" --compress brotli
t "--platform without value" usage process "$DA" "oci:{case}/out" --platform
t "process DEST without a type" usage process "$DA" "{case}/out"
t "unknown DEST type" usage process "$DA" "nosuchkind:{case}/out"
t "empty DEST path" usage process "$DA" "oci:"
t "malformed @INDEX" usage process "docker-archive:$DA:@x" "oci:{case}/out"
t "inspect without SOURCE" usage inspect
t "preset without DEST" usage archive-to-oci "$DA"

# ---- failures: exit 1, one line ----------------------------------------------------
failing() { # failing REGEX ARGS...
    local re=$1; shift
    expect_fail 1 "$re" "${@//\{case\}/$CASE_DIR}"
    [[ -z $(find "$CASE_DIR" -mindepth 1 -maxdepth 1 ! -name '.std*') ]] || fail "a failed run left files: $(ls -A "$CASE_DIR")"
}
t "daemon image name" failing daemon process localhost/small:v1 "oci:{case}/out"
t "daemon image name (inspect)" failing daemon inspect busybox:latest
t "missing docker-archive file" failing 'no such|not found|not exist|cannot open|missing' process "docker-archive:/nonexistent/x.tar" "oci:{case}/out"
t "missing oci dir" failing 'no such|not found|not exist|cannot open|missing' process "oci:/nonexistent/dir" "oci:{case}/out"
t "unknown ref in oci dir" failing 'nope' process "oci:$OD:nope" "oci:{case}/out"
t "unknown tag in docker-archive" failing 'localhost/nope' process "docker-archive:$DA:localhost/nope:v1" "oci:{case}/out"
t "@INDEX out of range" failing '5|range|index' process "docker-archive:$DA:@5" "oci:{case}/out"
t "oci-to-archive given an archive file" failing '.' oci-to-archive "$DA" "{case}/out.tar"
not_an_image() {
    head -c 10000 /dev/urandom > "$CASE_DIR/random.bin"
    echo "hello" > "$CASE_DIR/text.txt"
    mkdir -p "$CASE_DIR/d"
    expect_fail 1 '.' process "$CASE_DIR/random.bin" "oci:$CASE_DIR/d/out"
    expect_fail 1 '.' process "$CASE_DIR/text.txt" "oci:$CASE_DIR/d/out"
    mkdir -p "$CASE_DIR/emptydir"
    expect_fail 1 '.' process "$CASE_DIR/emptydir" "oci:$CASE_DIR/d/out"
    assert_dir_empty "$CASE_DIR/d"
}
t "files that are not images" not_an_image

# ---- what a daemon answers is bounded --------------------------------------------
# hostile_daemon.py plays a daemon (or anything on its socket) answering with hostile JSON.
hostile_daemon() { # hostile_daemon MODE: starts it on $CASE_DIR/d.sock
    python3 "$E2E_DIR/hostile_daemon.py" "$CASE_DIR/d.sock" "$1" &
    HOSTILE_PID=$!
    for _ in $(seq 50); do [[ -S $CASE_DIR/d.sock ]] && return 0; sleep 0.1; done
    fail "hostile_daemon.py did not start"
}
daemon_answer_bounded() { # MODE REGEX
    hostile_daemon "$1"
    local start=$SECONDS
    expect_fail 1 "$2" inspect docker-daemon:app:v1 --host "unix://$CASE_DIR/d.sock"
    kill "$HOSTILE_PID"
    ((SECONDS - start < 20)) || fail "took $((SECONDS - start)) s"
}
t "daemon answers 40 MiB of JSON" daemon_answer_bounded huge 'larger than [0-9]+ bytes'
t "daemon answers deeply nested JSON" daemon_answer_bounded deep 'nested too deep'
daemon_stalls() {
    hostile_daemon stall
    DOCKER_DELTA_DAEMON_TIMEOUT=2 expect_fail 1 'docker daemon at unix://.*no answer for 2 s' \
        inspect docker-daemon:app:v1 --host "unix://$CASE_DIR/d.sock"
    kill "$HOSTILE_PID"
}
t "daemon stops answering mid-answer" daemon_stalls
t "daemon name with CRLF" usage inspect $'docker-daemon:app:v1\r\nX-Injected: 1'
t "daemon name in upper case" usage inspect docker-daemon:App:v1

finish
