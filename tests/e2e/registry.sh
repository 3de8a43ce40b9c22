#!/usr/bin/env bash
# Registries at both ends (docker://), against Debian's docker-registry started here on
# 127.0.0.1: plain HTTP, htpasswd behind TLS with a CA made by openssl, and Bearer tokens (the
# `silly` auth with the token endpoint of tests/fixtures/token-server.py). skopeo is the
# independent reader; docker load and docker run (DOCKERD_ENV) check what comes back out.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/../fixtures/registry.sh"
trap 'registry_stop_all; _cleanup' EXIT
command -v docker-registry >/dev/null || { echo "FAIL: docker-registry is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }

A1=$FIXTURES/app-v1.buildah.docker.tar
A2=$FIXTURES/app-v2.buildah.docker.tar
registry_start SEND plain
registry_start SITE plain
registry_start SECURE tls-htpasswd
registry_start TOKEN token
SEND=$REG_SEND_ADDR SITE=$REG_SITE_ADDR SECURE=$REG_SECURE_ADDR TOKEN=$REG_TOKEN_ADDR

# uploads DIR: how many blob uploads a registry has finished (its access log's closing PUTs).
uploads() { grep -c '"PUT /v2/[^ ]*/blobs/uploads/' "$1/log" || true; }
# reg_config_digest docker://... [SKOPEO FLAGS]: the config digest skopeo reads
reg_config_digest() {
    local ref=$1; shift
    echo "sha256:$("${SKOPEO[@]}" inspect --tls-verify=false "$@" --config --raw "$ref" | sha256sum | cut -d' ' -f1)"
}
manifest_status() { curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$1/v2/$2/manifests/$3"; }

archive_round_trip() {
    expect_ok archive-to-registry "$A2" "//$SEND/rt/app:v2"
    assert_eq "config digest in the registry (skopeo)" "$APP_V2_ID" "$(reg_config_digest "docker://$SEND/rt/app:v2")"
    expect_ok registry-to-archive "//$SEND/rt/app:v2" out.tar
    verify_image docker-archive:out.tar "$APP_V2_ID" "$APP_V2_DIFF_IDS"
    expect_ok --json process "docker://$SEND/rt/app:v2" oci:out.d
    verify_image oci:out.d "$APP_V2_ID" "$APP_V2_DIFF_IDS"
    # skopeo reads what we pushed, layer by layer
    local d=$CASE_DIR/skopeo-dir
    "${SKOPEO[@]}" copy -q --src-tls-verify=false "docker://$SEND/rt/app:v2" "dir:$d"
    assert_eq "layers skopeo copied" 3 "$(jq '.layers | length' "$d/manifest.json")"
}
t "archive -> registry -> archive and OCI keep the image ID" archive_round_trip

registry_delta_round_trip() {
    expect_ok archive-to-registry "$A1" "//$SEND/app:v1"
    expect_ok archive-to-registry "$A2" "//$SEND/app:v2"
    expect_ok archive-to-registry "$A1" "//$SITE/app:v1"
    expect_ok registry-to-delta "//$SEND/app:v2" --base "docker://$SEND/app:v1" pkg.dd
    expect_ok --json list pkg.dd
    assert_eq "how layers ship" "reused delta delta" "$(jq -r '[.[].ship] | join(" ")' <<<"$OUT")"
    local before
    before=$(uploads "$REG_SITE_DIR")
    # No --base: the package's base (app:v1) is read from the destination registry.
    expect_ok --json apply pkg.dd "docker://$SITE/app:v2"
    assert_eq "image ID" "$APP_V2_ID" "$(jf "$OUT" .image_id)"
    # The config and the two changed layers; the shared base layer was never read or sent.
    assert_eq "blobs uploaded to the site (its access log)" 3 "$(($(uploads "$REG_SITE_DIR") - before))"
    assert_eq "config digest at the site (skopeo)" "$APP_V2_ID" "$(reg_config_digest "docker://$SITE/app:v2")"
    "${SKOPEO[@]}" copy -q --src-tls-verify=false "docker://$SITE/app:v2" "docker-archive:$CASE_DIR/skopeo.tar:localhost/app:v2"
    verify_image "docker-archive:$CASE_DIR/skopeo.tar" "$APP_V2_ID" "$APP_V2_DIFF_IDS"
    if [[ -n ${DOCKERD_ENV:-} ]]; then
        # shellcheck disable=SC1090
        (. "$DOCKERD_ENV"
         docker rmi -f localhost/app:v2 >/dev/null 2>&1 || true
         docker load -q -i "$CASE_DIR/skopeo.tar" >/dev/null
         assert_eq "docker run of the rebuilt image" "app v2" "$(docker run --rm --network none localhost/app:v2 /bin/busybox cat /hello.txt)"
         docker rmi -f localhost/app:v2 >/dev/null)
    fi
    # Into another repository of the same registry: the shared layer is mounted from the base's.
    before=$(uploads "$REG_SITE_DIR")
    expect_ok apply pkg.dd "docker://$SITE/moved/app:v2" --base "docker://$SITE/app:v1"
    assert_eq "blobs uploaded into a new repository" 3 "$(($(uploads "$REG_SITE_DIR") - before))"
    assert_match "the shared layer was mounted from app" '"POST /v2/moved/app/blobs/uploads/\?mount=sha256%3A[0-9a-f]{64}&from=app HTTP/[0-9.]+" 201' "$(cat "$REG_SITE_DIR/log")"
    assert_eq "config digest in the new repository" "$APP_V2_ID" "$(reg_config_digest "docker://$SITE/moved/app:v2")"
    # Again: everything is there, nothing is uploaded.
    before=$(uploads "$REG_SITE_DIR")
    expect_ok apply pkg.dd "docker://$SITE/app:v2b"
    assert_eq "blobs uploaded the second time" 0 "$(($(uploads "$REG_SITE_DIR") - before))"
}
t "registry -> delta -> registry: only missing blobs are uploaded, v2 runs" registry_delta_round_trip

inventory_of_registry() {
    expect_ok archive-to-registry "$A1" "//$SITE/inv/app:v1"
    expect_ok inventory "docker://$SITE/inv/app:v1" -o site.json
    expect_ok create "$A2" --inventory site.json pkg.dd
    expect_ok --json list pkg.dd
    assert_eq "how layers ship against an inventory" "reused full full" "$(jq -r '[.[].ship] | join(" ")' <<<"$OUT")"
    expect_ok archive-to-registry "$A2" "//$SITE/inv/app:v2"
    expect_ok inventory --all-tags "docker://$SITE/inv/app" -o all.json
    assert_eq "images in the inventory of every tag" 2 "$(jq '.images | length' all.json)"
    expect_fail 1 "no tags|NAME_UNKNOWN|unknown" inventory --all-tags "docker://$SITE/inv/none"
}
t "inventory docker:// for create --inventory" inventory_of_registry

multiarch_from_registry() {
    "${SKOPEO[@]}" copy -q --all --dest-tls-verify=false "oci:$FIXTURES/multi.oci" "docker://$SEND/multi:1" 2>/dev/null ||
        "${SKOPEO[@]}" copy -q --all --dest-tls-verify=false "oci:$FIXTURES/multi.oci:$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$FIXTURES/multi.oci/index.json")" "docker://$SEND/multi:1"
    expect_ok --json process "docker://$SEND/multi:1" arm.tar --platform linux/arm64
    expect_ok --json inspect docker-archive:arm.tar
    assert_match "platform taken from the index" "^linux/arm64" "$(jf "$OUT" .platform)"
    local want
    want=$("${SKOPEO[@]}" inspect --tls-verify=false --override-arch arm64 --override-os linux --config --raw "docker://$SEND/multi:1" | sha256sum | cut -d' ' -f1)
    assert_eq "the arm64 image's ID" "sha256:$want" "$(jf "$OUT" .image_id)"
    # --all: every platform and the index, to another registry
    expect_ok --json process "docker://$SEND/multi:1" "docker://$SITE/multi:2" --all
    assert_eq "images in the pushed index" 2 "$(jf "$OUT" .images)"
    assert_eq "platforms of the pushed index (skopeo)" \
        "$("${SKOPEO[@]}" inspect --tls-verify=false --raw "docker://$SEND/multi:1" | jq -c '[.manifests[].platform | {os, architecture}] | sort')" \
        "$("${SKOPEO[@]}" inspect --tls-verify=false --raw "docker://$SITE/multi:2" | jq -c '[.manifests[].platform | {os, architecture}] | sort')"
    local arch
    for arch in amd64 arm64; do
        assert_eq "the $arch image's ID after the round trip" \
            "$(reg_config_digest "docker://$SEND/multi:1" --override-arch "$arch")" "$(reg_config_digest "docker://$SITE/multi:2" --override-arch "$arch")"
    done
    expect_fail 2 "docker://" process "docker://$SEND/multi:1" "oci:out.d" --all
}
t "a multi-arch index in a registry: one platform taken; --all round-trips the index" multiarch_from_registry

tls_and_basic_auth() {
    local at="docker://$SECURE/app:v1"
    expect_fail 1 "certificate|TLS|SSL" archive-to-registry "$A1" "$at" --creds "$REG_USER:$REG_PASS"
    expect_fail 1 "denied|UNAUTHORIZED|refused|401" archive-to-registry "$A1" "$at" --cert-dir "$REG_CERTS" --creds "$REG_USER:wrong"
    [[ $ERR != *"$REG_USER:wrong"* && $ERR != *": wrong"* ]] || fail "the refused password appears in the error: $ERR"
    expect_fail 1 "denied|UNAUTHORIZED|401" archive-to-registry "$A1" "$at" --cert-dir "$REG_CERTS"
    expect_ok --json -v archive-to-registry "$A1" "$at" --cert-dir "$REG_CERTS" --creds "$REG_USER:$REG_PASS"
    [[ $OUT$ERR != *"$REG_PASS"* ]] || fail "the password appears in --json or --verbose output"
    # from an auth file, as podman login writes it
    printf '{"auths": {"%s": {"auth": "%s"}}}' "$SECURE" "$(printf '%s:%s' "$REG_USER" "$REG_PASS" | base64 -w0)" > auth.json
    REGISTRY_AUTH_FILE=$CASE_DIR/auth.json expect_ok registry-to-archive "//$SECURE/app:v1" out.tar --cert-dir "$REG_CERTS"
    verify_image docker-archive:out.tar "$APP_V1_ID" "$APP_V1_DIFF_IDS"
    # --tls-verify=false takes any certificate
    expect_ok registry-to-archive "//$SECURE/app:v1" out2.tar --tls-verify=false --creds "$REG_USER:$REG_PASS"
    # skopeo reads it with the same CA and credentials
    "${SKOPEO[@]}" inspect --cert-dir "$REG_CERTS" --creds "$REG_USER:$REG_PASS" --raw "$at" >/dev/null
}
t "TLS with a test CA, htpasswd: --cert-dir, --creds, auth file, --tls-verify=false" tls_and_basic_auth

bearer_tokens() {
    expect_ok archive-to-registry "$A1" "//$TOKEN/team/app:v1"
    expect_ok registry-to-archive "//$TOKEN/team/app:v1" out.tar
    verify_image docker-archive:out.tar "$APP_V1_ID" "$APP_V1_DIFF_IDS"
    local log=$REG_TOKEN_TOKEN_LOG
    assert_match "a push token was asked for" '"repository:team/app:pull,push"' "$(cat "$log")"
    assert_match "a pull token was asked for" '"repository:team/app:pull"\]' "$(cat "$log")"
    assert_match "the service was named" '"dd-e2e-registry"' "$(cat "$log")"
    assert_match "anonymous: no credentials were sent" '"basic": false' "$(cat "$log")"
}
t "Bearer token flow: scope per repository, anonymous" bearer_tokens

flaky_network() {
    expect_ok archive-to-registry "$A2" "//$SEND/flaky/app:v2"
    local port
    port=$(free_port)
    python3 "$E2E_DIR/../fixtures/flaky-proxy.py" "$port" "$SEND" proxy.log &
    local proxy=$!
    _reg_pid $proxy
    disown $proxy
    local deadline=$((SECONDS + 10))
    until curl -s -o /dev/null "http://127.0.0.1:$port/v2/"; do ((SECONDS < deadline)) || fail "the proxy did not start"; sleep 0.1; done
    run_dd -v registry-to-archive "//127.0.0.1:$port/flaky/app:v2" out.tar
    kill $proxy 2>/dev/null || true
    ((RC == 0)) || { _show; fail "the pull through a flaky network failed"; }
    verify_image docker-archive:out.tar "$APP_V2_ID" "$APP_V2_DIFF_IDS"
    assert_match "a manifest answered 503 and was asked again" '"action": "503"' "$(cat proxy.log)"
    assert_match "a blob was cut mid-way" '"action": "cut"' "$(cat proxy.log)"
    assert_match "the cut blob was resumed with Range" '"range": "bytes=[1-9][0-9]*-"' "$(cat proxy.log)"
}
t "a cut connection resumes with Range; a 503 is retried" flaky_network

errors() {
    expect_fail 1 "not ?found|unknown|NAME_UNKNOWN" registry-to-archive "//$SEND/no/such:v1" out.tar
    assert_absent out.tar
    expect_ok archive-to-registry "$A1" "//$SEND/err/app:v1"
    expect_fail 1 "MANIFEST_UNKNOWN|not ?found|unknown" registry-to-archive "//$SEND/err/app:nope" out.tar
    local port
    port=$(free_port)
    expect_fail 1 "connect|refused" registry-to-archive "//127.0.0.1:$port/app:v1" out.tar
    expect_fail 1 "connect|refused" archive-to-registry "$A1" "//127.0.0.1:$port/app:v1"
    expect_fail 2 "docker://|//" process "$A1" "docker:127.0.0.1:5000/app"
    assert_absent out.tar
}
t "no such repository or tag, registry down, malformed name" errors

corrupt_blob() {
    expect_ok archive-to-registry "$A2" "//$SEND/bad/app:v2"
    # Flip a byte of the big layer's stored blob: same size, wrong bytes.
    local blob
    blob=$(find "$REG_SEND_DIR/data" -path '*/blobs/sha256/*/data' -size +1M | head -1)
    [[ -n $blob ]] || fail "no layer blob found in the registry's storage"
    cp "$blob" "$CASE_DIR/saved"
    printf '\xff' | dd of="$blob" bs=1 seek=100000 conv=notrunc 2>/dev/null
    expect_fail 1 "digest|integrity|match|corrupt" registry-to-archive "//$SEND/bad/app:v2" out.tar
    assert_absent out.tar
    expect_fail 1 "digest|integrity|match|corrupt" process "docker://$SEND/bad/app:v2" "docker://$SITE/bad/app:v2"
    assert_eq "no tag at the destination" 404 "$(manifest_status "$SITE" bad/app v2)"
    cp "$CASE_DIR/saved" "$blob"
}
t "a blob whose bytes do not match its digest: refused, nothing written or pushed" corrupt_blob

# A 256 MiB layer of random bytes, uncompressed: pushed and pulled with memory far below it.
make_big_image() {
    python3 - "$1" <<'PY'
import hashlib, io, json, os, sys, tarfile
out = sys.argv[1]
size = 256 << 20
layer = out + ".layer.tar"
with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as t:
    info = tarfile.TarInfo("big.bin"); info.size = size; info.mtime = 0
    class R(io.RawIOBase):
        left = size
        def readable(self): return True
        def readinto(self, b):
            n = min(len(b), self.left); b[:n] = os.urandom(n); self.left -= n; return n
    t.addfile(info, io.BufferedReader(R(), 1 << 20))
h = hashlib.sha256()
with open(layer, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""): h.update(block)
diff_id = "sha256:" + h.hexdigest()
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
cid = hashlib.sha256(config).hexdigest()
with tarfile.open(out, "w") as t:
    def add(name, data):
        i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))
    add(cid + ".json", config)
    t.add(layer, "layer.tar")
    add("manifest.json", json.dumps([{"Config": cid + ".json", "RepoTags": ["localhost/big:1"], "Layers": ["layer.tar"]}]).encode())
os.remove(layer)
print("sha256:" + cid)
PY
}

killed_mid_push() {
    local id
    id=$(make_big_image big.tar)
    registry_start KILL plain
    local addr=$REG_KILL_ADDR
    (rc=0; timeout 120 "$DOCKER_DELTA" archive-to-registry big.tar "//$addr/big:1" --compress none >push.out 2>push.err || rc=$?
     echo $rc >push.rc) &
    local deadline=$((SECONDS + 60))
    # Kill the registry once the layer's upload is under way.
    until [[ -n $(find "$REG_KILL_DIR/data" -path '*_uploads*' -name data -size +20M 2>/dev/null) ]]; do
        ((SECONDS < deadline)) || fail "the upload never started"
        sleep 0.1
    done
    registry_kill KILL
    wait
    [[ -s push.rc && $(cat push.rc) != 0 ]] || fail "the push succeeded with its registry killed"
    assert_eq "one line on stderr" 1 "$(wc -l <push.err)"
    registry_restart KILL
    assert_eq "the tag was not created" 404 "$(manifest_status "$addr" big 1)"
    # Again, to completion, memory far below the layer's 256 MiB.
    /usr/bin/time -f %M -o rss.push "$DOCKER_DELTA" archive-to-registry big.tar "//$addr/big:1" --compress none >/dev/null 2>push2.err ||
        fail "the second push failed: $(cat push2.err)"
    assert_eq "config digest" "$id" "$(reg_config_digest "docker://$addr/big:1")"
    /usr/bin/time -f %M -o rss.pull "$DOCKER_DELTA" registry-to-archive "//$addr/big:1" out.tar >/dev/null 2>pull.err ||
        fail "the pull failed: $(cat pull.err)"
    expect_ok --json inspect docker-archive:out.tar
    assert_eq "image ID after the pull" "$id" "$(jf "$OUT" .image_id)"
    # 128 MiB: half the layer (an ASan build's shadow memory and quarantine get 512 MiB).
    local bound=131072
    [[ -z ${ASAN_OPTIONS:-} ]] || bound=524288
    (($(cat rss.push) < bound)) || fail "push peak RSS $(cat rss.push) KiB for a 256 MiB layer"
    (($(cat rss.pull) < bound)) || fail "pull peak RSS $(cat rss.pull) KiB for a 256 MiB layer"
    echo "  peak RSS: push $(cat rss.push) KiB, pull $(cat rss.pull) KiB, 256 MiB layer"
}
t "registry killed mid-push: no tag; the re-run completes; memory flat" killed_mid_push

finish
