#!/usr/bin/env bash
# Read what skopeo reads: skopeo's and podman's dir: images (and dir: written here, read back by
# skopeo), an index naming two images alike, a layout without its layer blobs, containerd's
# partial and all-platform exports, and untrusted names in inspect's output.
# Needs COMPAT_FIXTURES, built by tests/fixtures/build-compat-images.sh from FIXTURES.
. "$(dirname "$0")/lib.sh"

: "${COMPAT_FIXTURES:=$REPO_DIR/build/test-images/compat}"
[[ -e $COMPAT_FIXTURES/.done ]] || { echo "FAIL: COMPAT_FIXTURES=$COMPAT_FIXTURES not built (tests/fixtures/build-compat-images.sh)" >&2; exit 1; }
C=$COMPAT_FIXTURES
# shellcheck disable=SC1091
. "$C/expected-compat.env"
echo "containerd exports: $CTR_SOURCE"
[[ $(uname -m) == x86_64 ]] || echo "warning: not an amd64 host; default-platform cases will fail" >&2

# ---- dir: as a source ------------------------------------------------------------
read_dir() { # read_dir SOURCE EXPECTED_ID EXPECTED_DIFF_IDS [process flags...]
    local src=$1 id=$2 diffs=$3; shift 3
    expect_ok process "$src" "oci:$CASE_DIR/out:v1" --json "$@"
    check_process_json "$id" "$(wc -w <<<"$diffs")"
    verify_image "oci:$CASE_DIR/out:v1" "$id" "$diffs"
    expect_ok process "$src" "docker-archive:$CASE_DIR/out.tar:localhost/x:v1" "$@"
    verify_image "docker-archive:$CASE_DIR/out.tar" "$id" "$diffs"
}
for d in small-v1.skopeo.dir small-v1.skopeo-docker.dir small-v1.podman.dir; do
    t "$d (dir:) -> oci, docker-archive" read_dir "dir:$C/$d" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
    t "$d (bare path) -> oci, docker-archive" read_dir "$C/$d" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
done
t "multi.skopeo.dir (skopeo copy --all) default platform" read_dir "dir:$C/multi.skopeo.dir" "$MULTI_AMD64_ID" "$MULTI_AMD64_DIFF_IDS"
t "multi.skopeo.dir --platform linux/arm64" read_dir "dir:$C/multi.skopeo.dir" "$MULTI_ARM64_ID" "$MULTI_ARM64_DIFF_IDS" --platform linux/arm64

inspect_dir() {
    expect_ok inspect "$C/small-v1.podman.dir" --json
    assert_eq "image ID" "$SMALL_V1_ID" "$(jf "$OUT" .image_id)"
    assert_eq "manifest kind" docker-schema2 "$(jf "$OUT" .manifest_kind)"
    assert_eq "layers" 3 "$(jf "$OUT" '.layers | length')"
    # podman labels the uncompressed layers gzip; the bytes say otherwise.
    assert_eq "compression read from the bytes" none "$(jf "$OUT" '[.layers[].compression] | unique | join(" ")')"
}
t "inspect podman's docker-dir" inspect_dir

not_a_dir_image() {
    mkdir d
    echo x > d/somefile
    expect_fail 1 'no manifest\.json' inspect "dir:$CASE_DIR/d"
    expect_fail 1 'OCI layout.*oci:' inspect "dir:$FIXTURES/small-v1.oci"
}
t "dir: that is not an image is refused" not_a_dir_image

tampered_blob() {
    cp -a "$C/small-v1.skopeo.dir" src
    local l
    l=$(jq -r '.layers[1].digest' src/manifest.json)
    printf 'x' >> "src/${l#sha256:}"
    mkdir d
    expect_fail 1 'bytes|digest|size' process "dir:$CASE_DIR/src" "oci:$CASE_DIR/d/out"
    assert_dir_empty d
}
t "dir: with a changed blob is refused, nothing written" tampered_blob

# ---- dir: as a destination ---------------------------------------------------------
write_dir() { # write_dir SOURCE EXPECTED_ID DIFF_IDS [flags...]
    local src=$1 id=$2 diffs=$3; shift 3
    expect_ok process "$src" "dir:$CASE_DIR/out" --json "$@"
    check_process_json "$id" "$(wc -w <<<"$diffs")"
    assert_eq "version file (containers/image directory_dest.go)" \
        "$(printf 'Directory Transport Version: 1.1\n' | od -c)" "$(od -c < out/version)"
    # Every file but manifest.json and version is a blob named by its digest's hex.
    local f
    for f in out/*; do
        case $(basename "$f") in manifest.json | version) continue ;; esac
        assert_eq "blob $(basename "$f") named by its sha256" "$(basename "$f")" "$(sha256sum "$f" | cut -d' ' -f1)"
    done
    assert_absent "$CASE_DIR/out.tmp"*
    "${SKOPEO[@]}" inspect "dir:$CASE_DIR/out" >inspect.json || fail "skopeo inspect dir: failed"
    assert_eq "skopeo inspect: layers" "$(wc -w <<<"$diffs")" "$(jq '.Layers | length' inspect.json)"
    verify_image "dir:$CASE_DIR/out" "$id" "$diffs"
    "${SKOPEO[@]}" copy -q "dir:$CASE_DIR/out" "oci-archive:$CASE_DIR/copy.tar:v1" || fail "skopeo copy dir: -> oci-archive: failed"
    verify_image "oci-archive:$CASE_DIR/copy.tar:v1" "$id" "$diffs"
    # And back in here.
    expect_ok process "dir:$CASE_DIR/out" "oci:$CASE_DIR/again:v1" --json
    check_process_json "$id" "$(wc -w <<<"$diffs")"
}
t "oci layout -> dir:" write_dir "oci:$FIXTURES/small-v1.oci:v1" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
t "docker-archive -> dir:" write_dir "$FIXTURES/small-v1.buildah.docker.tar" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
t "oci layout -> dir: --compress zstd" write_dir "oci:$FIXTURES/small-v1.oci:v1" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" --compress zstd
t "multi-arch -> dir: --platform linux/arm64" write_dir "oci:$FIXTURES/multi.oci:v1" "$MULTI_ARM64_ID" "$MULTI_ARM64_DIFF_IDS" --platform linux/arm64
t "dir: -> dir:" write_dir "dir:$C/small-v1.podman.dir" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"

same_as_skopeo() {
    # Blobs unchanged: the manifest is kept byte for byte, as skopeo keeps it.
    expect_ok process "oci:$FIXTURES/small-v1.oci:v1" "dir:$CASE_DIR/out"
    assert_eq "manifest digest" "$SKOPEO_DIR_MANIFEST" "sha256:$(sha256sum out/manifest.json | cut -d' ' -f1)"
    diff <(cd out && ls) <(cd "$C/small-v1.skopeo.dir" && ls) || fail "not the files skopeo writes"
    expect_ok process "dir:$C/small-v1.podman.dir" "dir:$CASE_DIR/out2"
    assert_eq "manifest digest" "$PODMAN_DIR_MANIFEST" "sha256:$(sha256sum out2/manifest.json | cut -d' ' -f1)"
}
t "dir: output holds what skopeo's holds" same_as_skopeo

dir_schema2() {
    expect_ok process "$FIXTURES/small-v1.buildah.docker.tar" "dir:$CASE_DIR/out"
    assert_eq "manifest media type" application/vnd.docker.distribution.manifest.v2+json "$(jq -r .mediaType out/manifest.json)"
    assert_eq "layer media types" application/vnd.docker.image.rootfs.diff.tar "$(jq -r '[.layers[].mediaType] | unique | join(" ")' out/manifest.json)"
}
t "docker source -> dir: writes a Docker schema2 manifest" dir_schema2

dir_exists() {
    mkdir out
    echo keep > out/file
    expect_fail 1 'already exists' process "oci:$FIXTURES/small-v1.oci:v1" "dir:$CASE_DIR/out"
    assert_eq "existing file kept" keep "$(cat out/file)"
}
t "dir: destination that exists is refused" dir_exists

dir_failed_run() {
    mkdir d
    expect_fail 1 'does not hold 3 of the image' process "oci:$C/no-layers.oci:v1" "dir:$CASE_DIR/d/out"
    assert_dir_empty d
}
t "a failed run leaves no dir: behind" dir_failed_run

# ---- one name given twice ------------------------------------------------------------
dup_ref() { # dup_ref SOURCE: skopeo takes the first entry of index.json; so do we, and say so
    expect_ok process "$1" "oci:$CASE_DIR/out:v1" --json
    check_process_json "$SMALL_V1_ID" 3
    assert_match "warning names the reference and the choice" "names 2 images 'v1'.*first.*${DUP_REF_FIRST:7:12}" "$ERR"
    [[ $(config_digest "oci:$C/dup-ref.oci:v1") == "$SMALL_V1_ID" ]] || fail "skopeo chooses otherwise"
}
t "index naming two images v1 (oci:DIR:v1)" dup_ref "oci:$C/dup-ref.oci:v1"
t "index naming two images v1 (no reference)" dup_ref "$C/dup-ref.oci"

# ---- layer blobs absent --------------------------------------------------------------
inspect_absent() {
    expect_ok inspect "$C/no-layers.oci" --json
    assert_eq "image ID" "$SMALL_V1_ID" "$(jf "$OUT" .image_id)"
    assert_eq "absent layers" 3 "$(jf "$OUT" .absent_layers)"
    assert_eq "present flags" "false false false" "$(jf "$OUT" '[.layers[].present | tostring] | join(" ")')"
    assert_eq "diff_ids from the config" "$SMALL_V1_DIFF_IDS" "$(jf "$OUT" '[.layers[].diff_id] | join(" ")')"
    expect_ok inspect "$C/no-layers.oci"
    assert_match "human output says absent" '3 absent from the source' "$OUT"
    assert_eq "each layer line says absent" 3 "$(grep -c ' absent$' <<<"$OUT")"
    expect_fail 1 'does not hold 3 of the image.s layers: 1 .*, 2 .*, 3 ' inspect "$C/no-layers.oci" --verify
    mkdir d
    expect_fail 1 'does not hold 3 of the image.s layers' process "$C/no-layers.oci" "oci:$CASE_DIR/d/out"
    assert_dir_empty d
}
t "inspect of a layout without its layer blobs names them" inspect_absent

# ---- containerd's exports --------------------------------------------------------------
partial() { # partial SOURCE EXPECTED_ID DIFF_IDS [flags...]: reads only what the platform needs
    local src=$1 id=$2 diffs=$3; shift 3
    expect_ok process "$src" "oci:$CASE_DIR/out:v1" --json "$@"
    check_process_json "$id" "$(wc -w <<<"$diffs")"
    verify_image "oci:$CASE_DIR/out:v1" "$id" "$diffs"
}
for src in "$C/multi-arm64.ctr.tar" "oci-archive:$C/multi-arm64.ctr.tar"; do
    n=$(basename "${src#oci-archive:}")${src%%:*}
    t "ctr export --platform arm64 ($n) --platform linux/arm64" partial "$src" "$MULTI_ARM64_ID" "$MULTI_ARM64_DIFF_IDS" --platform linux/arm64
    t "ctr export --platform arm64 ($n) --platform linux/arm64/v8" partial "$src" "$MULTI_ARM64_ID" "$MULTI_ARM64_DIFF_IDS" --platform linux/arm64/v8
    t "ctr export --platform arm64 ($n) default: the platform it holds" partial "$src" "$MULTI_ARM64_ID" "$MULTI_ARM64_DIFF_IDS"
done
t "ctr export --platform amd64 default" partial "$C/multi-amd64.ctr.tar" "$MULTI_AMD64_ID" "$MULTI_AMD64_DIFF_IDS"
t "ctr export --platform amd64 as oci-archive:" partial "oci-archive:$C/multi-amd64.ctr.tar:v1" "$MULTI_AMD64_ID" "$MULTI_AMD64_DIFF_IDS" --platform linux/amd64

partial_absent_platform() {
    mkdir d
    expect_fail 1 'no image for platform linux/amd64.*it has: linux/arm64/v8.*also lists linux/amd64' \
        process "$C/multi-arm64.ctr.tar" "oci:$CASE_DIR/d/out" --platform linux/amd64
    assert_dir_empty d
    expect_ok inspect "$C/multi-arm64.ctr.tar" --json
    assert_eq "platforms offered" linux/arm64/v8 "$(jf "$OUT" '.platforms | join(" ")')"
}
t "ctr export --platform arm64: asking for amd64 says it is listed but not held" partial_absent_platform

for p in linux/arm64 linux/arm64/v8; do
    t "ctr export --all-platforms (bare path) --platform $p" partial "$C/multi-all.ctr.tar" "$MULTI_ARM64_ID" "$MULTI_ARM64_DIFF_IDS" --platform "$p"
    t "ctr export --all-platforms (oci-archive:) --platform $p" partial "oci-archive:$C/multi-all.ctr.tar" "$MULTI_ARM64_ID" "$MULTI_ARM64_DIFF_IDS" --platform "$p"
done
t "ctr export --all-platforms (bare path) default" partial "$C/multi-all.ctr.tar" "$MULTI_AMD64_ID" "$MULTI_AMD64_DIFF_IDS"
t "ctr export --all-platforms by its containerd name" partial "archive:$C/multi-all.ctr.tar:multi:v1" "$MULTI_ARM64_ID" "$MULTI_ARM64_DIFF_IDS" --platform linux/arm64

all_platforms_inspect() {
    expect_ok inspect "$C/multi-all.ctr.tar" --json
    assert_eq "platforms" "linux/amd64 linux/arm64/v8" "$(jf "$OUT" '.platforms | join(" ")')"
    assert_eq "tag from the containerd name" localhost/multi:v1 "$(jf "$OUT" '.repo_tags | join(" ")')"
    # docker-archive: still reads manifest.json, which names the amd64 image.
    expect_ok inspect "docker-archive:$C/multi-all.ctr.tar" --json
    assert_eq "docker-archive: image" "$MULTI_AMD64_ID" "$(jf "$OUT" .image_id)"
}
t "ctr export --all-platforms: inspect sees the whole index" all_platforms_inspect

# ---- untrusted names in inspect ----------------------------------------------------------
hostile_names() {
    expect_ok inspect "$C/hostile-names.oci"
    if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' <<<"$OUT"; then fail "a control character reached the terminal: $(od -c <<<"$OUT" | head)"; fi
    assert_match "the tag is shown escaped" 'v1\\x1b\[31mred\\x07' "$OUT"
    expect_ok inspect "$C/hostile-names.oci" --json
    assert_eq "JSON keeps the name (escaped as JSON)" $'v1\x1b[31mred\x07' "$(jf "$OUT" '.repo_tags[0]')"
    if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' <<<"$OUT"; then fail "a raw control character in --json output"; fi
}
t "inspect escapes untrusted names" hostile_names

finish
