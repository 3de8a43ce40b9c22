#!/usr/bin/env bash
# Archives and layouts written by buildah, skopeo and podman convert to every
# destination kind with the image ID (config digest) and diff_ids unchanged,
# intact blobs, and the same files inside; --compress changes only the layer
# encoding (docker-archive stays plain tar); one image is picked out of
# multi-image sources.
. "$(dirname "$0")/lib.sh"

# Source spec -> what produced it. Compressed docker archives are given as bare
# paths: their format is detected from content.
SOURCES=(
    "docker-archive:$FIXTURES/small-v1.buildah.docker.tar"
    "docker-archive:$FIXTURES/small-v1.skopeo.docker.tar"
    "docker-archive:$FIXTURES/small-v1.podman.docker.tar"
    "$FIXTURES/small-v1.docker.tar.gz"
    "$FIXTURES/small-v1.docker.tar.zst"
    "oci-archive:$FIXTURES/small-v1.buildah.oci.tar"
    "oci-archive:$FIXTURES/small-v1.skopeo.oci.tar"
    "oci-archive:$FIXTURES/small-v1.podman.oci.tar"
    "oci-archive:$FIXTURES/small-v1.zstd.oci.tar"
    "oci:$FIXTURES/small-v1.oci"
    "oci:$FIXTURES/small-v1.uncompressed.oci"
    "oci:$FIXTURES/small-v1.zstd.oci"
)

# dest_for KIND -> "DEST_SPEC CHECK_TRANSPORT"
dest_for() {
    case $1 in
        oci) echo "oci:$CASE_DIR/out:v1 oci:$CASE_DIR/out:v1" ;;
        oci-archive) echo "oci-archive:$CASE_DIR/out.tar:v1 oci-archive:$CASE_DIR/out.tar:v1" ;;
        docker-archive) echo "docker-archive:$CASE_DIR/out.tar:localhost/conv:v1 docker-archive:$CASE_DIR/out.tar" ;;
    esac
}

# check_rootfs_of KIND CHECK_TRANSPORT ID TEXT
check_files() {
    local kind=$1 tr=$2 text=$3 root
    if [[ $kind == oci && $(layer_media_types "$tr") != *zstd* ]]; then
        root=$(umoci_unpack "$CASE_DIR/out" v1)
    else
        root=$(extract_rootfs "$tr")
    fi
    check_rootfs "$root" "$text"
    check_small_extras "$root"
}

convert() { # convert SOURCE KIND
    local src=$1 kind=$2 dest tr
    read -r dest tr <<<"$(dest_for "$kind")"
    expect_ok process "$src" "$dest" --json
    check_process_json "$SMALL_V1_ID" 3
    case $kind in
        oci) assert_eq "config digest (layout check)" "$SMALL_V1_ID" "$(oci_verify_layout "$CASE_DIR/out" v1)" ;;
        oci-archive) assert_eq "config digest (layout check)" "$SMALL_V1_ID" "$(oci_archive_verify "$CASE_DIR/out.tar" v1)" ;;
        docker-archive)
            assert_eq "RepoTags" '["localhost/conv:v1"]' \
                "$(tar -xOf "$CASE_DIR/out.tar" manifest.json | jq -c '.[0].RepoTags')" ;;
    esac
    verify_image "$tr" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
    check_files "$kind" "$tr" "$SMALL_V1_TEXT"
}

for src in "${SOURCES[@]}"; do
    for kind in oci oci-archive docker-archive; do
        t "$(basename "${src#*:}") -> $kind" convert "$src" "$kind"
    done
done

# --compress: the layer encoding follows the flag; ID and diff_ids do not move.
compress() { # compress KIND none|gzip|zstd
    local kind=$1 c=$2 dest tr
    read -r dest tr <<<"$(dest_for "$kind")"
    expect_ok process "docker-archive:$FIXTURES/small-v1.buildah.docker.tar" "$dest" --compress "$c" --json
    check_process_json "$SMALL_V1_ID" 3
    verify_image "$tr" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
    if [[ $kind == docker-archive ]]; then
        assert_eq "layer compression in docker-archive" "$c" "$(docker_archive_layer_compressions "$CASE_DIR/out.tar")"
    else
        oci_layer_check "$tr" "$c"
    fi
    check_files "$kind" "$tr" "$SMALL_V1_TEXT"
}
for kind in oci oci-archive docker-archive; do
    for c in none gzip zstd; do
        # docker-archive layers are plain tar by design: only "none" is accepted.
        [[ $kind == docker-archive && $c != none ]] && continue
        t "--compress $c -> $kind" compress "$kind" "$c"
    done
done
compress_refused() { # compress_refused gzip|zstd: usage error, nothing written
    mkdir -p "$CASE_DIR/d"
    expect_fail 2 'compress' process "docker-archive:$FIXTURES/small-v1.buildah.docker.tar" \
        "docker-archive:$CASE_DIR/d/out.tar" --compress "$1"
    assert_dir_empty "$CASE_DIR/d"
}
t "--compress gzip -> docker-archive refused" compress_refused gzip
t "--compress zstd -> docker-archive refused" compress_refused zstd
# Recompressing a zstd source to gzip and back keeps the ID too.
recompress() { # recompress SRC none|gzip|zstd
    expect_ok process "$1" "oci:$CASE_DIR/out:v1" --compress "$2"
    verify_image "oci:$CASE_DIR/out:v1" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
    oci_layer_check "oci:$CASE_DIR/out:v1" "$2"
}
t "zstd oci-archive --compress gzip" recompress "oci-archive:$FIXTURES/small-v1.zstd.oci.tar" gzip
t "gzip oci --compress zstd" recompress "oci:$FIXTURES/small-v1.oci" zstd
t "gzip oci --compress none" recompress "oci:$FIXTURES/small-v1.oci" none

# Picking one image out of a multi-image source.
pick() { # pick SOURCE EXPECTED_ID EXPECTED_DIFF_IDS TEXT
    expect_ok process "$1" "oci:$CASE_DIR/out:v1" --json
    check_process_json "$2" 3
    verify_image "oci:$CASE_DIR/out:v1" "$2" "$3"
    check_rootfs "$(umoci_unpack "$CASE_DIR/out" v1)" "$4"
}
MULTI=$FIXTURES/small-v1v2.podman.docker.tar
t "podman -m archive :@0" pick "docker-archive:$MULTI:@0" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" "$SMALL_V1_TEXT"
t "podman -m archive :@1" pick "docker-archive:$MULTI:@1" "$SMALL_V2_ID" "$SMALL_V2_DIFF_IDS" "$SMALL_V2_TEXT"
t "podman -m archive :localhost/small:v2" pick "docker-archive:$MULTI:localhost/small:v2" "$SMALL_V2_ID" "$SMALL_V2_DIFF_IDS" "$SMALL_V2_TEXT"
t "podman -m archive :localhost/small:v1" pick "docker-archive:$MULTI:localhost/small:v1" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" "$SMALL_V1_TEXT"
t "oci dir with two refs :v2" pick "oci:$FIXTURES/small-v1v2.oci:v2" "$SMALL_V2_ID" "$SMALL_V2_DIFF_IDS" "$SMALL_V2_TEXT"
t "oci dir with two refs :v1" pick "oci:$FIXTURES/small-v1v2.oci:v1" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" "$SMALL_V1_TEXT"
t "podman oci-archive ref with a colon" pick "oci-archive:$FIXTURES/small-v1.podman.oci.tar:localhost/small:v1" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS" "$SMALL_V1_TEXT"

finish
