#!/usr/bin/env bash
# Filters that rewrite layers: normalize-timestamps changes every layer's bytes, so the config
# must follow (new diff_ids, new image ID) and the result must still be a sound image that
# skopeo copies, every layer hashing to its diff_id, and that a real dockerd loads and runs.
# Needs DOCKERD_ENV from tests/fixtures/dockerd.sh start DIR.
. "$(dirname "$0")/lib.sh"
[[ -n ${DOCKERD_ENV:-} && -f $DOCKERD_ENV ]] || { echo "FAIL: DOCKERD_ENV must name the env file of a running tests/fixtures/dockerd.sh" >&2; exit 1; }
# shellcheck disable=SC1090
. "$DOCKERD_ENV"

# normalized SOURCE [EPOCH] -> runs the filter into $CASE_DIR/out.tar and prints the image ID
normalized() {
    local spec=normalize-timestamps
    [[ -n ${2:-} ]] && spec+=":$2"
    expect_ok process "$1" "docker-archive:$CASE_DIR/out.tar:localhost/normalized:v1" --filter "$spec" --json
    jf "$OUT" .image_id
}

# every_mtime_is ARCHIVE EPOCH: all entries of all layers carry that modification time
every_mtime_is() {
    local archive=$1 epoch=$2 layer times
    for layer in $(tar -xOf "$archive" manifest.json | jq -r '.[0].Layers[]'); do
        times=$(tar -xOf "$archive" "$layer" | tar --numeric-owner --full-time -tvf - | awk '{print $4" "$5}' | sort -u)
        assert_eq "mtimes in $layer" "$(date -u -d "@$epoch" '+%Y-%m-%d %H:%M:%S')" "$times"
    done
}

rewrites_layers_and_config() {
    local id
    id=$(normalized "docker-archive:$FIXTURES/small-v1.buildah.docker.tar")
    [[ $id != "$SMALL_V1_ID" ]] || fail "the image ID did not change although every layer did"
    local tr="docker-archive:$CASE_DIR/out.tar"
    verify_image "$tr" "$id" "$(diff_ids "$tr")"   # diff_ids in the config match the new layer bytes
    every_mtime_is "$CASE_DIR/out.tar" 0
    assert_eq "config created" "1970-01-01T00:00:00Z" "$("${SKOPEO[@]}" inspect --config --raw "$tr" | jq -r .created)"
    expect_ok inspect --verify "$tr"
}
t "rewrites layers, config follows" rewrites_layers_and_config

same_result_from_every_source() {
    local a b c
    a=$(normalized "docker-archive:$FIXTURES/small-v1.buildah.docker.tar"); rm -f "$CASE_DIR/out.tar"
    b=$(normalized "oci:$FIXTURES/small-v1.oci:v1"); rm -f "$CASE_DIR/out.tar"
    c=$(normalized "oci-archive:$FIXTURES/small-v1.zstd.oci.tar")
    assert_eq "image ID from the gzip OCI layout" "$a" "$b"
    assert_eq "image ID from the zstd OCI archive" "$a" "$c"
}
t "same image from every source format" same_result_from_every_source

chosen_epoch() {
    normalized "docker-archive:$FIXTURES/small-v1.buildah.docker.tar" 1700000000 >/dev/null
    every_mtime_is "$CASE_DIR/out.tar" 1700000000
}
t "normalize-timestamps:EPOCH" chosen_epoch

loads_and_runs() {
    local id got
    id=$(normalized "docker-archive:$FIXTURES/small-v1.podman.docker.tar")
    got=$(docker load -i "$CASE_DIR/out.tar" 2>&1) || fail "docker load failed: $got"
    assert_eq "docker image ID" "$id" "$(docker image inspect localhost/normalized:v1 --format '{{.Id}}')"
    got=$(docker run --rm --network none localhost/normalized:v1 /bin/busybox cat /hello.txt 2>&1) || fail "docker run failed: $got"
    assert_eq "docker run cat /hello.txt" "$SMALL_V1_TEXT" "$got"
    docker rmi -f localhost/normalized:v1 >/dev/null
}
t "normalized image loads and runs in dockerd" loads_and_runs

bad_epoch() {
    expect_fail 2 'seconds|yesterday' process "docker-archive:$FIXTURES/small-v1.buildah.docker.tar" "docker-archive:$CASE_DIR/out.tar" \
        --filter normalize-timestamps:yesterday
    assert_absent "$CASE_DIR/out.tar"
    # Past year 9999 the config's times cannot be written: refused before anything is read.
    expect_fail 2 'seconds|253402300799' process "docker-archive:$FIXTURES/small-v1.buildah.docker.tar" \
        "docker-archive:$CASE_DIR/out.tar" --filter normalize-timestamps:99999999999999999
    assert_absent "$CASE_DIR/out.tar"
    ! compgen -G "$CASE_DIR/out.tar*" >/dev/null || fail "temporary files left: $(ls "$CASE_DIR")"
}
t "malformed or out-of-range epoch is a usage error" bad_epoch

# ---- exclude and search -------------------------------------------------------
# layer_paths ARCHIVE N: the paths of the docker-archive's layer N (1-based), one per line
layer_paths() { tar -xOf "$1" "$(tar -xOf "$1" manifest.json | jq -r ".[0].Layers[$(($2 - 1))]")" | tar -tf - | sed 's|^\./||; s|/$||' | sort; }

exclude_drops_paths_and_keeps_the_rest() {
    local src=$FIXTURES/app-v1.buildah.docker.tar out=$CASE_DIR/slim.tar id
    expect_ok process "docker-archive:$src" "$out" --filter exclude:usr/share/doc,no-such-name --json
    id=$(jf "$OUT" .image_id)
    [[ $id != "$APP_V1_ID" ]] || fail "the image ID did not follow the change"
    verify_image "docker-archive:$out" "$id" "$(diff_ids "docker-archive:$out")"
    local want got
    want=$(layer_paths "$src" 2 | grep -v '^usr/share/doc')
    got=$(layer_paths "$out" 2)
    assert_eq "layer 2 without usr/share/doc" "$want" "$got"
    # Untouched layers are copied byte for byte: same diff_ids.
    read -r -a before <<<"$APP_V1_DIFF_IDS"; read -r -a after <<<"$(diff_ids "docker-archive:$out")"
    assert_eq "layer 1 diff_id" "${before[0]}" "${after[0]}"
    assert_eq "layer 3 diff_id" "${before[2]}" "${after[2]}"
    [[ ${before[1]} != "${after[1]}" ]] || fail "layer 2 kept its diff_id although a directory left it"
    # Every kept file has its bytes.
    cmp <(tar -xOf "$src" "$(tar -xOf "$src" manifest.json | jq -r '.[0].Layers[1]')" | tar -xOf - usr/lib/app/tool) \
        <(tar -xOf "$out" "$(tar -xOf "$out" manifest.json | jq -r '.[0].Layers[1]')" | tar -xOf - usr/lib/app/tool) \
        || fail "usr/lib/app/tool changed"
    expect_ok inspect --verify "$out"
    got=$(docker load -i "$out" 2>&1) || fail "docker load failed: $got"
    got=$(docker run --rm --network none "$id" /bin/busybox sh -c 'cat /hello.txt; ls /usr/share/doc 2>&1 || true' 2>&1) || fail "docker run failed: $got"
    assert_match "docker run of the slim image" "app v1" "$got"
    assert_match "usr/share/doc is gone in the container" "No such file" "$got"
    docker rmi -f "$id" >/dev/null
}
t "exclude:GLOB drops paths, keeps the rest byte for byte, loads and runs" exclude_drops_paths_and_keeps_the_rest

exclude_nothing_keeps_the_image() {
    expect_ok process "oci:$FIXTURES/small-v1.oci:v1" "$CASE_DIR/same.tar" --filter 'exclude:*.nothing' --json
    assert_eq "image ID with nothing excluded" "$SMALL_V1_ID" "$(jf "$OUT" .image_id)"
}
t "exclude with nothing to exclude keeps the image ID" exclude_nothing_keeps_the_image

exclude_names_at_any_depth() {
    expect_ok process "docker-archive:$FIXTURES/app-v1.buildah.docker.tar" "$CASE_DIR/o.tar" --filter 'exclude:*.gz,tool'
    expect_ok --json search "$CASE_DIR/o.tar" '*.gz' tool
    assert_eq "matches left" 0 "$(jf "$OUT" '.matches | length')"
    expect_ok --json search "$CASE_DIR/o.tar" data.txt
    assert_eq "data.txt stays" "usr/share/app/data.txt" "$(jf "$OUT" '.matches[0].path')"
}
t "exclude: a glob without / matches a name at any depth" exclude_names_at_any_depth

exclude_usage() {
    expect_fail 2 'exclude needs at least one GLOB' process "docker-archive:$FIXTURES/small-v1.buildah.docker.tar" "$CASE_DIR/o.tar" --filter exclude:
    assert_absent "$CASE_DIR/o.tar"
}
t "exclude with no GLOB is a usage error" exclude_usage

search_every_format() {
    local a b c
    expect_ok --json search "docker-archive:$FIXTURES/app-v1.buildah.docker.tar" 'changelog*' hello.txt
    a=$(jf "$OUT" '[.matches[] | [.layer, .diff_id, .path, .type, .size]]')
    assert_eq "matches" 2 "$(jf "$OUT" '.matches | length')"
    assert_eq "hello.txt is in layer 3" 3 "$(jf "$OUT" '.matches[] | select(.path == "hello.txt") | .layer')"
    expect_ok --json search "$FIXTURES/app-v1.podman.oci.tar" 'changelog*' hello.txt
    b=$(jf "$OUT" '[.matches[] | [.layer, .diff_id, .path, .type, .size]]')
    assert_eq "the same matches from an OCI archive" "$a" "$b"
    expect_ok --json process "docker-archive:$FIXTURES/app-v1.buildah.docker.tar" 'search:changelog*,hello.txt'
    c=$(jf "$OUT" '[.matches[] | [.layer, .diff_id, .path, .type, .size]]')
    assert_eq "process ... search: gives the same" "$a" "$c"
    expect_ok search "docker-archive:$FIXTURES/app-v1.buildah.docker.tar" hello.txt
    assert_match "a line per match" '^layer 3 +sha256:[0-9a-f]{12} +file +[0-9]+ +hello.txt$' "$OUT"
    [[ -z $(ls -A "$CASE_DIR" | grep -v '^\.std') ]] || fail "search wrote something: $(ls -A "$CASE_DIR")"
}
t "search: the same answer from every format, writes nothing" search_every_format

search_checks_digests() {
    local bad=$CASE_DIR/bad.tar layer
    cp "$FIXTURES/small-v1.buildah.docker.tar" "$bad"
    layer=$(tar -xOf "$bad" manifest.json | jq -r '.[0].Layers[1]')
    mkdir "$CASE_DIR/x" && tar -C "$CASE_DIR/x" -xf "$bad"
    printf 'Z' | dd of="$CASE_DIR/x/$layer" bs=1 seek=600 conv=notrunc 2>/dev/null
    (cd "$CASE_DIR/x" && tar -cf "$bad" .)
    expect_fail 1 'digest|diff_id|match' search "$bad" '*'
}
t "search refuses a layer whose bytes do not match its digest" search_checks_digests

finish
