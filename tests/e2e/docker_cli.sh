#!/usr/bin/env bash
# What a docker user meets: docker_delta as `docker delta` (Debian's docker client finds it as a
# CLI plugin and passes its --host and --context on), the docker CLI's contexts, destinations
# named as `docker save -o` names them, and --progress=json for programs that wrap the tool.
# Needs DOCKERD_ENV from tests/fixtures/dockerd.sh start DIR.
. "$(dirname "$0")/lib.sh"
[[ -n ${DOCKERD_ENV:-} && -f $DOCKERD_ENV ]] || { echo "FAIL: DOCKERD_ENV must name the env file of a running tests/fixtures/dockerd.sh" >&2; exit 1; }
# shellcheck disable=SC1090
. "$DOCKERD_ENV"
DEBIAN_DOCKER=/usr/bin/docker   # Debian's docker.io client, not whatever else is on PATH
SMALL=$FIXTURES/small-v1.buildah.docker.tar

# plugin_config DIR: a docker config directory whose cli-plugins/ holds the plugin link
plugin_config() {
    mkdir -p "$1/cli-plugins"
    ln -sf "$DOCKER_DELTA" "$1/cli-plugins/docker-delta"
}

plugin_metadata() {
    plugin_config "$CASE_DIR/cfg"
    local meta
    meta=$("$CASE_DIR/cfg/cli-plugins/docker-delta" docker-cli-plugin-metadata) || fail "metadata call failed"
    assert_eq "SchemaVersion" "0.1.0" "$(jf "$meta" .SchemaVersion)"
    assert_eq "Vendor" "docker_delta" "$(jf "$meta" .Vendor)"
    assert_match "Version" '^[0-9]+\.[0-9]+\.[0-9]+' "$(jf "$meta" .Version)"
    [[ -n $(jf "$meta" .ShortDescription) ]] || fail "no ShortDescription"
}
t "the plugin answers docker-cli-plugin-metadata" plugin_metadata

docker_runs_the_plugin() {
    [[ -x $DEBIAN_DOCKER ]] || skip "Debian's docker client ($DEBIAN_DOCKER) is not installed"
    plugin_config "$CASE_DIR/cfg"
    export DOCKER_CONFIG=$CASE_DIR/cfg
    "$DEBIAN_DOCKER" --help | grep -E '^  delta\*? +Ship images' >/dev/null || fail "docker --help does not list delta: $("$DEBIAN_DOCKER" --help | grep -i delta)"
    local help
    help=$("$DEBIAN_DOCKER" delta --help)
    [[ $help == *'Usage: docker delta'* ]] || fail "docker delta --help is not ours"
    docker load -i "$SMALL" >/dev/null
    local host=$DOCKER_HOST got
    # docker's own --host reaches the plugin: with DOCKER_HOST unset, only it names the daemon.
    got=$(env -u DOCKER_HOST "$DEBIAN_DOCKER" -H "$host" delta --json process "docker-daemon:$SMALL_V1_REF" "$CASE_DIR/via-host.tar" 2>&1) \
        || fail "docker -H ... delta process failed: $got"
    assert_eq "image ID through docker -H" "$SMALL_V1_ID" "$(jf "$got" .image_id)"
    # And a docker context.
    env -u DOCKER_HOST "$DEBIAN_DOCKER" context create e2e-ctx --docker "host=$host" >/dev/null 2>&1
    got=$(env -u DOCKER_HOST "$DEBIAN_DOCKER" --context e2e-ctx delta --json process "docker-daemon:$SMALL_V1_REF" "$CASE_DIR/via-ctx.tar" 2>&1) \
        || fail "docker --context ... delta process failed: $got"
    assert_eq "image ID through docker --context" "$SMALL_V1_ID" "$(jf "$got" .image_id)"
    # A wrong global option is named.
    got=$(env -u DOCKER_HOST "$DEBIAN_DOCKER" delta --bogus stages 2>&1) && fail "an unknown option was accepted"
    assert_match "unknown option" "bogus" "$got"
}
t "docker runs docker delta, with its --host and --context" docker_runs_the_plugin

docker_contexts_without_docker() {
    mkdir -p "$CASE_DIR/cfg"
    local host=$DOCKER_HOST name=site meta
    meta=$CASE_DIR/cfg/contexts/meta/$(printf '%s' "$name" | sha256sum | cut -c1-64)
    mkdir -p "$meta"
    jq -n --arg n "$name" --arg h "$host" '{Name: $n, Metadata: {}, Endpoints: {docker: {Host: $h, SkipTLSVerify: false}}}' >"$meta/meta.json"
    export DOCKER_CONFIG=$CASE_DIR/cfg
    unset DOCKER_HOST
    docker --host "$host" load -i "$SMALL" >/dev/null
    DOCKER_CONTEXT=$name expect_ok --json inspect "docker-daemon:$SMALL_V1_REF"
    assert_eq "image ID through DOCKER_CONTEXT" "$SMALL_V1_ID" "$(jf "$OUT" .image_id)"
    jq -n --arg n "$name" '{currentContext: $n}' >"$CASE_DIR/cfg/config.json"
    expect_ok --json inspect "docker-daemon:$SMALL_V1_REF"
    assert_eq "image ID through currentContext" "$SMALL_V1_ID" "$(jf "$OUT" .image_id)"
    DOCKER_CONTEXT=missing expect_fail 1 "docker context 'missing'.*does not exist" inspect "docker-daemon:$SMALL_V1_REF"
}
t "docker_delta follows the docker CLI's current context" docker_contexts_without_docker

bare_destinations() {
    expect_ok --json process "$SMALL" "$CASE_DIR/out.tar"
    assert_eq "a .tar DEST is a docker-archive" "docker-archive:$CASE_DIR/out.tar" "$(jf "$OUT" .destination)"
    local got
    got=$(docker load -i "$CASE_DIR/out.tar" 2>&1) || fail "docker load of out.tar failed: $got"
    # An existing layout is replaced with --force, as a layout.
    expect_ok process "$FIXTURES/small-v2.buildah.docker.tar" "oci:$CASE_DIR/layout"
    expect_ok --json process "$SMALL" "$CASE_DIR/layout" --force
    assert_eq "an existing directory DEST is an OCI layout" "$SMALL_V1_ID" "$(config_digest "oci:$CASE_DIR/layout")"
    expect_ok process "$SMALL" "$CASE_DIR/new-layout/"
    [[ -f $CASE_DIR/new-layout/oci-layout ]] || fail "a DEST ending in / is not an OCI layout"
    expect_ok process "$SMALL" "$CASE_DIR/img.oci" --format oci-archive
    assert_eq "--format oci-archive" "$SMALL_V1_ID" "$(config_digest "oci-archive:$CASE_DIR/img.oci")"
    expect_fail 2 'end it in \.tar|--format' process "$SMALL" "$CASE_DIR/nothing-like-a-tar"
    assert_absent "$CASE_DIR/nothing-like-a-tar"
    expect_fail 2 'disagree' process "$SMALL" "oci:$CASE_DIR/x" --format docker-archive
    # A preset's own type comes first.
    expect_ok archive-to-oci "$SMALL" "$CASE_DIR/dir.tar"
    [[ -d $CASE_DIR/dir.tar && -f $CASE_DIR/dir.tar/index.json ]] || fail "archive-to-oci x.tar did not write a layout"
}
t "bare destinations: PATH.tar, a directory, --format" bare_destinations

apply_to_a_bare_tar() {
    expect_ok create --base "$FIXTURES/small-v1.buildah.docker.tar" "$FIXTURES/small-v2.buildah.docker.tar" "$CASE_DIR/u.ddelta"
    expect_ok --json apply --base "$FIXTURES/small-v1.buildah.docker.tar" "$CASE_DIR/u.ddelta" "$CASE_DIR/v2.tar"
    assert_eq "apply PACKAGE v2.tar" "$SMALL_V2_ID" "$(jf "$OUT" .image_id)"
    assert_eq "written as a docker-archive" "$SMALL_V2_ID" "$(config_digest "docker-archive:$CASE_DIR/v2.tar")"
}
t "apply PACKAGE out.tar writes a docker-archive" apply_to_a_bare_tar

progress_json() {
    run_dd --progress=json process "$FIXTURES/small-v1.podman.oci.tar" "$CASE_DIR/p.tar"
    ((RC == 0)) || { _show; fail "process failed"; }
    [[ $OUT == "wrote docker-archive:"* ]] || fail "stdout changed: $OUT"
    local lines n
    lines=$(grep -c . <<<"$ERR")
    ((lines >= 4)) || fail "too few progress events: $ERR"
    n=$(jq -s 'map(select(has("event") and has("layer") and has("layers") and has("bytes") and has("total") and has("all_bytes") and has("rate"))) | length' <<<"$ERR") \
        || fail "a progress line is not JSON: $ERR"
    assert_eq "every line has every key" "$lines" "$n"
    assert_eq "the last event" "done" "$(tail -1 <<<"$ERR" | jq -r .event)"
    assert_eq "layers" 3 "$(head -1 <<<"$ERR" | jq -r .layers)"
    jq -se 'map(select(.event == "bytes" or .event == "layer")) | map(.bytes <= .total or .total == 0) | all' <<<"$ERR" >/dev/null \
        || fail "bytes beyond a layer's total: $ERR"
    run_dd --progress=none process "$FIXTURES/small-v1.podman.oci.tar" "$CASE_DIR/q.tar"
    assert_eq "stderr with --progress=none" "" "$ERR"
    expect_fail 2 'progress' --progress=sometimes stages
}
t "--progress=json: one object a line on stderr" progress_json

wrong_option_suggests() {
    expect_fail 2 "did you mean '--dry-run'" apply x.ddelta --dryrun
    expect_fail 2 "did you mean '--base'" create --bse a b c
}
t "a misspelt option gets a suggestion" wrong_option_suggests

finish
