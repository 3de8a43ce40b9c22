#!/usr/bin/env bash
# Hostile layers and metadata built here, each aimed at one way past the checks: compression
# nested inside compression, a stored digest only a full read can disprove, a zlib stream posing
# as a later gzip member, many moderate decompression bombs in one image, an index that repeats
# a large manifest, over-long tar names, and terminal control characters in names.
. "$(dirname "$0")/lib.sh"

sha() { sha256sum "$1" | cut -d' ' -f1; }

# make_layout DIR BLOB:MEDIA_TYPE:DIFF_ID... -> a one-image OCI layout (ref v1) from scratch
make_layout() {
    local dir=$1; shift
    mkdir -p "$dir/blobs/sha256"
    local layers='[]' diff_ids='[]' spec blob mt diff hex
    for spec in "$@"; do
        IFS=: read -r blob mt diff <<<"$spec"
        hex=$(sha "$blob"); cp "$blob" "$dir/blobs/sha256/$hex"
        layers=$(jq -c --arg d "sha256:$hex" --argjson s "$(stat -c %s "$blob")" --arg m "$mt" \
            '. + [{mediaType: $m, digest: $d, size: $s}]' <<<"$layers")
        diff_ids=$(jq -c --arg d "sha256:$diff" '. + [$d]' <<<"$diff_ids")
    done
    jq -cjn --argjson ids "$diff_ids" '{architecture: "amd64", os: "linux", rootfs: {type: "layers", diff_ids: $ids}}' \
        > "$CASE_DIR/config.json"
    local chex csize; chex=$(sha "$CASE_DIR/config.json"); csize=$(stat -c %s "$CASE_DIR/config.json")
    mv "$CASE_DIR/config.json" "$dir/blobs/sha256/$chex"
    jq -cjn --arg c "sha256:$chex" --argjson cs "$csize" --argjson l "$layers" \
        '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs}, layers: $l}' \
        > "$CASE_DIR/manifest.json"
    local mhex msize; mhex=$(sha "$CASE_DIR/manifest.json"); msize=$(stat -c %s "$CASE_DIR/manifest.json")
    mv "$CASE_DIR/manifest.json" "$dir/blobs/sha256/$mhex"
    jq -cn --arg m "sha256:$mhex" --argjson ms "$msize" \
        '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
          annotations: {"org.opencontainers.image.ref.name": "v1"}}]}' > "$dir/index.json"
    printf '{"imageLayoutVersion": "1.0.0"}' > "$dir/oci-layout"
}

# A small real layer tar to wrap in various ways.
layer_tar() {
    mkdir -p "$CASE_DIR/root/etc"; echo "hostile test" > "$CASE_DIR/root/etc/msg"
    tar --format=posix --mtime=@0 --owner=0 --group=0 -cf "$CASE_DIR/layer.tar" -C "$CASE_DIR/root" .
    echo "$CASE_DIR/layer.tar"
}

rejected_everywhere() {  # rejected_everywhere SOURCE REGEX
    expect_fail 1 "$2" process "$1" "oci:$CASE_DIR/out"
    assert_absent "$CASE_DIR/out"
    expect_fail 1 "$2" process "$1" "docker-archive:$CASE_DIR/out.tar"
    assert_absent "$CASE_DIR/out.tar"
}

nested_compression() {  # xz(gzip(tar)) claiming the diff_id of the tar: docker would hash the gzip
    local t; t=$(layer_tar)
    gzip -c "$t" | xz -c > "$CASE_DIR/layer.blob"
    make_layout "$CASE_DIR/img" "$CASE_DIR/layer.blob:application/vnd.oci.image.layer.v1.tar:$(sha "$t")"
    rejected_everywhere "oci:$CASE_DIR/img" 'diff_id|digest'
}
t "compression nested in xz is not unwrapped" nested_compression

bzip2_wrong_stored_digest() {  # junk after the bzip2 stream: only the stored digest can tell
    local t; t=$(layer_tar)
    bzip2 -c "$t" > "$CASE_DIR/layer.blob"
    make_layout "$CASE_DIR/img" "$CASE_DIR/layer.blob:application/vnd.oci.image.layer.v1.tar:$(sha "$t")"
    local hex; hex=$(sha "$CASE_DIR/layer.blob")
    cp "$CASE_DIR/img/blobs/sha256/$hex" "$CASE_DIR/good.bz2"
    { cat "$CASE_DIR/good.bz2"; head -c 100 /dev/zero; } > "$CASE_DIR/img/blobs/sha256/$hex"
    # Keep the declared size honest, so the digest is the only thing that disagrees.
    local m; m=$(jq -r '.manifests[0].digest' "$CASE_DIR/img/index.json"); m=${m#sha256:}
    jq -c --argjson s "$(stat -c %s "$CASE_DIR/img/blobs/sha256/$hex")" '.layers[0].size = $s' \
        "$CASE_DIR/img/blobs/sha256/$m" > "$CASE_DIR/m.json"
    local nm; nm=$(sha "$CASE_DIR/m.json"); mv "$CASE_DIR/m.json" "$CASE_DIR/img/blobs/sha256/$nm"; rm "$CASE_DIR/img/blobs/sha256/$m"
    jq -c --arg d "sha256:$nm" --argjson s "$(stat -c %s "$CASE_DIR/img/blobs/sha256/$nm")" \
        '.manifests[0].digest = $d | .manifests[0].size = $s' "$CASE_DIR/img/index.json" > "$CASE_DIR/i.json"
    mv "$CASE_DIR/i.json" "$CASE_DIR/img/index.json"
    rejected_everywhere "oci:$CASE_DIR/img" 'digest'
    # The honest bzip2 layer itself is fine.
    make_layout "$CASE_DIR/ok" "$CASE_DIR/good.bz2:application/vnd.oci.image.layer.v1.tar:$(sha "$t")"
    expect_ok process "oci:$CASE_DIR/ok" "oci:$CASE_DIR/ok-out"
}
t "bzip2 layer: the stored digest is checked" bzip2_wrong_stored_digest

zlib_after_gzip() {  # a second "member" that is zlib, not gzip
    local t; t=$(layer_tar)
    head -c 5000 "$t" | gzip -c > "$CASE_DIR/layer.blob"
    tail -c +5001 "$t" | perl -MCompress::Zlib -e 'local $/; print compress(<STDIN>)' >> "$CASE_DIR/layer.blob"
    make_layout "$CASE_DIR/img" "$CASE_DIR/layer.blob:application/vnd.oci.image.layer.v1.tar+gzip:$(sha "$t")"
    rejected_everywhere "oci:$CASE_DIR/img" 'gzip|corrupt'
}
t "a zlib stream after a gzip member is refused" zlib_after_gzip

many_moderate_bombs() {  # each layer alone fits the run's allowance (1 GiB of space); two together do not
    small_tmpdir 1g
    head -c 700M /dev/zero | tee >(zstd -q -1 -c > "$CASE_DIR/zeros.zst") | sha256sum | cut -d' ' -f1 > "$CASE_DIR/zeros.diff"
    for _ in $(seq 1 50); do [[ -s $CASE_DIR/zeros.diff && -s $CASE_DIR/zeros.zst ]] && break; sleep 0.1; done
    sleep 0.5  # zstd in the process substitution may still be flushing
    local l="$CASE_DIR/zeros.zst:application/vnd.oci.image.layer.v1.tar+zstd:$(cat "$CASE_DIR/zeros.diff")"
    make_layout "$CASE_DIR/one" "$l"
    expect_ok inspect --verify "oci:$CASE_DIR/one"
    make_layout "$CASE_DIR/two" "$l" "$l"
    expect_fail 1 'expan|bomb' inspect --verify "oci:$CASE_DIR/two"
    expect_fail 1 'expan|bomb' process "oci:$CASE_DIR/two" "oci:$CASE_DIR/out"
    assert_absent "$CASE_DIR/out"
}
t "decompression allowance is shared by the whole run" many_moderate_bombs

repeated_large_manifest() {  # one 6 MiB manifest listed 50 times: read once, not 50 times
    local src=$FIXTURES/small-v1.oci d=$CASE_DIR/img m mhex
    cp -r "$src" "$d"
    m=$(jq -r '.manifests[0].digest' "$d/index.json"); m=${m#sha256:}
    head -c 4500000 /dev/zero | base64 -w0 > "$CASE_DIR/pad"
    jq -c --rawfile p "$CASE_DIR/pad" '.annotations.padding = $p' "$d/blobs/sha256/$m" > "$CASE_DIR/m.json"
    mhex=$(sha "$CASE_DIR/m.json"); mv "$CASE_DIR/m.json" "$d/blobs/sha256/$mhex"
    jq -c --arg d "sha256:$mhex" --argjson s "$(stat -c %s "$d/blobs/sha256/$mhex")" \
        '.manifests = [range(50) as $i | {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s}]' \
        "$d/index.json" > "$CASE_DIR/i.json"
    mv "$CASE_DIR/i.json" "$d/index.json"
    /usr/bin/time -f '%M' -o "$CASE_DIR/rss" "$DOCKER_DELTA" inspect --json "oci:$d" > "$CASE_DIR/out.json" \
        || fail "inspect failed: $(cat "$CASE_DIR/out.json")"
    assert_eq "image ID" "$SMALL_V1_ID" "$(jq -r .image_id "$CASE_DIR/out.json")"
    local kib; kib=$(tail -1 "$CASE_DIR/rss")
    ((kib < 150 * 1024)) || fail "peak RSS $((kib / 1024)) MiB for a 6 MiB manifest listed 50 times"
}
t "an index repeating a large manifest costs one read" repeated_large_manifest

long_member_name() {
    local long; long=$(printf 'd%.0s' $(seq 1 200)); long="$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/$long/x"
    mkdir -p "$CASE_DIR/x"; tar -C "$CASE_DIR/x" -xf "$FIXTURES/small-v1.buildah.docker.tar"
    echo hi > "$CASE_DIR/x/long"
    tar -C "$CASE_DIR/x" --format=posix -cf "$CASE_DIR/a.tar" --transform "s|/long\$|/$long|" .
    expect_fail 1 'longer|limit' inspect "$CASE_DIR/a.tar"
}
t "over-long member names are refused" long_member_name

control_characters_in_names() {
    mkdir -p "$CASE_DIR/x"; tar -C "$CASE_DIR/x" -xf "$FIXTURES/small-v1.buildah.docker.tar"
    jq -c '.[0].Layers[0] = "ok\rFAKE: all good\u001b[2K.tar"' "$CASE_DIR/x/manifest.json" > "$CASE_DIR/m"
    mv "$CASE_DIR/m" "$CASE_DIR/x/manifest.json"
    tar -C "$CASE_DIR/x" -cf "$CASE_DIR/a.tar" .
    expect_fail 1 'no member|does not hold' process "$CASE_DIR/a.tar" "oci:$CASE_DIR/out"
    [[ $ERR != *$'\r'* && $ERR != *$'\e'* ]] || fail "raw control characters reached stderr: $(printf '%q' "$ERR")"
    assert_match "escaped" '\\x0d' "$ERR"
}
t "control characters in names are escaped in messages" control_characters_in_names

conflicting_platforms() {
    expect_fail 2 'platform' process "oci:$FIXTURES/multi.oci" "oci:$CASE_DIR/out" --platform linux/arm64 \
        --filter platform:linux/amd64
    assert_absent "$CASE_DIR/out"
}
t "--platform and a different platform filter conflict" conflicting_platforms

finish
