#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets from the test fixtures and the tools that made them:
# make-seeds.sh FIXTURES DOCKER_DELTA FUZZ_BUILD_DIR OUT_DIR (one directory per target).
set -euo pipefail
fixtures=$1 docker_delta=$2 fuzz_build=$3 out=$4
rm -rf "$out"
mkdir -p "$out"/{manifest_parser,layer_tar_index,delta_package,tar_delta,suffix_patch,gzip_recipe,docker_save_stream,registry_answers}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
seed() { n=$((n + 1)); cp "$2" "$out/$1/seed-$n"; }

# Documents: every index.json and small JSON blob of the OCI layouts, every manifest.json of the
# docker archives.
for layout in "$fixtures"/*.oci; do
  [[ -f $layout/index.json ]] && seed manifest_parser "$layout/index.json"
  for blob in "$layout"/blobs/sha256/*; do
    [[ $(stat -c %s "$blob") -lt 65536 && $(head -c 1 "$blob") == "{" ]] && seed manifest_parser "$blob"
  done
done
for archive in "$fixtures"/*.docker.tar "$fixtures"/*.legacy*.tar; do
  [[ -f $archive ]] || continue
  tar -xOf "$archive" manifest.json > "$work/m.json" 2>/dev/null && seed manifest_parser "$work/m.json"
done

# Layer tars: one small tree in every format GNU tar writes, and the uncompressed layers of a
# fixture.
mkdir -p "$work/tree/dir/sub" && cd "$work/tree"
printf 'hello\n' > dir/file && ln -s file dir/link && ln dir/file dir/hard && : > dir/empty
printf '%0200d' 0 > "dir/sub/$(printf 'n%.0s' {1..120})" && truncate -s 64K dir/sparse
for format in gnu oldgnu posix ustar v7; do
  # Formats that cannot hold a sparse file or the 120-byte name get the tree without them.
  tar --format=$format -cf "$work/$format.tar" --sparse . 2>/dev/null ||
    tar --format=$format -cf "$work/$format.tar" . 2>/dev/null ||
    tar --format=$format -cf "$work/$format.tar" --exclude=./dir/sub . 2>/dev/null ||
    continue
  seed layer_tar_index "$work/$format.tar"
done
cd - >/dev/null
for blob in "$fixtures"/small-v1.uncompressed.oci/blobs/sha256/*; do
  [[ $(stat -c %s "$blob") -lt 1048576 ]] && tar -tf "$blob" >/dev/null 2>&1 && seed layer_tar_index "$blob"
done

# Package headers: a real package read whole (first byte 0) and its header JSON alone (first byte 1).
"$docker_delta" create --base "$fixtures/small-v1.buildah.docker.tar" "$fixtures/small-v2.buildah.docker.tar" \
  "$work/p.ddelta" >/dev/null
length=$(od -An -tu1 -j12 -N4 "$work/p.ddelta" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
{ printf '\0'; head -c $((16 + length + 32)) "$work/p.ddelta"; } > "$work/pkg" && seed delta_package "$work/pkg"
{ printf '\1'; tail -c +17 "$work/p.ddelta" | head -c "$length"; } > "$work/hdr" && seed delta_package "$work/hdr"

# Tar-delta payloads: what the encoder makes against the target's own base layer.
DD_FUZZ_WRITE_SEEDS="$out/tar_delta" "$fuzz_build/fuzz/tar_delta_fuzz" >/dev/null 2>&1
# Suffix-matcher patches: what the encoder makes against the target's own old file.
DD_FUZZ_WRITE_SEEDS="$out/suffix_patch" "$fuzz_build/fuzz/suffix_patch_fuzz" >/dev/null 2>&1

# Gzip members: gzip -9n (the recipes' own kind), other levels and a named member.
seq 1 3000 > "$work/text"
for level in 1 6 9; do gzip -$level -n -c "$work/text" > "$work/g$level.gz" && seed gzip_recipe "$work/g$level.gz"; done
gzip -9 -c "$work/text" > "$work/named.gz" && seed gzip_recipe "$work/named.gz"
printf '' | gzip -9n > "$work/empty.gz" && seed gzip_recipe "$work/empty.gz"
# Save streams: the image ID (32 bytes) then a docker archive, as Docker <= 24, 25+ and podman
# write them.
for archive in "$fixtures"/small-v1.docker25.tar "$fixtures"/small-v1.podman.docker.tar "$fixtures"/small-v1.buildah.docker.tar; do
  [[ -f $archive ]] || continue
  config=$(tar -xOf "$archive" manifest.json | jq -r '.[0].Config')
  { tar -xOf "$archive" "$config" | sha256sum | cut -c1-64 | perl -ne 'chomp; print pack("H*", $_)'; cat "$archive"; } > "$work/save" && seed docker_save_stream "$work/save"
done

# Registry answers: challenges, an auth file, error JSON and names, as registries write them.
printf '%s' 'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:team/app:pull,push"' > "$work/r1"
printf '%s' 'Basic realm="Registry Realm", charset=UTF-8' > "$work/r2"
printf '%s' '{"auths": {"https://registry.example:5000/v2/": {"auth": "dXNlcjpwYXNz"}}, "credHelpers": {"x": "y"}}' > "$work/r3"
printf '%s' '{"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"Tag": "v9"}}]}' > "$work/r4"
printf '%s' 'registry.example:5000/team/app:v2@sha256:0123456789012345678901234567890123456789012345678901234567890123' > "$work/r5"
for f in "$work"/r[1-5]; do seed registry_answers "$f"; done
for target in "$out"/*; do echo "$(basename "$target"): $(ls "$target" | wc -l) seeds"; done
