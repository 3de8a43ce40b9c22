#!/usr/bin/env bash
# Layouts built by hand from their documented structure: Docker 25+ save
# (OCI layout + manifest.json after the blobs), containerd-style save (gzip
# blobs named by compressed digest), Docker <=24 legacy save with a repeated
# layer stored as a symlink (target before and after the link), an OCI
# layout carrying a Docker schema2 manifest; plus buildah's archive of the
# repeated-layer image.
. "$(dirname "$0")/lib.sh"

# convert SOURCE KIND ID DIFF_IDS TEXT NLAYERS
convert() {
    local src=$1 kind=$2 id=$3 diffs=$4 text=$5 n=$6 dest tr root
    case $kind in
        oci) dest=oci:$CASE_DIR/out:v1; tr=$dest ;;
        oci-archive) dest=oci-archive:$CASE_DIR/out.tar:v1; tr=$dest ;;
        docker-archive) dest=docker-archive:$CASE_DIR/out.tar:localhost/conv:v1; tr=docker-archive:$CASE_DIR/out.tar ;;
    esac
    expect_ok process "$src" "$dest" --json
    check_process_json "$id" "$n"
    case $kind in
        oci) assert_eq "config digest (layout check)" "$id" "$(oci_verify_layout "$CASE_DIR/out" v1)" ;;
        oci-archive) assert_eq "config digest (layout check)" "$id" "$(oci_archive_verify "$CASE_DIR/out.tar" v1)" ;;
    esac
    verify_image "$tr" "$id" "$diffs"
    root=$(extract_rootfs "$tr")
    check_rootfs "$root" "$text"
}

# convert_noskopeo SOURCE KIND ID: for outputs skopeo 1.9 cannot read (an OCI
# layout may keep a Docker schema2 manifest); the layout check covers blobs
# and diff_ids.
convert_noskopeo() {
    local src=$1 kind=$2 id=$3
    case $kind in
        oci) expect_ok process "$src" "oci:$CASE_DIR/out:v1" --json
             assert_eq "config digest" "$id" "$(oci_verify_layout "$CASE_DIR/out" v1)" ;;
        oci-archive) expect_ok process "$src" "oci-archive:$CASE_DIR/out.tar:v1" --json
             assert_eq "config digest" "$id" "$(oci_archive_verify "$CASE_DIR/out.tar" v1)" ;;
    esac
    check_process_json "$id" 3
}

for kind in oci oci-archive docker-archive; do
    f=$FIXTURES/small-v1.docker25.tar
    t "docker25 (bare path) -> $kind" convert "$f" "$kind" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" "$SMALL_V1_TEXT" 3
    t "docker25 as docker-archive: -> $kind" convert "docker-archive:$f" "$kind" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" "$SMALL_V1_TEXT" 3
    t "docker25 as oci-archive: -> $kind" convert "oci-archive:$f:v1" "$kind" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" "$SMALL_V1_TEXT" 3
    f=$FIXTURES/small-v1.containerd.tar
    t "containerd (bare path) -> $kind" convert "$f" "$kind" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" "$SMALL_V1_TEXT" 3
    t "containerd as docker-archive: -> $kind" convert "docker-archive:$f" "$kind" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" "$SMALL_V1_TEXT" 3
    t "containerd as oci-archive: -> $kind" convert "oci-archive:$f:v1" "$kind" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" "$SMALL_V1_TEXT" 3
    for f in dup-v1.legacy.tar dup-v1.legacy-symlink-first.tar dup-v1.buildah.docker.tar; do
        t "$f -> $kind" convert "$FIXTURES/$f" "$kind" "$DUP_ID" "$DUP_DIFF_IDS" "$DUP_TEXT" 3
    done
done
t "schema2-in-OCI layout -> docker-archive" convert "oci:$FIXTURES/small-v1.schema2.oci:v1" docker-archive \
    "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" "$SMALL_V1_TEXT" 3
t "schema2-in-OCI layout -> oci-archive" convert_noskopeo "oci:$FIXTURES/small-v1.schema2.oci:v1" oci-archive "$SMALL_V1_ID"
t "schema2-in-OCI layout -> oci" convert_noskopeo "oci:$FIXTURES/small-v1.schema2.oci:v1" oci "$SMALL_V1_ID"

# The repeated layer must come out as two manifest entries with one diff_id.
dup_layers() {
    expect_ok process "$FIXTURES/dup-v1.legacy-symlink-first.tar" "oci:$CASE_DIR/out:v1"
    local m
    m=$("${SKOPEO[@]}" inspect --raw "oci:$CASE_DIR/out:v1")
    assert_eq "manifest layer count" 3 "$(jq '.layers | length' <<<"$m")"
    assert_eq "layers 1 and 2 have the same digest" true "$(jq '.layers[1].digest == .layers[2].digest' <<<"$m")"
}
t "repeated layer stays repeated" dup_layers

# inspect reads each layout's metadata; the kind names follow the contract.
inspect_kind() { # inspect_kind SOURCE KIND_REGEX ID NLAYERS COMPRESSION
    expect_ok inspect "$1" --json
    jq -e . >/dev/null <<<"$OUT" || fail "inspect --json is not JSON: $OUT"
    assert_match "manifest_kind" "$2" "$(jf "$OUT" .manifest_kind)"
    assert_eq "image_id" "$3" "$(jf "$OUT" .image_id)"
    assert_eq "layer count" "$4" "$(jf "$OUT" '.layers | length')"
    assert_eq "layer compressions" "$5" "$(jf "$OUT" '[.layers[].compression] | unique | join(" ")')"
}
t "inspect docker25" inspect_kind "$FIXTURES/small-v1.docker25.tar" '^(docker-save|oci-manifest)$' "$SMALL_V1_ID" 3 none
t "inspect containerd" inspect_kind "$FIXTURES/small-v1.containerd.tar" '^(docker-save|oci-manifest)$' "$SMALL_V1_ID" 3 gzip
t "inspect legacy" inspect_kind "$FIXTURES/dup-v1.legacy.tar" '^docker-save$' "$DUP_ID" 3 none
t "inspect legacy symlink-first" inspect_kind "$FIXTURES/dup-v1.legacy-symlink-first.tar" '^docker-save$' "$DUP_ID" 3 none
t "inspect schema2-in-OCI" inspect_kind "oci:$FIXTURES/small-v1.schema2.oci:v1" '^docker-schema2$' "$SMALL_V1_ID" 3 gzip

finish
