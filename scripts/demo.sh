#!/usr/bin/env bash
# The main job on the built-in sample: builds two versions of a small docker archive, ships the
# second as a delta package against the first and rebuilds it exactly; then moves it through
# every format and back, showing that the image ID and every diff_id survive.
#   demo.sh [path/to/docker_delta]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dd=$(realpath "${1:-$here/build/docker_delta}")  # absolute: the demo works in a temp dir
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
run() { echo "\$ docker_delta ${*}"; "$dd" "$@"; echo; }

bash "$here/scripts/make-sample-archive.sh" "$work/sample.tar" >/dev/null
bash "$here/scripts/make-sample-archive.sh" "$work/sample-v2.tar" "hello from version 2 of the sample" localhost/sample:v2 >/dev/null
cd "$work"
run create --base sample.tar sample-v2.tar update.ddelta
run info update.ddelta
run list update.ddelta
run apply --base sample.tar update.ddelta docker-archive:rebuilt.tar:localhost/sample:v2
want=$("$dd" inspect --json sample-v2.tar | jq -c '[.image_id, [.layers[].diff_id]]')
got=$("$dd" inspect --json rebuilt.tar | jq -c '[.image_id, [.layers[].diff_id]]')
if [ "$want" = "$got" ]; then
  echo "the package ($(stat -c %s update.ddelta) bytes; the new image is $(stat -c %s sample-v2.tar)) rebuilt the exact image:"
  echo "  $got"
  echo
else
  echo "the rebuilt image differs: $want -> $got" >&2; exit 1
fi
run inspect sample.tar
run archive-to-oci sample.tar sample.oci:v1
run process oci:sample.oci:v1 oci-archive:sample-zstd.tar --compress zstd
run archive-to-archive sample-zstd.tar back.tar:localhost/sample:v1
run inspect back.tar

before=$("$dd" inspect --json sample.tar | jq -c '[.image_id, [.layers[].diff_id]]')
after=$("$dd" inspect --json back.tar | jq -c '[.image_id, [.layers[].diff_id]]')
if [ "$before" = "$after" ]; then
  echo "round trip docker-archive -> oci -> oci-archive (zstd) -> docker-archive kept image ID and diff_ids:"
  echo "  $after"
else
  echo "round trip changed the image: $before -> $after" >&2; exit 1
fi
