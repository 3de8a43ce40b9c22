#!/usr/bin/env bash
# Delta packages end to end: create from real archives (buildah, podman, skopeo), apply to every
# output, and check image ID and diff_ids with skopeo and, when DOCKERD_ENV is set, docker load.
# Then packages damaged or forged in every way the format must survive.
. "$(dirname "$0")/lib.sh"

A1=$FIXTURES/app-v1.buildah.docker.tar
A2=$FIXTURES/app-v2.buildah.docker.tar
EDIT=$E2E_DIR/../fixtures/edit-package.py
layer_ships() { jq -r '[.[].ship] | join(" ")' <<<"$("$DOCKER_DELTA" --json list "$1")"; }

roundtrip() { # roundtrip METHOD BASE NEW: create, apply to all three outputs, verify each
    local method=$1 base=$2 new=$3
    expect_ok create -m "$method" --base "$base" "$new" pkg.dd
    [[ -s pkg.dd ]] || fail "no package written"
    expect_ok apply --base "$base" pkg.dd "docker-archive:out.tar:localhost/app:v2"
    verify_image "docker-archive:out.tar" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
    expect_ok delta-to-oci --base "$base" pkg.dd out.d
    verify_image "oci:out.d" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
    expect_ok apply --base "$base" pkg.dd oci-archive:out.oci.tar --compress gzip
    verify_image "oci-archive:out.oci.tar" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
}
t "zstd: docker-archive base and image" roundtrip zstd "$A1" "$A2"
t "zstd: podman oci-archive base, skopeo oci image" roundtrip zstd "oci-archive:$FIXTURES/app-v1.podman.oci.tar" "oci:$FIXTURES/app-v2.oci:v2"
t "xdelta3" roundtrip xdelta3 "$A1" "$A2"
t "bsdiff" roundtrip bsdiff "$A1" "$A2"
t "layer (no delta)" roundtrip layer "$A1" "$A2"

what_ships() {
    expect_ok create --base "$A1" "$A2" pkg.dd
    # The busybox layer is the same in both: reused; the tree and hello layers change: deltas.
    assert_eq "how layers ship" "reused delta delta" "$(layer_ships pkg.dd)"
    local size whole
    size=$(stat -c %s pkg.dd)
    expect_ok create -m layer --base "$A1" "$A2" whole.dd
    whole=$(stat -c %s whole.dd)
    ((size * 10 < whole)) || fail "delta package ($size bytes) is not a tenth of the whole-layer one ($whole)"
    # The changed tree layer: the moved file is found by content and the changelog travels decompressed.
    expect_ok -v create -f --base "$A1" "$A2" pkg.dd
    assert_match "verbose match report" "unchanged 16[0-9.]+ KiB" "$ERR"
    assert_match "verbose gzip report" "gzip files sent decompressed [1-9]" "$ERR"
    expect_ok info pkg.dd
    assert_match "info" "3 \(1 reused, 2 delta, 0 whole\)" "$OUT"
    assert_match "info names the base image" "localhost/app:v1" "$OUT"
    expect_ok --json info pkg.dd
    assert_eq "info --json image" "$APP_V2_ID" "$(jq -r ".images[0].image_id" <<<"$OUT")"
    expect_ok list pkg.dd
    assert_match "list" "delta +zstd" "$OUT"
}
t "unchanged layers are reused, changed ones ship as small deltas" what_ships

best_is_smaller() {
    expect_ok create --base "$A1" "$A2" default.dd
    expect_ok create --best --base "$A1" "$A2" best.dd
    (($(stat -c %s best.dd) <= $(stat -c %s default.dd))) || fail "--best is bigger than the default"
    expect_ok apply --base "$A1" best.dd docker-archive:out.tar
    verify_image "docker-archive:out.tar" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
}
t "--best" best_is_smaller

compressions() {
    local c
    for c in gzip bzip2 xz none zstd; do
        expect_ok create -f -m layer -c "$c" -l 9 "$A2" pkg.dd
        assert_eq "ships with -c $c" "full full full" "$(layer_ships pkg.dd)"
        assert_eq "compression" "$c" "$("$DOCKER_DELTA" --json list pkg.dd | jq -r '.[0].compression')"
        rm -f out.tar
        expect_ok apply pkg.dd docker-archive:out.tar
        verify_image "docker-archive:out.tar" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
    done
    expect_ok create -f -m layer -c zstd -l -5 "$A2" pkg.dd
}
t "no base: whole layers in every compression" compressions

dry_run() {
    expect_ok create -d --base "$A1" "$A2" pkg.dd
    assert_match "dry run says what would ship" "would be pkg.dd: 3 layers \(1 reused, 2 delta" "$OUT"
    assert_eq "files left by a dry run" "" "$(ls)"
}
t "--dry-run writes nothing" dry_run

from_pipe() {
    expect_ok create --base "$A1" "$A2" pkg.dd
    "$DOCKER_DELTA" -q apply --base "$A1" - docker-archive:out.tar <pkg.dd || fail "apply from a pipe failed"
    verify_image "docker-archive:out.tar" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
    # The same package as the input stage of an ordinary pipeline.
    expect_ok process delta:pkg.dd oci-archive:out.oci.tar --base "$A1"
    verify_image "oci-archive:out.oci.tar" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
}
t "apply reads a package from standard input" from_pipe

inventory() {
    expect_ok inventory "$A1" -o site.json
    assert_eq "inventory image" "$APP_V1_ID" "$(jq -r '.images[0].image_id' site.json)"
    expect_ok create --inventory site.json "$A2" pkg.dd
    # Without the old bytes, changed layers ship whole, but unchanged ones are still skipped.
    assert_eq "how layers ship" "reused full full" "$(layer_ships pkg.dd)"
    expect_ok apply --base "$A1" pkg.dd docker-archive:out.tar
    verify_image "docker-archive:out.tar" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
}
t "inventory from the receiver: unchanged layers skipped" inventory

wrong_base() {
    expect_ok create --base "$A1" "$A2" pkg.dd
    expect_fail 1 "lack 2 layer.*localhost/app:v1" apply --base "$FIXTURES/dup-v1.buildah.docker.tar" pkg.dd docker-archive:out.tar
    expect_fail 2 "give it with --base" apply pkg.dd docker-archive:out.tar
    # A base whose layer has the right name but other bytes.
    mkdir x && tar -C x -xf "$A1"
    local layer
    layer=$(jq -r '.[0].Layers[1]' x/manifest.json)
    printf 'X' | dd of="x/$layer" bs=1 seek=600 conv=notrunc status=none
    tar -C x -cf forged.tar .
    expect_fail 1 "digest|diff_id" apply --base forged.tar pkg.dd docker-archive:out.tar
    assert_absent out.tar
}
t "a base that does not match" wrong_base

damaged() {
    expect_ok create --base "$A1" "$A2" pkg.dd
    local size
    size=$(stat -c %s pkg.dd)
    cp pkg.dd flip-header.dd
    printf 'Z' | dd of=flip-header.dd bs=1 seek=100 conv=notrunc status=none
    expect_fail 1 "header is damaged" apply --base "$A1" flip-header.dd docker-archive:out.tar
    cp pkg.dd flip-payload.dd
    printf 'Z' | dd of=flip-payload.dd bs=1 seek=$((size - 50)) conv=notrunc status=none
    expect_fail 1 "payload is damaged" apply --base "$A1" flip-payload.dd docker-archive:out.tar
    local cut
    for cut in 5 40 $((size / 2)) $((size - 1)); do
        head -c "$cut" pkg.dd >cut.dd
        expect_fail 1 "truncated|not a docker_delta package" apply --base "$A1" cut.dd docker-archive:out.tar
    done
    head -c 20 /dev/urandom >junk.dd
    expect_fail 1 "not a docker_delta package" info junk.dd
    assert_absent out.tar
}
t "flipped bytes and truncation" damaged

forged() {
    expect_ok create --base "$A1" "$A2" pkg.dd
    python3 "$EDIT" pkg.dd v99.dd version-99
    expect_fail 1 "format version 99.*reads versions 1 to 2" apply --base "$A1" v99.dd docker-archive:out.tar
    expect_fail 1 "version 99" info v99.dd
    python3 "$EDIT" pkg.dd absurd.dd absurd-size
    expect_fail 1 "rebuilt [0-9]+ bytes, but the (package says|layer has) 2199023255552" apply --base "$A1" absurd.dd docker-archive:out.tar
    python3 "$EDIT" pkg.dd outside.dd outside-base
    expect_fail 1 "references bytes .* which has only" apply --base "$A1" outside.dd docker-archive:out.tar
    python3 "$EDIT" pkg.dd bomb.dd bomb
    expect_fail 1 "expands beyond its declared" apply --base "$A1" bomb.dd docker-archive:out.tar
    assert_absent out.tar
    ls -A | grep -q tmp && fail "temporary files left: $(ls -A)"
    true
}
t "forged headers and payloads" forged

# A signal ends the run even while it waits for input: standard input is a FIFO held open with
# nothing written to it, and timeout sends SIGTERM after a second.
signals() {
    local start rc=0
    mkfifo in.fifo
    exec 3<>in.fifo
    start=$(date +%s)
    timeout --preserve-status -s TERM 1 "$DOCKER_DELTA" apply --base "$A1" - docker-archive:out.tar:app:v2 \
        <in.fifo 2>err.txt || rc=$?
    exec 3>&-
    (( $(date +%s) - start < 6 )) || fail "apply ignored SIGTERM while waiting for input"
    assert_eq "exit status" 1 "$rc"
    assert_match "message" 'interrupted by signal 15' "$(cat err.txt)"
    assert_absent out.tar
}
t "SIGTERM ends a run that waits for input" signals

docker_load() {
    [[ -n ${DOCKERD_ENV:-} && -f $DOCKERD_ENV ]] || skip "no dockerd (DOCKERD_ENV)"
    # shellcheck disable=SC1090
    . "$DOCKERD_ENV"
    expect_ok create --base "$A1" "$A2" pkg.dd
    expect_ok delta-to-archive --base "$A1" pkg.dd out.tar:localhost/e2e-delta:v2
    local log
    log=$(docker load -i out.tar 2>&1) || fail "docker load failed: $log"
    assert_eq "docker image ID" "$APP_V2_ID" "$(docker image inspect localhost/e2e-delta:v2 --format '{{.Id}}')"
    assert_eq "docker run" "app v2" "$(docker run --rm --network none localhost/e2e-delta:v2 /bin/busybox cat /hello.txt)"
    docker rmi -f localhost/e2e-delta:v2 >/dev/null
}
t "docker load of an applied package" docker_load

finish
