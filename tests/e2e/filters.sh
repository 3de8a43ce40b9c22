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

finish
