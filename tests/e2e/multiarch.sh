#!/usr/bin/env bash
# Multi-arch sources: buildah's nested index (index.json -> image index ->
# manifests) as a directory and an archive, and a flat index. The default is
# the host platform; --platform picks another; a missing platform is an error
# that lists the platforms present.
. "$(dirname "$0")/lib.sh"

SOURCES=(
    "oci:$FIXTURES/multi.oci:v1"
    "oci-archive:$FIXTURES/multi.oci.tar:v1"
    "oci:$FIXTURES/multi-flat.oci"
    "$FIXTURES/multi.oci"
    "$FIXTURES/multi.oci.tar"
)
# The default-platform cases expect an amd64 host, like every machine here.
[[ $(uname -m) == x86_64 ]] || echo "warning: not an amd64 host; default-platform cases will fail" >&2

# pick SOURCE EXPECTED_ID ARCH [--platform P]
pick() {
    local src=$1 id=$2 arch=$3; shift 3
    expect_ok process "$src" "oci:$CASE_DIR/out:v1" --json "$@"
    check_process_json "$id" 2
    assert_eq "config digest (layout check)" "$id" "$(oci_verify_layout "$CASE_DIR/out" v1)"
    if [[ $arch == arm64 ]]; then
        verify_image "oci:$CASE_DIR/out:v1" "$id" "$MULTI_ARM64_DIFF_IDS"
    else
        verify_image "oci:$CASE_DIR/out:v1" "$id" "$MULTI_AMD64_DIFF_IDS"
    fi
    local cfg
    cfg=$("${SKOPEO[@]}" inspect --config --raw "oci:$CASE_DIR/out:v1")
    assert_eq "architecture in output config" "$arch" "$(jq -r .architecture <<<"$cfg")"
    assert_eq "output is a single image (index.json entries)" 1 "$(jq '.manifests | length' "$CASE_DIR/out/index.json")"
    assert_match "output manifest is an image manifest" 'manifest' "$(jq -r '.manifests[0].mediaType' "$CASE_DIR/out/index.json")"
    local root
    root=$(umoci_unpack "$CASE_DIR/out" v1)
    assert_eq "/arch.txt" "$arch" "$(cat "$root/arch.txt")"
    [[ -f $root/bin/busybox ]] || fail "no /bin/busybox"
}

missing() { # missing SOURCE: s390x is not in the index; the error lists what is
    mkdir -p "$CASE_DIR/d"
    expect_fail 1 'linux/amd64' process "$1" "oci:$CASE_DIR/d/out:v1" --platform linux/s390x
    assert_match "error lists arm64" 'linux/arm64' "$ERR"
    assert_dir_empty "$CASE_DIR/d"
}

for src in "${SOURCES[@]}"; do
    name=$(basename "${src#*:}")
    t "$name default platform -> amd64" pick "$src" "$MULTI_AMD64_ID" amd64
    t "$name --platform linux/arm64" pick "$src" "$MULTI_ARM64_ID" arm64 --platform linux/arm64
    t "$name --platform linux/arm64/v8" pick "$src" "$MULTI_ARM64_ID" arm64 --platform linux/arm64/v8
    t "$name --platform linux/amd64" pick "$src" "$MULTI_AMD64_ID" amd64 --platform linux/amd64
    t "$name --platform linux/s390x fails" missing "$src"
done

to_docker() { # arm64 out of the index into a docker archive
    expect_ok process "oci:$FIXTURES/multi.oci:v1" "docker-archive:$CASE_DIR/out.tar:localhost/arm:v1" --platform linux/arm64 --json
    check_process_json "$MULTI_ARM64_ID" 2
    local cfg
    cfg=$("${SKOPEO[@]}" inspect --config --raw "docker-archive:$CASE_DIR/out.tar")
    assert_eq "architecture" arm64 "$(jq -r .architecture <<<"$cfg")"
    assert_eq "variant" v8 "$(jq -r .variant <<<"$cfg")"
    verify_image "docker-archive:$CASE_DIR/out.tar" "$MULTI_ARM64_ID" "$MULTI_ARM64_DIFF_IDS"
}
t "multi -> docker-archive --platform linux/arm64" to_docker

inspect_multi() { # inspect_multi SOURCE
    expect_ok inspect "$1" --json
    jq -e . >/dev/null <<<"$OUT" || fail "not JSON: $OUT"
    assert_eq "platforms" '["linux/amd64","linux/arm64/v8"]' "$(jf "$OUT" '.platforms | sort | tostring')"
    assert_eq "platform (host default)" linux/amd64 "$(jf "$OUT" .platform)"
    assert_eq "image_id (host default)" "$MULTI_AMD64_ID" "$(jf "$OUT" .image_id)"
    expect_ok inspect "$1" --json --platform linux/arm64
    assert_eq "platform" linux/arm64/v8 "$(jf "$OUT" .platform)"
    assert_eq "image_id" "$MULTI_ARM64_ID" "$(jf "$OUT" .image_id)"
    assert_eq "layer count" 2 "$(jf "$OUT" '.layers | length')"
    expect_fail 1 'linux/amd64' inspect "$1" --json --platform linux/s390x
    assert_match "error lists arm64" 'linux/arm64' "$ERR"
}
for src in "${SOURCES[@]}"; do
    t "inspect $(basename "${src#*:}")" inspect_multi "$src"
done

single_platforms() { # a single-arch image reports just its own platform
    expect_ok inspect "docker-archive:$FIXTURES/small-v1.buildah.docker.tar" --json
    assert_eq "platforms" '["linux/amd64"]' "$(jf "$OUT" '.platforms | tostring')"
    assert_eq "platform" linux/amd64 "$(jf "$OUT" .platform)"
}
t "inspect single-arch platforms" single_platforms

single_mismatch() { # --platform that the only image does not have
    mkdir -p "$CASE_DIR/d"
    expect_fail 1 'linux/amd64' process "docker-archive:$FIXTURES/small-v1.buildah.docker.tar" "oci:$CASE_DIR/d/out" --platform linux/arm64
    assert_dir_empty "$CASE_DIR/d"
}
t "single-arch source, --platform linux/arm64 fails" single_mismatch

finish
