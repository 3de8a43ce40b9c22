#!/usr/bin/env bash
# Delta packages of every shape of change (tests/fixtures/make-shape-pairs.sh: changed, fresh,
# empty layer, config-only, removed, reordered, split, whiteout-only), each through every -m and
# every -c: the applied image must be v2 exactly (image ID and every diff_id, layers re-read).
# Then a layer holding a 2 GiB sparse file: a package of it and the image itself as a zstd OCI
# archive and as a gzip -1 docker save must read with default options, as skopeo and docker do.
#   SHAPES_FIXTURES   output of make-shape-pairs.sh (default: beside FIXTURES; built if absent)
. "$(dirname "$0")/lib.sh"

: "${SHAPES_FIXTURES:=$(dirname "$FIXTURES")/shapes}"
if [[ ! -e $SHAPES_FIXTURES/.done ]]; then
    "$E2E_DIR/../fixtures/make-shape-pairs.sh" "$SHAPES_FIXTURES" >/dev/null \
        || { echo "FAIL: cannot build the shape pairs in $SHAPES_FIXTURES" >&2; exit 1; }
fi
# shellcheck disable=SC1091
. "$SHAPES_FIXTURES/shapes.env"
V1=$SHAPES_FIXTURES/base.docker.tar
METHODS="zstd suffix xdelta3 bsdiff layer"
COMPRESSIONS="zstd gzip bzip2 xz none"

# image_facts SOURCE: "IMAGE_ID DIFF_ID..." as docker_delta reads it, every layer re-read
# and checked against its digest and diff_id (--verify).
image_facts() {
    expect_ok --json inspect --verify "$1"
    jq -r '[.image_id] + [.layers[] | select(.present) | .diff_id] | join(" ")' <<<"$OUT"
}
want_facts() { # want_facts SHAPE -> "IMAGE_ID DIFF_ID..." from the fixture's own config
    local id=SHAPE_${1^^}_ID diffs=SHAPE_${1^^}_DIFF_IDS
    echo "${!id} ${!diffs}"
}

fixture_reads_as_built() { # docker_delta reads v1 and v2 as the fixture script wrote them
    local s
    assert_eq "v1 as inspect reads it" "$(want_facts base)" "$(image_facts "$V1")"
    for s in $SHAPES; do
        assert_eq "$s v2 as inspect reads it" "$(want_facts "$s")" "$(image_facts "$SHAPES_FIXTURES/$s.docker.tar")"
    done
}
t "the shape pairs read as built" fixture_reads_as_built

# How each layer ships (create --json), checked against the shape: a layer v1 has is reused,
# whatever the method; -m layer never ships a delta; a changed layer ships as a delta when a
# delta method is asked for; a delta names its bases (a fresh layer that matches nothing must
# ship whole, or as a delta that still names them).
check_ships() { # check_ships SHAPE METHOD (create's --json output in $OUT)
    local shape=$1 method=$2 list base_ids
    list=$(jq -c .layer_list <<<"$OUT")
    base_ids=$(jq -R 'split(" ")' <<<"$SHAPE_BASE_DIFF_IDS")
    assert_eq "layers in v1 that do not ship as reused" "" \
        "$(jq -r --argjson b "$base_ids" '[.[] | select((.diff_id as $d | $b | index($d)) and .ship != "reused") | .diff_id] | join(" ")' <<<"$list")"
    assert_eq "layers in the package" "$(wc -w <<<"$(want_facts "$shape")")" "$(($(jq length <<<"$list") + 1))"
    if [[ $method == layer ]]; then
        assert_eq "deltas with -m layer" 0 "$(jq '[.[] | select(.ship == "delta")] | length' <<<"$list")"
    elif [[ $shape == changed ]]; then
        assert_eq "changed layers shipped as deltas" "delta delta" "$(jq -r '[.[] | select(.ship != "reused") | .ship] | join(" ")' <<<"$list")"
    fi
    # The header as written: every delta names the base layers it reads.
    expect_ok --json list pkg.dd
    assert_eq "deltas in the header without bases" 0 \
        "$(jq '[.[] | select(.ship == "delta" and ((.bases // []) | length) == 0)] | length' <<<"$OUT")"
}

shape_roundtrip() { # shape_roundtrip SHAPE METHOD COMPRESSION
    local shape=$1 method=$2 comp=$3 v2=$SHAPES_FIXTURES/$1.docker.tar
    expect_ok --json create --base "$V1" "$v2" pkg.dd -m "$method" -c "$comp"
    [[ -s pkg.dd ]] || fail "no package written"
    check_ships "$shape" "$method"
    expect_ok apply --base "$V1" pkg.dd "docker-archive:out.tar:shape:v2"
    assert_eq "applied image (ID, diff_ids)" "$(want_facts "$shape")" "$(image_facts out.tar)"
    assert_eq "tag of the applied image" '["shape:v2"]' "$(tar -xOf out.tar manifest.json | jq -c '.[0].RepoTags')"
}
for s in $SHAPES; do
    for m in $METHODS; do
        for c in $COMPRESSIONS; do
            t "$s: -m $m -c $c" shape_roundtrip "$s" "$m" "$c"
        done
    done
done

# One method per shape into an OCI layout, checked without docker_delta: blobs, sizes,
# digests and diff_ids by jq and sha256sum.
shape_to_oci() { # shape_to_oci SHAPE METHOD
    local shape=$1 method=$2 id=SHAPE_${1^^}_ID
    expect_ok create --base "$V1" "$SHAPES_FIXTURES/$shape.docker.tar" pkg.dd -m "$method"
    expect_ok apply --base "$V1" pkg.dd oci:out.d:v2
    assert_eq "image ID in the OCI layout" "${!id}" "$(oci_verify_layout out.d v2)"
    local diffs=SHAPE_${1^^}_DIFF_IDS cfg
    cfg=$(jq -r '.manifests[0].digest' out.d/index.json)
    cfg=$(jq -r .config.digest "out.d/blobs/sha256/${cfg#sha256:}")
    assert_eq "diff_ids in the OCI layout" "${!diffs}" "$(jq -r '.rootfs.diff_ids | join(" ")' "out.d/blobs/sha256/${cfg#sha256:}")"
}
i=0
read -r -a method_list <<<"$METHODS"
for s in $SHAPES; do
    m=${method_list[i % ${#method_list[@]}]}
    t "$s: -m $m into oci:DIR" shape_to_oci "$s" "$m"
    i=$((i + 1))
done

# ---- a layer holding a 2 GiB sparse file ------------------------------------------------
BIG=$E2E_TMP/big
# big_image: $BIG/big.docker.tar = v1 + a layer with /big/sparse.img (2 GiB of holes), made by
# buildah from the v1 archive in a throw-away storage. Built once, by the first case that asks.
big_image() {
    local avail
    avail=$(df -P --block-size=1G "$E2E_TMP" | awk 'NR == 2 {print $4}')
    ((avail >= 10)) || skip "only $avail GiB free under $E2E_TMP; the 2 GiB sparse cases need 10 GiB"
    [[ -e $BIG/.done ]] && return 0
    command -v buildah >/dev/null || skip "buildah is not installed"
    mkdir -p "$BIG"
    local st=$BIG/.storage run c
    run=$(mktemp -d /tmp/dd-run.XXXXXX)
    mkdir -p "$st/graph" "$st/tmp"
    printf '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n' "$st/graph" "$run" > "$st/storage.conf"
    printf '{"default": [{"type": "insecureAcceptAnything"}]}\n' > "$st/policy.json"
    local -a bh=(buildah --storage-driver vfs --root "$st/graph" --runroot "$run")
    truncate -s 2G "$BIG/sparse.img"
    (
        export CONTAINERS_STORAGE_CONF=$st/storage.conf TMPDIR=$st/tmp
        c=$("${bh[@]}" from -q --signature-policy "$st/policy.json" "docker-archive:$V1")
        "${bh[@]}" add -q "$c" "$BIG/sparse.img" /big/sparse.img >/dev/null
        "${bh[@]}" commit -q --timestamp 1700000000 --signature-policy "$st/policy.json" "$c" localhost/shape:big >/dev/null
        "${bh[@]}" push -q --signature-policy "$st/policy.json" localhost/shape:big \
            "docker-archive:$BIG/big.docker.tar:localhost/shape:big"
        "${bh[@]}" rm --all >/dev/null
    ) >"$BIG/build.log" 2>&1 || { rm -rf "$st" "$run"; fail "buildah could not build the sparse image: $(tail -5 "$BIG/build.log")"; }
    rm -rf "$st" "$run" "$BIG/sparse.img"
    # Facts from skopeo, which reads the config only: the image ID and diff_ids to expect.
    echo "$(config_digest "docker-archive:$BIG/big.docker.tar") $(diff_ids "docker-archive:$BIG/big.docker.tar")" > "$BIG/facts"
    touch "$BIG/.done"
}
big_facts() { cat "$BIG/facts"; }
# top_layer_sha DOCKER_ARCHIVE: sha256 of the top layer's bytes, by tar and sha256sum
top_layer_sha() {
    local l
    l=$(tar -xOf "$1" manifest.json | jq -r '.[0].Layers[-1]')
    echo "sha256:$(tar -xOf "$1" "$l" | sha256sum | cut -d' ' -f1)"
}

big_package() {
    big_image
    expect_ok create --base "$V1" "$BIG/big.docker.tar" pkg.dd
    expect_ok apply --base "$V1" pkg.dd docker-archive:out.tar
    local facts
    facts=$(big_facts)
    assert_eq "applied image (ID, diff_ids)" "$facts" "$(image_facts out.tar)"
    assert_eq "bytes of the sparse layer" "${facts##* }" "$(top_layer_sha out.tar)"
}
t "2 GiB sparse layer: the default package applies by default" big_package

big_zstd_oci() {
    big_image
    expect_ok process "$BIG/big.docker.tar" oci-archive:big.oci.tar --compress zstd
    oci_layer_check oci-archive:big.oci.tar zstd
    local facts
    facts=$(big_facts)
    assert_eq "zstd OCI archive as inspect --verify reads it" "$facts" "$(image_facts oci-archive:big.oci.tar)"
    expect_ok process oci-archive:big.oci.tar docker-archive:back.tar
    assert_eq "image back from the zstd OCI archive" "$facts" "$(image_facts back.tar)"
    assert_eq "bytes of the sparse layer" "${facts##* }" "$(top_layer_sha back.tar)"
}
t "2 GiB sparse layer: a zstd OCI archive reads by default" big_zstd_oci

big_gzip_save() {
    big_image
    gzip -1 -c "$BIG/big.docker.tar" > big.docker.tar.gz
    local facts
    facts=$(big_facts)
    assert_eq "gzip -1 docker archive as inspect --verify reads it" "$facts" "$(image_facts big.docker.tar.gz)"
    expect_ok process big.docker.tar.gz oci:out.d:v2
    assert_eq "image ID in the OCI layout from the gzip archive" "${facts%% *}" "$(oci_verify_layout out.d v2)"
}
t "2 GiB sparse layer: a gzip -1 docker save reads by default" big_gzip_save

finish
