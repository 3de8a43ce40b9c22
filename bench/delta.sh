#!/usr/bin/env bash
# Measures delta packages on the webapp pair (real Debian and npm packages, built by
# ../shared/bench/make-image-pair.sh and cached in bench/cache), in one run, against:
#   - the whole v2 archive compressed with zstd -19 --long (what users carry today),
#   - per changed layer (v2 layer i against v1 layer i): xdelta3 -9, zstd -19 --long=31
#     --patch-from, and bsdiff.
# Sizes, create and apply wall time, peak RSS. Every package is applied and its image ID checked.
#   bench/delta.sh [path/to/docker_delta]   (default: a Release build in build-release/)
. "$(dirname "$0")/lib.sh" "$@"
w=$cache/webapp
if [ ! -f "$w/v2.docker.tar" ]; then
  bash "$here/../shared/bench/make-image-pair.sh" "$here/../shared/bench/specs/webapp" "$w" >/dev/null
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/dd-bench.XXXXXX"); trap 'rm -rf "$work"' EXIT

# timed LABEL COMMAND...: runs it, appends "seconds kib" to $work/LABEL
timed() {
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  cat "$work/t" >> "$work/$label"
}
# total LABEL -> "seconds|peak MiB" summed over the rows of $work/LABEL (peak: the largest)
total() { awk '{s+=$1; if($2>m)m=$2} END{printf "%.2f|%d", s, m/1024}' "$work/$1"; }
mb() { awk -v b="$1" 'BEGIN{printf "%.2f", b/1e6}'; }

# ---- docker_delta -----------------------------------------------------------------------------
id_of() { "$dd" --json inspect "$1" | jq -r .image_id; }
want=$(id_of "$w/v2.docker.tar")
ours() { # ours NAME [create flags...]
  local name=$1; shift
  timed "$name-create" "$dd" -q create "$@" --base "$w/v1.docker.tar" "$w/v2.docker.tar" "$work/$name.dd"
  timed "$name-apply" "$dd" -q apply --base "$w/v1.docker.tar" "$work/$name.dd" "docker-archive:$work/$name.tar"
  [ "$(id_of "$work/$name.tar")" = "$want" ] || { echo "$name: rebuilt image ID differs" >&2; exit 1; }
  echo "| docker_delta $name | $(mb "$(stat -c %s "$work/$name.dd")") | $(total "$name-create" | tr '|' ' ' | awk '{print $1" | "$2}') | $(total "$name-apply" | tr '|' ' ' | awk '{print $1" | "$2}') |"
}

# ---- the standard tools, per changed layer ------------------------------------------------------
mkdir -p "$work/v1" "$work/v2"
tar -C "$work/v1" -xf "$w/v1.docker.tar"
tar -C "$work/v2" -xf "$w/v2.docker.tar"
mapfile -t l1 < <(jq -r '.[0].Layers[]' "$work/v1/manifest.json")
mapfile -t l2 < <(jq -r '.[0].Layers[]' "$work/v2/manifest.json")
per_layer() { # per_layer NAME ENCODE DECODE (functions taking OLD NEW PATCH OUT)
  local name=$1 enc=$2 dec=$3 bytes=0 i
  for i in "${!l2[@]}"; do
    cmp -s "$work/v1/${l1[i]}" "$work/v2/${l2[i]}" && continue  # unchanged: nothing to ship
    timed "$name-create" bash -c "$enc \"\$@\"" _ "$work/v1/${l1[i]}" "$work/v2/${l2[i]}" "$work/patch.$i"
    timed "$name-apply" bash -c "$dec \"\$@\"" _ "$work/v1/${l1[i]}" "$work/patch.$i" "$work/out.$i"
    cmp -s "$work/out.$i" "$work/v2/${l2[i]}" || { echo "$name: layer $i does not round-trip" >&2; exit 1; }
    bytes=$((bytes + $(stat -c %s "$work/patch.$i")))
    rm -f "$work/patch.$i" "$work/out.$i"
  done
  echo "| $name per layer | $(mb "$bytes") | $(total "$name-create" | awk -F'|' '{print $1" | "$2}') | $(total "$name-apply" | awk -F'|' '{print $1" | "$2}') |"
}
xd_enc() { xdelta3 -e -9 -f -s "$1" "$2" "$3"; }
xd_dec() { xdelta3 -d -f -s "$1" "$2" "$3"; }
zs_enc() { zstd -q -f -19 --long=31 --patch-from="$1" "$2" -o "$3"; }
zs_dec() { zstd -q -f -d --long=31 --patch-from="$1" "$2" -o "$3"; }
bs_enc() { bsdiff "$1" "$2" "$3"; }
bs_dec() { bspatch "$1" "$3" "$2"; }
export -f xd_enc xd_dec zs_enc zs_dec bs_enc bs_dec

only=${ONLY:-all}  # ONLY=ours skips the slow baselines while iterating
echo "| what ships | MB | create s | create peak MiB | apply s | apply peak MiB |"
echo "|---|---|---|---|---|---|"
if [ "$only" = all ]; then
timed whole-create zstd -q -f -19 --long=31 -T1 "$w/v2.docker.tar" -o "$work/whole.zst"
timed whole-apply zstd -q -f -d --long=31 "$work/whole.zst" -o "$work/whole.tar"
echo "| whole v2 archive, zstd -19 --long | $(mb "$(stat -c %s "$work/whole.zst")") | $(total whole-create | awk -F'|' '{print $1" | "$2}') | $(total whole-apply | awk -F'|' '{print $1" | "$2}') |"
rm -f "$work/whole.zst" "$work/whole.tar"
fi
ours default
ours best --best
[ "$only" = all ] || exit 0
per_layer "xdelta3 -9" xd_enc xd_dec
per_layer "zstd -19 --long=31 --patch-from" zs_enc zs_dec
per_layer "bsdiff" bs_enc bs_dec
