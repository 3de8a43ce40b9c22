#!/usr/bin/env bash
# Packages for a whole site: a stack of three images (web and worker on one base, tool on its
# own but holding a copy of the base's changed file), v1 and v2 of each, built here with buildah. One package carries the stack (the new base
# layer once), split into parts, signed, verified; applied into a private dockerd, a multi-image
# docker-archive (docker load) and an OCI layout (skopeo). Damaged, missing, swapped and foreign
# parts and forged signatures are refused in one line with nothing written or loaded.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/../fixtures/common.sh"
[[ -n ${DOCKERD_ENV:-} && -f $DOCKERD_ENV ]] || { echo "FAIL: DOCKERD_ENV must name the env file of a running tests/fixtures/dockerd.sh" >&2; exit 1; }
# shellcheck disable=SC1090
. "$DOCKERD_ENV"
docker version >/dev/null 2>&1 || { echo "FAIL: dockerd at $DOCKER_HOST does not answer" >&2; exit 1; }
require_tools buildah podman skopeo jq
export FORGE_DIR=$E2E_DIR/../fixtures

# ---- the stack, v1 and v2 ------------------------------------------------------------------
S=$E2E_TMP/stack
mkdir -p "$S"
(
    isolated_container_storage "$S"
    TS=1700000000
    bud() { "${BUILDAH[@]}" bud -q --layers --timestamp "$TS" --signature-policy "$ST/policy.json" -t "$1" "$2" >/dev/null; }
    for v in v1 v2; do
        c=$S/ctx-$v
        mkdir -p "$c/base" "$c/web" "$c/worker" "$c/tool"
        cp "$BUSYBOX" "$c/base/busybox"
        # The base's second layer changes between versions: web and worker v2 share the new one.
        awk -v v="$v" 'BEGIN{for(i=0;i<3000;i++) printf "stack %s release line %d\n", (i%50==0 ? v : "v1"), i}' >"$c/base/release"
        printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY release /etc/release\n' >"$c/base/Containerfile"
        bud "localhost/stackbase:$v" "$c/base"
        for app in web worker; do
            echo "$app $v" >"$c/$app/hello.txt"
            printf 'FROM localhost/stackbase:%s\nCOPY hello.txt /hello.txt\n' "$v" >"$c/$app/Containerfile"
            bud "localhost/$app:$v" "$c/$app"
        done
        cp "$BUSYBOX" "$c/tool/busybox"
        echo "tool $v" >"$c/tool/hello.txt"
        # Its last layer's v2 file is in the layer web v2 carries, and in no layer of v1.
        cp "$c/base/release" "$c/tool/release"
        printf 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY hello.txt /hello.txt\nCOPY hello.txt /usr/share/tool.txt\nCOPY release /opt/tool/release\n' >"$c/tool/Containerfile"
        bud "localhost/tool:$v" "$c/tool"
        podman --storage-driver vfs --root "$ST/graph" --runroot "$RUN" save -q -m --format docker-archive \
            -o "$S/stack-$v.tar" "localhost/web:$v" "localhost/worker:$v" "localhost/tool:$v"
    done
    rm -rf "$ST"
) || fail "could not build the stack with buildah"
V1=$S/stack-v1.tar
V2=$S/stack-v2.tar
image_id() { # image_id ARCHIVE NAME: the config digest docker load will report
    tar -xOf "$1" manifest.json | jq -r --arg n "$2" '.[] | select(.RepoTags[] | endswith($n)) | "sha256:" + (.Config | sub("^.*/";"") | sub("\\.json$";""))'
}
for app in web worker tool; do
    declare "ID_$app=$(image_id "$V2" "$app:v2")"
done
[[ $ID_web == sha256:* && $ID_worker == sha256:* && $ID_tool == sha256:* ]] || fail "no image IDs in $V2"
BASES=(--base "docker-archive:$V1:@all")

stack_package() { # a package of the whole stack, made once
    [[ -e $S/stack.dd ]] || expect_ok create "${BASES[@]}" "docker-archive:$V2:@all" "$S/stack.dd"
}

one_package() {
    stack_package
    expect_ok --json info "$S/stack.dd"
    assert_eq "images" 3 "$(jq '.summary.images' <<<"$OUT")"
    assert_eq "tags" "localhost/web:v2 localhost/worker:v2 localhost/tool:v2" "$(jq -r '[.images[].repo_tags[0]] | join(" ")' <<<"$OUT")"
    expect_ok --json list "$S/stack.dd"
    # web carries the new base layer; worker names it as travelling with web.
    assert_eq "shared layer" 1 "$(jq '[.[] | select(.ship == "packaged")] | length' <<<"$OUT")"
    assert_eq "its image" 1 "$(jq '[.[] | select(.ship == "packaged")][0].image' <<<"$OUT")"
    # The sum of one package per image is larger: the shared layer would travel twice.
    local sum=0 app
    for app in web worker tool; do
        expect_ok create "${BASES[@]}" "docker-archive:$V2:localhost/$app:v2" "$app.dd"
        sum=$((sum + $(stat -c %s "$app.dd")))
    done
    local stack
    stack=$(stat -c %s "$S/stack.dd")
    echo "  measured: stack package $stack bytes, per-image packages $sum bytes" >&2
    ((stack < sum)) || fail "the stack package ($stack) is not smaller than the per-image ones ($sum)"
}
t "a stack in one package: the shared new layer travels once" one_package

into_daemon() {
    stack_package
    local app
    for app in web worker tool; do docker rmi -f "localhost/$app:v2" "localhost/$app:v1" >/dev/null 2>&1 || true; done
    docker load -i "$V1" >/dev/null || fail "docker load of v1"
    expect_ok apply "$S/stack.dd"
    for app in web worker tool; do
        local id var=ID_$app
        id=$(docker image inspect "localhost/$app:v2" --format '{{.Id}}' 2>&1) || fail "localhost/$app:v2 not loaded: $id"
        assert_eq "$app:v2 image ID" "${!var}" "$id"
        assert_eq "$app:v2 runs" "$app v2" "$(docker run --rm --network none "localhost/$app:v2" /bin/busybox cat /hello.txt)"
    done
}
t "applied into dockerd: every image has v2's ID, its tag, and runs" into_daemon

into_archive() {
    stack_package
    expect_ok apply "${BASES[@]}" "$S/stack.dd" stack.tar
    assert_eq "images in the archive" 3 "$(tar -xOf stack.tar manifest.json | jq length)"
    local app
    for app in web worker tool; do docker rmi -f "localhost/$app:v2" >/dev/null 2>&1 || true; done
    local log
    log=$(docker load -i stack.tar 2>&1) || fail "docker load: $log"
    for app in web worker tool; do
        local var=ID_$app
        assert_match "docker load names $app" "Loaded image: localhost/$app:v2" "$log"
        assert_eq "$app:v2 image ID" "${!var}" "$(docker image inspect "localhost/$app:v2" --format '{{.Id}}')"
    done
    assert_eq "worker runs" "worker v2" "$(docker run --rm --network none localhost/worker:v2 /bin/busybox cat /hello.txt)"
}
t "applied to one multi-image docker-archive: docker load reads every tag" into_archive

into_oci() {
    stack_package
    expect_ok apply "${BASES[@]}" "$S/stack.dd" oci:stack.oci
    local app
    for app in web worker tool; do
        local var=ID_$app
        assert_eq "skopeo: $app" "${!var}" "$(skopeo inspect --raw "oci:stack.oci:localhost/$app:v2" | jq -r .config.digest)"
    done
    assert_eq "ref names" 3 "$(jq '.manifests | length' stack.oci/index.json)"
}
t "applied to an OCI layout: a ref.name per image (skopeo inspect)" into_oci

only_some() {
    stack_package
    # worker alone: its shared layer is decoded from the payload web carries.
    expect_ok apply "${BASES[@]}" "$S/stack.dd" worker.tar --image worker:v2
    assert_eq "one image" '["localhost/worker:v2"]' "$(tar -xOf worker.tar manifest.json | jq -c '[.[].RepoTags[0]]')"
    assert_eq "worker ID" "$ID_worker" "sha256:$(tar -xOf worker.tar manifest.json | jq -r '.[0].Config' | sed 's/\.json$//')"
    expect_fail 1 "holds no image 'nginx:1'" apply "${BASES[@]}" "$S/stack.dd" x.tar --image nginx:1
    assert_absent x.tar
    local rc=0
    "$DOCKER_DELTA" apply "${BASES[@]}" - x.tar <"$S/stack.dd" 2>err.txt || rc=$?
    ((rc == 1)) || fail "apply - of a stack: exit $rc"
    grep -q "holds 3 images.*from the file" err.txt || fail "apply - of a stack: $(cat err.txt)"
    assert_absent x.tar
}
t "--image applies only some; a packaged layer comes from the image that carries it" only_some

carried_base() {
    stack_package
    # tool's changed last layer is a delta against the release layer web carries (itself a delta
    # against the receiver's base): that base is named by the layer, not among the base layers.
    expect_ok --json list "$S/stack.dd"
    local carried tool_bases
    carried=$(jq -r '[.[] | select(.image == 0)][1].diff_id' <<<"$OUT")
    tool_bases=$(jq -r '[.[] | select(.image == 2)][3] | select(.ship == "delta") | .bases | join(" ")' <<<"$OUT")
    assert_eq "tool's last layer reads web's carried layer" "$carried" "$tool_bases"
    expect_ok --json info "$S/stack.dd"
    assert_eq "not a receiver layer" 0 "$(jq --arg d "$carried" '[.base_layers[] | select(.diff_id == $d)] | length' <<<"$OUT")"
    # tool alone: web's layer is rebuilt first from its payload, against the receiver's v1 base.
    expect_ok --verbose apply "${BASES[@]}" "$S/stack.dd" tool.tar --image tool:v2
    assert_match "rebuilt first" "carried by image 1\).*rebuilt first" "$ERR"
    assert_eq "tool ID" "$ID_tool" "sha256:$(tar -xOf tool.tar manifest.json | jq -r '.[0].Config' | sed 's/\.json$//')"
    # Read whole, not piped into grep -q: grep stops at the first match and, under pipefail, the
    # writer's SIGPIPE would fail the check.
    local release
    release=$(tar -xOf tool.tar "$(tar -xOf tool.tar manifest.json | jq -r '.[0].Layers[3]')" | tar -xO opt/tool/release)
    [[ $release == *"stack v2 release line 50"* ]] || fail "tool's release is not v2's"
    # ... and so tool alone needs the base web's layer is decoded against, which tool v1 lacks.
    mkdir dest
    expect_fail 1 "lack 1 layer.*of localhost/(web|worker):v1" apply --base "docker-archive:$V1:localhost/tool:v1" "$S/stack.dd" dest/t.tar --image tool:v2
    assert_dir_empty dest
    # A header whose delta reads a layer only a later image carries is refused before any work.
    python3 - "$S/stack.dd" later.dd <<'PY'
import os, sys
sys.path.insert(0, os.environ['FORGE_DIR'])
from package_file import Package
p = Package(sys.argv[1])
web, tool = p.header['images'][0], p.header['images'][2]
delta = next(l for l in web['layers'] if l['ship'] == 'delta')
delta['bases'] = [tool['layers'][3]['diff_id']]
p.write(sys.argv[2])
PY
    expect_fail 1 "reads base layer sha256:[0-9a-f]+, which is neither listed nor carried by an earlier image" \
        apply "${BASES[@]}" later.dd dest/t.tar
    assert_dir_empty dest
}
t "a changed layer is encoded against a layer an earlier image of the package carries" carried_base

missing_base() {
    stack_package
    mkdir dest
    expect_fail 1 "lack.*of localhost/(web|worker):v1" apply --base "docker-archive:$V1:localhost/tool:v1" "$S/stack.dd" dest/out.tar
    assert_dir_empty dest
}
t "a missing base names the image that needs it, before any work" missing_base

from_lists() {
    printf '# the stack\ndocker-archive:%s:localhost/web:v2\n\ndocker-archive:%s:localhost/tool:v2\n' "$V2" "$V2" >images.txt
    expect_ok create "${BASES[@]}" --images-from images.txt list.dd
    expect_ok --json info list.dd
    assert_eq "images from the list" "localhost/web:v2 localhost/tool:v2" "$(jq -r '[.images[].repo_tags[0]] | join(" ")' <<<"$OUT")"
    # A compose file names images by reference: read from the daemon.
    docker load -i "$V2" >/dev/null
    printf 'services:\n  web:\n    image: localhost/web:v2\n  worker:\n    image: "localhost/worker:v2"\n    depends_on: [web]\n' >compose.yaml
    expect_ok create "${BASES[@]}" --images-from compose.yaml compose.dd
    expect_ok --json info compose.dd
    assert_eq "images from compose" "$ID_web $ID_worker" "$(jq -r '[.images[].image_id] | join(" ")' <<<"$OUT")"
    printf 'services:\n  app:\n    build: .\n' >bad.yaml
    expect_fail 1 "service 'app' has no image" create "${BASES[@]}" --images-from bad.yaml bad.dd
    assert_absent bad.dd
}
t "--images-from a list and a compose file" from_lists

# ---- split ---------------------------------------------------------------------------------
split_package() {
    [[ -e $S/split.dd.001 ]] || expect_ok create "${BASES[@]}" "docker-archive:$V2:@all" "$S/split.dd" --split 4K
}

split_apply() {
    split_package
    local parts
    parts=$(ls "$S"/split.dd.* | wc -l)
    ((parts >= 3)) || fail "only $parts parts"
    for p in "$S"/split.dd.*; do (($(stat -c %s "$p") <= 4096)) || fail "$p is larger than 4 KiB"; done
    assert_absent "$S/split.dd"
    expect_ok apply "${BASES[@]}" "$S/split.dd.001" parts.tar
    assert_eq "images" 3 "$(tar -xOf parts.tar manifest.json | jq length)"
    expect_ok apply "${BASES[@]}" "$S/split.dd" parts2.tar  # PACKAGE finds its parts too
    cmp parts.tar parts2.tar || fail "applying PACKAGE and PACKAGE.001 differ"
    expect_ok --json info "$S/split.dd.002"
    assert_eq "info counts the parts" "$parts" "$(jq '.summary.parts | length' <<<"$OUT")"
    expect_ok verify "${BASES[@]}" "$S/split.dd.001"
    assert_match "verify" "would apply" "$OUT"
}
t "split into parts of at most 4 KiB; applied from PACKAGE or PACKAGE.001" split_apply

# refused_parts REGEX: the parts in ./p are refused by apply, info and verify; nothing written.
refused_parts() {
    mkdir dest
    expect_fail 1 "$1" apply "${BASES[@]}" p/split.dd.001 dest/out.tar
    assert_dir_empty dest
    expect_fail 1 "$1" verify p/split.dd
}
copy_parts() { split_package; mkdir p; cp "$S"/split.dd.* p/; }
split_missing() { copy_parts; rm p/split.dd.003; refused_parts "part 3 of [0-9]+ is missing"; }
split_swapped() { copy_parts; mv p/split.dd.002 x; mv p/split.dd.003 p/split.dd.002; mv x p/split.dd.003; refused_parts "part 2 of [0-9]+ .* is part 3: the parts are out of order"; }
split_truncated() { copy_parts; truncate -s -100 p/split.dd.002; refused_parts "part 2 of [0-9]+ .* is truncated"; }
split_damaged() { copy_parts; printf 'X' | dd of=p/split.dd.002 bs=1 seek=1000 conv=notrunc 2>/dev/null; refused_parts "part 2 of [0-9]+ .* is damaged"; }
split_foreign() {
    copy_parts
    expect_ok create "${BASES[@]}" "docker-archive:$V2:@all" other.dd --split 4K -l 3
    cp other.dd.002 p/split.dd.002
    refused_parts "part 2 of [0-9]+ .* belongs to another package"
}
split_extra() { copy_parts; local n; n=$(ls p | wc -l); cp p/split.dd.001 "p/split.dd.$(printf %03d $((n + 1)))"; refused_parts "is an extra part: package .* has $n parts"; }
t "split: a missing part is named" split_missing
t "split: swapped parts are named" split_swapped
t "split: a truncated part is named" split_truncated
t "split: a damaged part is named" split_damaged
t "split: a part of another package is named" split_foreign
t "split: an extra part is named" split_extra

split_replaced() {
    split_package
    cp "$S"/split.dd.* .
    # Fewer parts now: --force replaces the package and removes the parts it no longer has.
    expect_ok create "${BASES[@]}" "docker-archive:$V2:@all" split.dd --split 16K --force
    expect_ok verify split.dd
    expect_fail 1 "exists" create "${BASES[@]}" "docker-archive:$V2:@all" split.dd --split 16K
    local n
    n=$(ls split.dd.* | wc -l)
    expect_ok info split.dd
    assert_match "parts" "parts +$n " "$OUT"
}
t "split: --force replaces every part, and no stale part is left" split_replaced

# ---- signatures ----------------------------------------------------------------------------
signed_setup() {
    [[ -e $S/build.key ]] || { expect_ok keygen "$S/build.key"; expect_ok keygen "$S/other.key"; }
    [[ -e $S/signed.dd ]] || expect_ok create "${BASES[@]}" "docker-archive:$V2:@all" "$S/signed.dd" --sign "$S/build.key"
}

signed_applies() {
    signed_setup
    assert_eq "private key mode" 600 "$(stat -c %a "$S/build.key")"
    expect_ok info "$S/signed.dd"
    assert_match "info" "signed by key sha256:" "$OUT"
    expect_ok apply --trust "$S/build.key.pub" "${BASES[@]}" "$S/signed.dd" signed.tar
    mkdir trust.d
    cp "$S/build.key.pub" trust.d/
    DOCKER_DELTA_TRUST_DIR=$PWD/trust.d expect_ok apply "${BASES[@]}" "$S/signed.dd" signed2.tar
    DOCKER_DELTA_TRUST_DIR=$PWD/trust.d expect_ok verify "${BASES[@]}" "$S/signed.dd"
    assert_match "verify" "trusted" "$OUT"
    # No trust configured: an unsigned package applies, and info says so.
    stack_package
    DOCKER_DELTA_TRUST_DIR=$PWD/none expect_ok info "$S/stack.dd"
    assert_match "info" "signature +unsigned" "$OUT"
}
t "signed and trusted: applies (--trust, or the trust directory)" signed_applies

# refused_signature PACKAGE REGEX: refused with trust configured; nothing written or loaded.
refused_signature() {
    mkdir dest
    expect_fail 1 "$2" apply --trust "$S/build.key.pub" "${BASES[@]}" "$1" dest/out.tar
    assert_dir_empty dest
    expect_fail 1 "$2" verify --trust "$S/build.key.pub" "$1"
    docker rmi -f localhost/web:v2 localhost/worker:v2 localhost/tool:v2 >/dev/null 2>&1 || true
    docker load -i "$V1" >/dev/null
    mkdir t.d
    cp "$S/build.key.pub" t.d/
    DOCKER_DELTA_TRUST_DIR=$PWD/t.d expect_fail 1 "$2" apply "$1"
    ! docker image inspect localhost/web:v2 >/dev/null 2>&1 || fail "localhost/web:v2 was loaded"
}
sig_unsigned() { signed_setup; stack_package; refused_signature "$S/stack.dd" "is unsigned, and only signed packages"; }
sig_flipped() {
    signed_setup
    python3 - "$S/signed.dd" flipped.dd <<'PY'
import base64, json, sys
sys.path.insert(0, __import__('os').environ['FORGE_DIR'])
from package_file import Package
p = Package(sys.argv[1])
block = json.loads(p.signature)
sig = bytearray(base64.b64decode(block['signature'])); sig[10] ^= 1
block['signature'] = base64.b64encode(bytes(sig)).decode()
p.signature = json.dumps(block).encode()
p.write(sys.argv[2])
PY
    refused_signature flipped.dd "signature does not match its header"
}
sig_other_key() {
    signed_setup
    expect_ok create "${BASES[@]}" "docker-archive:$V2:@all" other.dd --sign "$S/other.key"
    refused_signature other.dd "signed by key sha256:[0-9a-f]+, which is not trusted"
}
sig_edited() {
    signed_setup
    python3 - "$S/signed.dd" edited.dd <<'PY'
import os, sys
sys.path.insert(0, os.environ['FORGE_DIR'])
from package_file import Package
p = Package(sys.argv[1])
p.header['images'][0]['repo_tags'] = ['localhost/web:evil']
p.write(sys.argv[2])  # the header digest is recomputed; the signature is the old one
PY
    refused_signature edited.dd "signature does not match its header"
}
t "signature: unsigned with trust configured is refused" sig_unsigned
t "signature: a flipped byte in the signature is refused" sig_flipped
t "signature: a package signed by another key is refused" sig_other_key
t "signature: a header edited after signing is refused" sig_edited

# ---- verify --------------------------------------------------------------------------------
verify_cases() {
    stack_package
    expect_ok verify "$S/stack.dd"
    assert_match "without bases" "whole and undamaged" "$OUT"
    expect_ok --json verify "${BASES[@]}" "$S/stack.dd"
    assert_eq "decoded" true "$(jq .decoded <<<"$OUT")"
    assert_eq "every layer ok" 10 "$(jq '[.images[].layers[] | select(.ok)] | length' <<<"$OUT")"
    # A payload damaged in place (its digest no longer matches): verify names the layer.
    python3 - "$S/stack.dd" damaged.dd <<'PY'
import os, sys
sys.path.insert(0, os.environ['FORGE_DIR'])
from package_file import Package
p = Package(sys.argv[1])
i = p.first_delta()
digest = dict(p.layers[i]['payload'])
b = bytearray(p.payloads[i]); b[len(b) // 2] ^= 0xff; p.payloads[i] = bytes(b)
p.write(sys.argv[2])
# put back the digest the header had, as a damaged stick would
import json, struct, hashlib
data = bytearray(open(sys.argv[2], 'rb').read())
ver, hlen, slen = struct.unpack('>III', data[8:20])
h = json.loads(data[20:20 + hlen]); [l for im in h['images'] for l in im['layers']][i]['payload'] = digest
t = json.dumps(h, indent=1).encode()
out = data[:8] + struct.pack('>III', ver, len(t), slen) + t + hashlib.sha256(t).digest() + data[20 + hlen + 32:]
open(sys.argv[2], 'wb').write(out)
PY
    expect_fail 1 "layer [0-9]+ \(sha256:[0-9a-f]+\): the payload is damaged" verify "${BASES[@]}" damaged.dd
    run_dd --json verify damaged.dd
    assert_eq "json verdict" false "$(jq .ok <<<"$OUT")"
    assert_eq "one bad layer" 1 "$(jq '[.images[].layers[] | select(.ok | not)] | length' <<<"$OUT")"
    expect_fail 1 "lacks" verify --base "docker-archive:$V1:localhost/tool:v1" "$S/stack.dd"
}
t "verify: every payload and, with bases, every layer; --json verdicts" verify_cases

v1_still_applies() {
    expect_ok create --base "docker-archive:$V1:localhost/web:v1" "docker-archive:$V2:localhost/web:v2" web.dd
    python3 - web.dd web-v1.dd <<'PY'
import os, sys
sys.path.insert(0, os.environ['FORGE_DIR'])
from package_file import Package
p = Package(sys.argv[1])
image = p.header.pop('images')[0]
p.header['layers'] = image.pop('layers')
p.header['image'] = image
p.header['version'] = 1
p.version, p.signature = 1, None
p.write(sys.argv[2])
PY
    expect_ok info web-v1.dd
    assert_match "format" "version 1" "$OUT"
    expect_ok apply --base "docker-archive:$V1:localhost/web:v1" web-v1.dd web.tar
    assert_eq "web ID" "$ID_web" "sha256:$(tar -xOf web.tar manifest.json | jq -r '.[0].Config' | sed 's/\.json$//')"
}
t "a version 1 package still applies" v1_still_applies

finish
