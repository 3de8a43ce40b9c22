#!/usr/bin/env bash
# The docker daemon as input and output, against a real dockerd started by
# tests/fixtures/dockerd.sh (DOCKERD_ENV): images in and out, delta packages from one daemon
# image to another and back into the daemon, the old script's forms, and the errors a user
# meets (no daemon, no image, no base).
. "$(dirname "$0")/lib.sh"
[[ -n ${DOCKERD_ENV:-} && -f $DOCKERD_ENV ]] || { echo "FAIL: DOCKERD_ENV must name the env file of a running tests/fixtures/dockerd.sh" >&2; exit 1; }
# shellcheck disable=SC1090
. "$DOCKERD_ENV"
docker version >/dev/null 2>&1 || { echo "FAIL: dockerd at $DOCKER_HOST does not answer" >&2; exit 1; }

A1=$FIXTURES/app-v1.buildah.docker.tar
A2=$FIXTURES/app-v2.buildah.docker.tar
fresh() { # loads app v1 and v2 as e2e-daemon/app:v1 and :v2, nothing else of that name
    docker rmi -f e2e-daemon/app:v1 e2e-daemon/app:v2 e2e-daemon/other:v2 localhost/app:v1 localhost/app:v2 >/dev/null 2>&1 || true
    docker load -q -i "$A1" >/dev/null && docker tag localhost/app:v1 e2e-daemon/app:v1 && docker rmi localhost/app:v1 >/dev/null
    docker load -q -i "$A2" >/dev/null && docker tag localhost/app:v2 e2e-daemon/app:v2 && docker rmi localhost/app:v2 >/dev/null
}
id_of() { docker image inspect "$1" --format '{{.Id}}'; }

daemon_to_archive() {
    fresh
    expect_ok docker-to-archive e2e-daemon/app:v2 out.tar
    verify_image "docker-archive:out.tar" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
    expect_ok process docker-daemon:e2e-daemon/app:v1 oci:out.d
    verify_image "oci:out.d" "$APP_V1_ID" "$APP_V1_DIFF_IDS"
}
t "daemon -> archive and OCI" daemon_to_archive

# Layer questions come before the config from a daemon: no stage may take them for manifests.
daemon_stage_order() {
    fresh
    small_tmpdir 1m  # the image is 4 MiB: inspect must spool none of it
    expect_ok inspect docker-daemon:e2e-daemon/app:v2 --json
    assert_eq "inspect's image ID" "$APP_V2_ID" "$(jf "$OUT" .image_id)"
    unset TMPDIR
    expect_ok process "docker-archive:$A2" "docker-archive:$CASE_DIR/from-archive.tar" --filter normalize-timestamps:0 --json
    local want
    want=$(jf "$OUT" .image_id)
    expect_ok process docker-daemon:e2e-daemon/app:v2 "docker-archive:$CASE_DIR/from-daemon.tar" --filter normalize-timestamps:0 --json
    assert_eq "normalize-timestamps after a daemon source" "$want" "$(jf "$OUT" .image_id)"
}
t "inspect and normalize-timestamps over a daemon source" daemon_stage_order

archive_to_daemon() {
    fresh
    docker rmi e2e-daemon/app:v2 >/dev/null
    expect_ok archive-to-docker "oci:$FIXTURES/app-v2.oci:v2" e2e-daemon/other:v2
    assert_eq "image ID in the daemon" "$APP_V2_ID" "$(id_of e2e-daemon/other:v2)"
    assert_eq "docker run" "app v2" "$(docker run --rm --network none e2e-daemon/other:v2 /bin/busybox cat /hello.txt)"
}
t "archive -> daemon, tagged" archive_to_daemon

delta_through_daemon() {
    fresh
    expect_ok docker-to-delta --base e2e-daemon/app:v1 e2e-daemon/app:v2 pkg.dd
    expect_ok --json list pkg.dd
    assert_eq "how layers ship" "reused delta delta" "$(jq -r '[.[].ship] | join(" ")' <<<"$OUT")"
    docker rmi e2e-daemon/app:v2 >/dev/null
    expect_ok apply --dry-run pkg.dd
    assert_match "dry run" "3 of 3 base layers found" "$OUT"
    ! docker image inspect e2e-daemon/app:v2 >/dev/null 2>&1 || fail "--dry-run loaded the image"
    # Bases come from the same daemon, named in the package; the tag is the package's own.
    expect_ok delta-to-docker pkg.dd
    assert_eq "image ID" "$APP_V2_ID" "$(id_of e2e-daemon/app:v2)"
    assert_eq "docker run" "app v2" "$(docker run --rm --network none e2e-daemon/app:v2 /bin/busybox cat /hello.txt)"
}
t "docker-to-delta, remove v2, delta-to-docker" delta_through_daemon

seed_forms() {
    fresh
    # The old script's interface: bare names are daemon images.
    expect_ok create --base e2e-daemon/app:v1 e2e-daemon/app:v2 pkg.dd
    docker rmi e2e-daemon/app:v2 >/dev/null
    expect_ok apply pkg.dd e2e-daemon/other:v2
    assert_eq "image ID" "$APP_V2_ID" "$(id_of e2e-daemon/other:v2)"
    # What a receiving daemon holding only v1 reports.
    docker rmi e2e-daemon/other:v2 >/dev/null
    expect_ok inventory -o site.json
    jq -e --arg id "$APP_V1_ID" '[.images[].image_id] | index($id)' site.json >/dev/null || fail "inventory lacks v1: $(cat site.json)"
    # Other suites share this daemon: the package is made against v1 alone.
    expect_ok inventory docker-daemon:e2e-daemon/app:v1 -o v1.json
    expect_ok create --inventory v1.json "$A2" inv.dd
    assert_eq "with an inventory" "reused full full" "$("$DOCKER_DELTA" --json list inv.dd | jq -r '[.[].ship] | join(" ")')"
}
t "create IMAGE PACKAGE, apply PACKAGE IMAGE_NAME, inventory of the daemon" seed_forms

held_layers_left_out() {
    fresh
    expect_ok docker-to-delta --base e2e-daemon/app:v1 e2e-daemon/app:v2 pkg.dd
    docker rmi e2e-daemon/app:v2 >/dev/null
    # v1 shares v2's first layer: dockerd (graphdriver) looks it up by chain, so it is not sent.
    expect_ok -v --json delta-to-docker pkg.dd
    assert_eq "layers left out" "1" "$(jq -r .layers_left_out <<<"$OUT")"
    assert_match "verbose says why" "holds the first 1 of 3 layers" "$ERR"
    assert_eq "image ID" "$APP_V2_ID" "$(id_of e2e-daemon/app:v2)"
    assert_eq "docker run" "app v2" "$(docker run --rm --network none e2e-daemon/app:v2 /bin/busybox cat /hello.txt)"
    docker rmi e2e-daemon/app:v2 >/dev/null
    expect_ok --json delta-to-docker --load-layers all pkg.dd
    assert_eq "--load-layers all" "0" "$(jq -r .layers_left_out <<<"$OUT")"
    assert_eq "image ID" "$APP_V2_ID" "$(id_of e2e-daemon/app:v2)"
    expect_fail 2 "--load-layers applies to a docker-daemon destination" delta-to-archive --load-layers all pkg.dd out.tar
}
t "layers the daemon holds are left out of the load" held_layers_left_out

images_now() { docker images -a -q --no-trunc | sort | tr '\n' ' '; }

load_cut_short() {
    fresh
    expect_ok docker-to-delta --base e2e-daemon/app:v1 e2e-daemon/app:v2 pkg.dd
    docker rmi e2e-daemon/app:v2 >/dev/null
    local before; before=$(images_now)
    # The last payload is damaged: the daemon has had the config and two layers by then.
    cp pkg.dd bad.dd
    printf '\377' | dd of=bad.dd bs=1 seek=$(($(stat -c %s bad.dd) - 3)) conv=notrunc 2>/dev/null
    expect_fail 1 "damaged" delta-to-docker bad.dd
    assert_eq "images in the daemon" "$before" "$(images_now)"
}
t "a load cut short leaves nothing in the daemon" load_cut_short

daemon_refuses() {
    fresh
    local before; before=$(images_now)
    python3 "$REPO_DIR/tests/fixtures/make-unloadable-archive.py" broken.tar e2e-daemon/broken:v1 >/dev/null
    expect_fail 1 "docker daemon refused the load: .*invalid tar header" archive-to-docker broken.tar e2e-daemon/broken:v1
    assert_eq "images in the daemon" "$before" "$(images_now)"
}
t "the daemon refuses the load" daemon_refuses

errors() {
    fresh
    expect_fail 1 "cannot connect to the docker daemon at unix:///nonexistent/docker.sock" \
        docker-to-archive --host unix:///nonexistent/docker.sock e2e-daemon/app:v2 out.tar
    expect_fail 1 "no such image|not found" docker-to-archive e2e-daemon/nope:v9 out.tar
    assert_absent out.tar
    expect_ok docker-to-delta --base e2e-daemon/app:v1 e2e-daemon/app:v2 pkg.dd
    docker rmi e2e-daemon/app:v1 e2e-daemon/app:v2 >/dev/null
    expect_fail 1 "no such image|not found|lack" delta-to-docker pkg.dd
    ! docker image inspect e2e-daemon/app:v2 >/dev/null 2>&1 || fail "a failed apply left the image tagged"
}
t "no daemon, no image, no base" errors

finish
