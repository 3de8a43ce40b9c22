#!/usr/bin/env bash
# docker-archive outputs load into a real dockerd (20.10) with the right image
# ID and tag and run; archives saved by that dockerd (legacy layout, repeated
# layers as symlinks) convert back. Needs DOCKERD_ENV from
# tests/fixtures/dockerd.sh start DIR.
. "$(dirname "$0")/lib.sh"
[[ -n ${DOCKERD_ENV:-} && -f $DOCKERD_ENV ]] || { echo "FAIL: DOCKERD_ENV must name the env file of a running tests/fixtures/dockerd.sh" >&2; exit 1; }
# shellcheck disable=SC1090
. "$DOCKERD_ENV"
docker version >/dev/null 2>&1 || { echo "FAIL: dockerd at $DOCKER_HOST does not answer" >&2; exit 1; }

# load_and_run SOURCE EXPECTED_ID TEXT [extra process args...]
load_and_run() {
    local src=$1 id=$2 text=$3; shift 3
    local ref
    ref=localhost/e2e-$(basename "$CASE_DIR" | tr -c 'a-z0-9' '-' | cut -c1-40 | sed 's/-*$//'):v1
    expect_ok process "$src" "docker-archive:$CASE_DIR/out.tar:$ref" "$@"
    local log
    log=$(docker load -i "$CASE_DIR/out.tar" 2>&1) || fail "docker load failed: $log"
    assert_match "docker load output" "Loaded image: $ref" "$log"
    assert_eq "docker image ID" "$id" "$(docker image inspect "$ref" --format '{{.Id}}')"
    assert_match "RepoTags" "\"$ref\"" "$(docker image inspect "$ref" --format '{{json .RepoTags}}')"
    local got
    got=$(docker run --rm --network none "$ref" /bin/busybox cat /hello.txt 2>&1) || fail "docker run failed: $got"
    assert_eq "docker run cat /hello.txt" "$text" "$got"
    got=$(docker run --rm --network none "$ref" /bin/busybox readlink /etc/app-link 2>&1 || true)
    [[ $text == "$DUP_TEXT" ]] || assert_eq "symlink in container" app.conf "$got"
    docker rmi -f "$ref" >/dev/null
}

V1=("$SMALL_V1_ID" "$SMALL_V1_TEXT")
t "buildah docker-archive" load_and_run "docker-archive:$FIXTURES/small-v1.buildah.docker.tar" "${V1[@]}"
t "skopeo docker-archive" load_and_run "docker-archive:$FIXTURES/small-v1.skopeo.docker.tar" "${V1[@]}"
t "podman docker-archive" load_and_run "docker-archive:$FIXTURES/small-v1.podman.docker.tar" "${V1[@]}"
t "gzip-compressed docker archive (bare)" load_and_run "$FIXTURES/small-v1.docker.tar.gz" "${V1[@]}"
t "zstd-compressed docker archive (bare)" load_and_run "$FIXTURES/small-v1.docker.tar.zst" "${V1[@]}"
t "podman oci-archive" load_and_run "oci-archive:$FIXTURES/small-v1.podman.oci.tar" "${V1[@]}"
t "skopeo oci dir" load_and_run "oci:$FIXTURES/small-v1.oci:v1" "${V1[@]}"
t "zstd oci-archive (docker 20.10 has no zstd)" load_and_run "oci-archive:$FIXTURES/small-v1.zstd.oci.tar" "${V1[@]}"
t "zstd oci dir --compress none" load_and_run "oci:$FIXTURES/small-v1.zstd.oci:v1" "${V1[@]}" --compress none
t "oci dir --compress none" load_and_run "oci:$FIXTURES/small-v1.oci:v1" "${V1[@]}" --compress none
t "docker25 layout" load_and_run "$FIXTURES/small-v1.docker25.tar" "${V1[@]}"
t "containerd layout" load_and_run "$FIXTURES/small-v1.containerd.tar" "${V1[@]}"
t "schema2-in-OCI layout" load_and_run "oci:$FIXTURES/small-v1.schema2.oci:v1" "${V1[@]}"
t "podman -m archive :@1" load_and_run "docker-archive:$FIXTURES/small-v1v2.podman.docker.tar:@1" "$SMALL_V2_ID" "$SMALL_V2_TEXT"
t "legacy layout, repeated layer" load_and_run "$FIXTURES/dup-v1.legacy.tar" "$DUP_ID" "$DUP_TEXT"
t "legacy layout, symlink first" load_and_run "$FIXTURES/dup-v1.legacy-symlink-first.tar" "$DUP_ID" "$DUP_TEXT"

arm64_loads() { # a foreign-arch image loads with its platform (it cannot run here)
    local ref=localhost/e2e-arm-$$:v1
    expect_ok process "oci:$FIXTURES/multi.oci:v1" "docker-archive:$CASE_DIR/out.tar:$ref" --platform linux/arm64
    docker load -i "$CASE_DIR/out.tar" >/dev/null 2>&1 || fail "docker load failed"
    assert_eq "docker image ID" "$MULTI_ARM64_ID" "$(docker image inspect "$ref" --format '{{.Id}}')"
    assert_eq "Architecture" arm64 "$(docker image inspect "$ref" --format '{{.Architecture}}')"
    docker rmi -f "$ref" >/dev/null
}
t "multi-arch --platform linux/arm64 loads" arm64_loads

untagged() { # no REF in DEST: loads all the same, by ID
    expect_ok process "oci:$FIXTURES/small-v1.oci:v1" "docker-archive:$CASE_DIR/out.tar"
    local log
    log=$(docker load -i "$CASE_DIR/out.tar" 2>&1) || fail "docker load failed: $log"
    assert_eq "docker image ID" "$SMALL_V1_ID" "$(docker image inspect "$SMALL_V1_ID" --format '{{.Id}}')"
}
t "docker-archive without REF loads" untagged

# docker save from this dockerd: the Docker <=24 layout for real, with the
# repeated layer written as <id>/layer.tar -> ../<id1>/layer.tar.
from_docker_save() {
    docker load -i "$FIXTURES/dup-v1.buildah.docker.tar" >/dev/null 2>&1 || fail "docker load of fixture failed"
    docker load -i "$FIXTURES/small-v1.buildah.docker.tar" >/dev/null 2>&1 || fail "docker load of fixture failed"
    docker save -o "$CASE_DIR/saved.tar" "$DUP_REF" "$SMALL_V1_REF" || fail "docker save failed"
    local list
    list=$(tar -tvf "$CASE_DIR/saved.tar")
    grep -q '^l.*layer.tar -> \.\./' <<<"$list" || fail "docker save wrote no symlinked layer (fixture assumption)"
    expect_ok process "docker-archive:$CASE_DIR/saved.tar:$DUP_REF" "oci:$CASE_DIR/dup:v1" --json
    check_process_json "$DUP_ID" 3
    verify_image "oci:$CASE_DIR/dup:v1" "$DUP_ID" "$DUP_DIFF_IDS"
    expect_ok process "docker-archive:$CASE_DIR/saved.tar:$SMALL_V1_REF" "oci-archive:$CASE_DIR/small.tar:v1"
    verify_image "oci-archive:$CASE_DIR/small.tar:v1" "$SMALL_V1_ID" "$SMALL_V1_DIFF_IDS"
    docker rmi -f "$DUP_REF" "$SMALL_V1_REF" >/dev/null
}
t "docker save (two images, symlinked layer) converts back" from_docker_save

finish
