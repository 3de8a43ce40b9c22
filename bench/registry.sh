#!/usr/bin/env bash
# Measures the registry paths on the webapp pair against skopeo, on a private docker-registry
# (Debian's distribution 2.8) on 127.0.0.1, three alternating rounds each:
#   registry-to-archive        vs  skopeo copy docker://... docker-archive:
#   archive-to-registry        vs  skopeo copy docker-archive: docker://...
#   delta-to-registry (site holds v1)  vs  skopeo copy of the v2 archive to a site holding v1
#   bench/registry.sh [path/to/docker_delta]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dd=${1:-$here/build-release/docker_delta}
w=$here/bench/cache/webapp
[ -f "$w/v2.docker.tar" ] || { echo "run bench/delta.sh first (it builds the webapp pair)" >&2; exit 1; }
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dd-bench.XXXXXX")
. "$here/tests/fixtures/registry.sh"
trap 'registry_stop_all; rm -rf "$E2E_TMP"' EXIT
work=$E2E_TMP
registry_start B plain
reg=$REG_B_ADDR
sk=(skopeo --insecure-policy)
timed() { sync; /usr/bin/time -f '%e|%M' -o "$work/t" "$@" >/dev/null 2>"$work/err" || { echo "failed: $* $(cat "$work/err")" >&2; exit 1; }; awk -F'|' '{printf "%s s | %d MiB", $1, $2/1024}' "$work/t"; }
want=$("$dd" --json inspect "$w/v2.docker.tar" | jq -r .image_id)
"${sk[@]}" copy -q --dest-tls-verify=false "oci-archive:$w/v2.oci.tar" "docker://$reg/webapp:v2"
# Each push goes to a registry of its own: skopeo's blob-info cache would otherwise mount blobs
# pushed before from other repositories, and measure no upload at all.
registry_start S1 plain
registry_start S2 plain
"${sk[@]}" copy -q --dest-tls-verify=false "oci-archive:$w/v1.oci.tar" "docker://$REG_S1_ADDR/site/webapp:v1"
"${sk[@]}" copy -q --dest-tls-verify=false "oci-archive:$w/v1.oci.tar" "docker://$REG_S2_ADDR/site/webapp:v1"
echo "| what | wall | peak RSS |"
echo "|---|---|---|"
for round in 1 2 3; do
  rm -f "$work/a.tar" "$work/b.tar"
  echo "| round $round: docker_delta registry-to-archive | $(timed "$dd" -q registry-to-archive "//$reg/webapp:v2" "$work/a.tar") |"
  [ "$("$dd" --json inspect "$work/a.tar" | jq -r .image_id)" = "$want" ] || { echo "wrong image ID" >&2; exit 1; }
  echo "| round $round: skopeo copy docker:// docker-archive: | $(timed "${sk[@]}" copy -q --src-tls-verify=false "docker://$reg/webapp:v2" "docker-archive:$work/b.tar:webapp:v2") |"
done
for round in 1 2 3; do
  registry_start D$round plain
  registry_start K$round plain
  a=REG_D${round}_ADDR b=REG_K${round}_ADDR
  echo "| round $round: docker_delta archive-to-registry (gzip) | $(timed "$dd" -q archive-to-registry "$w/v2.docker.tar" "//${!a}/webapp:v2") |"
  echo "| round $round: skopeo copy docker-archive: docker:// (gzip) | $(timed "${sk[@]}" copy -q --dest-tls-verify=false "docker-archive:$w/v2.docker.tar" "docker://${!b}/webapp:v2") |"
done
"$dd" -q create -f --base "$w/v1.docker.tar" "$w/v2.docker.tar" "$work/pkg.dd"
echo "| docker_delta delta-to-registry, site holds v1 (package $(stat -c %s "$work/pkg.dd") B) | $(timed "$dd" -q delta-to-registry "$work/pkg.dd" "//$REG_S1_ADDR/site/webapp:v2" --base "docker://$REG_S1_ADDR/site/webapp:v1") |"
[ "$("${sk[@]}" inspect --tls-verify=false --config --raw "docker://$REG_S1_ADDR/site/webapp:v2" | sha256sum | cut -d' ' -f1)" = "${want#sha256:}" ] || { echo "wrong image ID at the site" >&2; exit 1; }
echo "| skopeo copy of the v2 archive ($(stat -c %s "$w/v2.docker.tar") B) to a site holding v1 | $(timed "${sk[@]}" copy -q --dest-tls-verify=false "docker-archive:$w/v2.docker.tar" "docker://$REG_S2_ADDR/site/webapp:v2") |"
