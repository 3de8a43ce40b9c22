#!/usr/bin/env bash
# Measures packages for a stack of images made from the webapp pair (bench/delta.sh's, cached in
# bench/cache): variant k of each version is webapp with a different set of paths excluded
# (docker_delta's exclude filter), so the variants share some layers and differ in others, as
# the images of one site's stack built on one base do. In one run:
#   - one package for the stack of 3 images against the sum of 3 per-image packages and against
#     the three images in one docker-save archive compressed with zstd -19 (bytes,
#     create and apply time, peak RSS); every rebuilt image ID is checked;
#   - create and apply peak RSS for stacks of 1, 2, 4 and 8 images (memory must stay flat).
#   bench/stack.sh [path/to/docker_delta]   (default: a Release build in build-release/)
. "$(dirname "$0")/lib.sh" "$@"
w=$cache/webapp
if [ ! -f "$w/v2.docker.tar" ]; then
  bash "$here/../shared/bench/make-image-pair.sh" "$here/../shared/bench/specs/webapp" "$w" >/dev/null
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/dd-bench.XXXXXX"); trap 'rm -rf "$work"' EXIT

excludes=("usr/share/doc" "usr/share/man" "usr/share/locale" "*.md" "usr/share/doc,usr/share/man"
          "*.ts" "LICENSE*" "usr/share/zoneinfo")
s=$cache/stack
mkdir -p "$s"
for v in v1 v2; do
  for k in "${!excludes[@]}"; do
    out=$s/app$k-$v.tar
    [ -f "$out" ] || "$dd" -q process "$w/$v.docker.tar" "docker-archive:$out:localhost/app$k:$v" \
      --filter "exclude:${excludes[k]}"
  done
done
id_of() { "$dd" --json inspect "$1" | jq -r .image_id; }
timed() { # timed COMMAND... -> "seconds peakMiB"
  /usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  awk '{printf "%.2f %d", $1, $2/1024}' "$work/t"
}
mb() { awk -v b="$1" 'BEGIN{printf "%.2f", b/1e6}'; }

# stack N: one package of images 0..N-1, applied to one multi-image archive; prints the row.
stack() {
  local n=$1 bases=() news=() k
  for ((k = 0; k < n; k++)); do
    bases+=(--base "$s/app$k-v1.tar")
    news+=("$s/app$k-v2.tar")
  done
  local c a
  c=$(timed "$dd" -q create "${bases[@]}" "${news[@]}" "$work/stack$n.dd")
  a=$(timed "$dd" -q apply "${bases[@]}" "$work/stack$n.dd" "$work/stack$n.tar")
  for ((k = 0; k < n; k++)); do
    local want got
    want=$(id_of "$s/app$k-v2.tar")
    got=$("$dd" --json inspect "docker-archive:$work/stack$n.tar:@$k" | jq -r .image_id)
    [ "$want" = "$got" ] || { echo "stack of $n: image $k rebuilt as $got, not $want" >&2; exit 1; }
  done
  read -r cs cm <<<"$c"
  read -r as am <<<"$a"
  echo "| stack of $n, one package | $(mb "$(stat -c %s "$work/stack$n.dd")") | $cs | $cm | $as | $am |"
  [ "$n" = 3 ] || rm -f "$work/stack$n.tar"
}

echo "| | MB | create s | create peak MiB | apply s | apply peak MiB |"
echo "|---|---|---|---|---|---|"
stack 3
bytes=0 ct=0 cm=0 at=0 am=0
for k in 0 1 2; do
  read -r s1 m1 <<<"$(timed "$dd" -q create --base "$s/app$k-v1.tar" "$s/app$k-v2.tar" "$work/one$k.dd")"
  read -r s2 m2 <<<"$(timed "$dd" -q apply --base "$s/app$k-v1.tar" "$work/one$k.dd" "$work/one$k.tar")"
  [ "$(id_of "$work/one$k.tar")" = "$(id_of "$s/app$k-v2.tar")" ] || { echo "image $k: rebuilt image ID differs" >&2; exit 1; }
  bytes=$((bytes + $(stat -c %s "$work/one$k.dd")))
  ct=$(awk -v a="$ct" -v b="$s1" 'BEGIN{print a+b}'); at=$(awk -v a="$at" -v b="$s2" 'BEGIN{print a+b}')
  ((m1 > cm)) && cm=$m1; ((m2 > am)) && am=$m2
  rm -f "$work/one$k.tar"
done
echo "| 3 per-image packages, summed | $(mb "$bytes") | $ct | $cm | $at | $am |"
# What is carried without docker_delta: the three images in one docker save archive (shared
# layers once; the applied stack is exactly that), compressed.
echo "| the 3 v2 images in one docker save archive, zstd -19 --long | $(mb "$(zstd -q -19 --long=27 -T2 -c "$work/stack3.tar" | wc -c)") | | | | |"
for n in 1 2 4 8; do stack "$n"; done
