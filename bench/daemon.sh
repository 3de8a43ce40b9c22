#!/usr/bin/env bash
# Measures the docker daemon paths on the webapp pair against docker's own commands, on the
# daemon DOCKER_HOST names (tests/fixtures/dockerd.sh start DIR gives a private one):
#   docker-to-delta            vs  docker save v2 (+ v1) to archives, then create from them
#   delta-to-docker            vs  docker load of the whole v2 archive (three alternating rounds)
#   bench/daemon.sh [path/to/docker_delta]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dd=${1:-$here/build-release/docker_delta}
w=$here/bench/cache/webapp
[ -f "$w/v2.docker.tar" ] || { echo "run bench/delta.sh first (it builds the webapp pair)" >&2; exit 1; }
docker version >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/dd-bench.XXXXXX"); trap 'rm -rf "$work"' EXIT
# sync first: the vfs daemon writes GBs, and writeback left over from one step would slow the next.
timed() { sync; /usr/bin/time -f '%e|%M' -o "$work/t" "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; awk -F'|' '{printf "%s s | %d MiB", $1, $2/1024}' "$work/t"; }
docker rmi -f localhost/webapp:v1 localhost/webapp:v2 >/dev/null 2>&1 || true
docker load -q -i "$w/v1.docker.tar" >/dev/null
docker load -q -i "$w/v2.docker.tar" >/dev/null
echo "| what | wall | peak RSS |"
echo "|---|---|---|"
echo "| docker_delta docker-to-delta --base webapp:v1 webapp:v2 | $(timed "$dd" -q docker-to-delta --base localhost/webapp:v1 localhost/webapp:v2 "$work/pkg.dd") |"
save_then_create() {
  docker save -o "$work/v1.tar" localhost/webapp:v1 && docker save -o "$work/v2.tar" localhost/webapp:v2 &&
    "$dd" -q create -f --base "$work/v1.tar" "$work/v2.tar" "$work/pkg2.dd"
}
export -f save_then_create; export dd work
echo "| docker save v1, v2 + create from the archives | $(timed bash -c save_then_create) |"
# The daemon's own load time drifts within a session, so the two loads alternate, round by round.
want_id=$("$dd" --json inspect "$w/v2.docker.tar" | jq -r .image_id)
for round in 1 2 3; do
  docker rmi localhost/webapp:v2 >/dev/null
  echo "| round $round: docker_delta delta-to-docker (bases read from the daemon) | $(timed "$dd" -q delta-to-docker "$work/pkg.dd") |"
  [ "$(docker image inspect localhost/webapp:v2 --format '{{.Id}}')" = "$want_id" ] || { echo "wrong image ID" >&2; exit 1; }
  docker rmi localhost/webapp:v2 >/dev/null
  echo "| round $round: docker load of the whole v2 archive | $(timed docker load -q -i "$w/v2.docker.tar") |"
done
