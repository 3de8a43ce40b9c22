#!/usr/bin/env bash
# The docker daemon input and output through podman's Docker-compatible service: a private
# `podman system service` on a socket of this suite's own, with its own vfs storage. Podman's
# load wants every layer file, so a load that leaves out the layers it holds is refused and run
# again with all of them.
. "$(dirname "$0")/lib.sh"
command -v podman >/dev/null || fail "podman not found (apt-get install podman)"

# Socket paths are limited to 108 bytes and podman's runroot to 50: keep both short.
PM=$(mktemp -d /tmp/dd-pm.XXXXXX)
PODMAN=(podman --storage-driver vfs --root "$PM/root" --runroot "$PM/run" --tmpdir "$PM/tmp")
setsid "${PODMAN[@]}" system service --time=0 "unix://$PM/podman.sock" </dev/null >"$PM/service.log" 2>&1 &
PM_PID=$!
stop_podman() {
    kill -TERM "$PM_PID" 2>/dev/null || true
    wait "$PM_PID" 2>/dev/null || true
    local m
    for m in $( (grep -F " $PM/" /proc/mounts || true) | awk '{print $2}' | sort -r); do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$PM"
}
trap 'stop_podman; _cleanup' EXIT
export DOCKER_HOST=unix://$PM/podman.sock
for _ in $(seq 1 60); do
    [[ -S $PM/podman.sock ]] && "$DOCKER_DELTA" inventory >/dev/null 2>&1 && break
    kill -0 "$PM_PID" 2>/dev/null || { cat "$PM/service.log" >&2; fail "podman system service exited"; }
    sleep 0.5
done
"$DOCKER_DELTA" inventory >/dev/null || { cat "$PM/service.log" >&2; fail "podman's service does not answer at $DOCKER_HOST"; }

fresh() { # app v1 and v2 as localhost/app:v1 and :v2, nothing else
    "${PODMAN[@]}" rmi -a -f >/dev/null 2>&1 || true
    "${PODMAN[@]}" load -q -i "$FIXTURES/app-v1.buildah.docker.tar" >/dev/null
    "${PODMAN[@]}" load -q -i "$FIXTURES/app-v2.buildah.docker.tar" >/dev/null
}
id_of() { echo "sha256:$("${PODMAN[@]}" image inspect "$1" --format '{{.Id}}')"; }

podman_to_archive() {
    fresh
    expect_ok docker-to-archive localhost/app:v2 out.tar
    verify_image "docker-archive:out.tar" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
}
t "podman -> archive (podman's save layout)" podman_to_archive

delta_through_podman() {
    fresh
    expect_ok docker-to-delta --base localhost/app:v1 localhost/app:v2 pkg.dd
    assert_eq "how layers ship" "reused delta delta" "$("$DOCKER_DELTA" --json list pkg.dd | jq -r '[.[].ship] | join(" ")')"
    "${PODMAN[@]}" rmi localhost/app:v2 >/dev/null
    # Podman is not Docker Engine: every layer is sent.
    expect_ok --json delta-to-docker pkg.dd
    assert_eq "layers left out" "0" "$(jq -r .layers_left_out <<<"$OUT")"
    assert_eq "image ID" "$APP_V2_ID" "$(id_of localhost/app:v2)"
}
t "docker-to-delta, remove v2, delta-to-docker through podman" delta_through_podman

refused_then_full() {
    fresh
    expect_ok docker-to-delta --base localhost/app:v1 localhost/app:v2 pkg.dd
    "${PODMAN[@]}" rmi localhost/app:v2 >/dev/null
    expect_ok --json delta-to-docker --load-layers missing pkg.dd localhost/other:v2
    assert_match "why it ran again" "refused a load without the 1 layer\(s\) it holds.*running again" "$ERR"
    assert_eq "layers left out" "0" "$(jq -r .layers_left_out <<<"$OUT")"
    assert_eq "image ID" "$APP_V2_ID" "$(id_of localhost/other:v2)"
}
t "a refused load without held layers runs again with every layer" refused_then_full

errors() {
    fresh
    expect_fail 1 "no such image|not found|not known" docker-to-archive localhost/nope:v9 out.tar
    assert_absent out.tar
}
t "image not found" errors

finish
