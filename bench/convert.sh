#!/usr/bin/env bash
# Measures format conversion: wall time and peak RSS of docker_delta against skopeo copy doing
# the same conversion, on the webapp v2 image (real Debian and npm packages, built by
# ../shared/bench/make-image-pair.sh) and on a synthetic image with one 1.5 GiB layer.
# Images are cached in bench/cache (git-ignored). Prints a Markdown table.
#   bench/convert.sh [path/to/docker_delta]   (default: a Release build in build-release/)
. "$(dirname "$0")/lib.sh" "$@"

if [ ! -f "$cache/webapp/v2.docker.tar" ]; then
  bash "$here/../shared/bench/make-image-pair.sh" "$here/../shared/bench/specs/webapp" "$cache/webapp" >/dev/null
fi
large=$cache/large
if [ ! -f "$large/large.oci.tar" ]; then
  # Random bytes do not compress: this measures streaming and hashing, not the codecs' best case.
  mkdir -p "$large/ctx"
  head -c 1536M /dev/urandom > "$large/ctx/blob"
  printf 'FROM scratch\nCOPY blob /blob\n' > "$large/ctx/Containerfile"
  run=$(mktemp -d /tmp/dd-run.XXXXXX)  # podman tools refuse a runroot over 50 characters
  b=(buildah --storage-driver vfs --root "$large/storage" --runroot "$run")
  "${b[@]}" bud -q --timestamp 1700000000 -t localhost/large:v1 "$large/ctx" >/dev/null
  "${b[@]}" push -q localhost/large:v1 "docker-archive:$large/large.docker.tar:localhost/large:v1"
  "${b[@]}" push -q localhost/large:v1 "oci-archive:$large/large.oci.tar:v1"
  "${b[@]}" rmi -a -f >/dev/null 2>&1 || true
  rm -rf "$large/ctx" "$large/storage" "$run"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/dd-bench.XXXXXX"); trap 'rm -rf "$work"' EXIT
# measure LABEL COMMAND... -> "seconds|peak RSS MiB", after one untimed run to warm the page cache
measure() {
  rm -rf "$work/out" "$work/out.tar"; "$@" >/dev/null 2>&1
  rm -rf "$work/out" "$work/out.tar"
  /usr/bin/time -f '%e|%M' -o "$work/time" "$@" >/dev/null 2>&1
  IFS='|' read -r secs kib < "$work/time"
  echo "$secs|$((kib / 1024))"
}
row() {  # row IMAGE CONVERSION SOURCE DD_SOURCE DD_DEST SKOPEO_SOURCE SKOPEO_DEST [--compress X]
  local image=$1 what=$2 size=$3 dsrc=$4 ddst=$5 ssrc=$6 sdst=$7; shift 7
  local ours theirs skopeo_flags=()
  [ "${1:-}" = --compress ] && skopeo_flags=(--dest-compress-format "$2")
  ours=$(measure "$dd" -q process "$dsrc" "$ddst" "$@")
  theirs=$(measure skopeo copy -q "${skopeo_flags[@]}" "$ssrc" "$sdst")
  echo "| $image ($size) | $what | ${ours%|*} s | ${ours#*|} MiB | ${theirs%|*} s | ${theirs#*|} MiB |"
}
human() { numfmt --to=iec --suffix=B "$(stat -c %s "$1")"; }

echo "| image | conversion | docker_delta | peak RSS | skopeo copy | peak RSS |"
echo "|---|---|---|---|---|---|"
w=$cache/webapp
for img in "webapp v2|$w/v2.docker.tar|$w/v2.oci.tar" "large|$large/large.docker.tar|$large/large.oci.tar"; do
  IFS='|' read -r name docker oci <<<"$img"
  row "$name" "docker-archive → oci, gzip" "$(human "$docker")" \
    "docker-archive:$docker" "oci:$work/out" "docker-archive:$docker" "oci:$work/out" --compress gzip
  row "$name" "oci-archive (gzip) → oci, layers copied" "$(human "$oci")" \
    "oci-archive:$oci" "oci:$work/out" "oci-archive:$oci" "oci:$work/out"
  row "$name" "oci-archive (gzip) → docker-archive" "$(human "$oci")" \
    "oci-archive:$oci" "docker-archive:$work/out.tar:localhost/x:1" "oci-archive:$oci" "docker-archive:$work/out.tar:localhost/x:1"
  row "$name" "docker-archive → oci zstd" "$(human "$docker")" \
    "docker-archive:$docker" "oci:$work/out" "docker-archive:$docker" "oci:$work/out" --compress zstd
done
