#!/usr/bin/env bash
# Measures delta packages on an image pair (real Debian and npm packages, built by
# ../shared/bench/make-image-pair.sh and cached in bench/cache/PAIR), in one run, against:
#   - the whole v2 archive compressed with zstd -19 --long (what users carry today),
#   - per changed layer (v2 layer i against v1 layer i): xdelta3 -9, zstd -19 --long=31
#     --patch-from, and bsdiff,
#   - tar-diff (github.com/containers/tar-diff: per-file bsdiff between layer tars), one delta per
#     changed v2 layer against all the v1 layers, applied with tar-patch from the v1 layers
#     extracted into one directory.
# Sizes, create and apply wall time, peak RSS. Every package is applied and its image ID checked
# (each per-layer output is compared byte for byte with the v2 layer).
#   [PAIR=webapp] [ONLY=all|ours|tar-diff] bench/delta.sh [path/to/docker_delta]
#     (default binary: a Release build in build-release/)
# PAIR names a spec directory, looked up in bench/specs/ first, then ../shared/bench/specs/; the
# pair is built on first use (takes ~10 minutes).
# tar-diff and tar-patch are taken from $TAR_DIFF_DIR (default bench/cache/tar-diff/) or PATH, as
# built elsewhere (the figures in docs/benchmarks.md: v0.1.2 built with Debian's Go 1.19 in GOPATH
# mode against golang-github-containers-image-dev and golang-github-klauspost-compress-dev).
# Without them the row says "skipped" and the rest runs. A tar-diff that takes a single old tar
# (v0.1.x) is given the v1 layers concatenated into one tar (tar -A, made once, not timed): the
# same input.
. "$(dirname "$0")/lib.sh" "$@"
pair=${PAIR:-webapp}
spec=$here/bench/specs/$pair
[ -d "$spec" ] || spec=$here/../shared/bench/specs/$pair
[ -d "$spec" ] || { echo "no spec \"$pair\" in bench/specs/ or ../shared/bench/specs/" >&2; exit 1; }
w=$cache/$pair
if [ ! -f "$w/v2.docker.tar" ]; then
  bash "$here/../shared/bench/make-image-pair.sh" "$spec" "$w" >/dev/null
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

# ---- tar-diff ---------------------------------------------------------------------------------
# tar_diff_find: the tar-diff and tar-patch programs in $TAR_DIFF_DIR (default bench/cache/tar-diff/)
# or on PATH; else sets td_skip and returns 1. They are built outside this repository.
td=${TAR_DIFF_DIR:-$cache/tar-diff}
tar_diff_find() {
  if [ -x "$td/tar-diff" ] && [ -x "$td/tar-patch" ]; then return 0; fi
  if command -v tar-diff >/dev/null && command -v tar-patch >/dev/null; then
    td=$(dirname "$(command -v tar-diff)"); return 0
  fi
  td_skip="no tar-diff and tar-patch in $td or on PATH"; return 1
}
tar_diff_row() {
  local name="tar-diff (all old layers)" bytes=0 i old
  td_skip=
  if ! tar_diff_find; then
    echo "| tar-diff: skipped ($td_skip) | | | | | |"; return 0
  fi
  # v1 as the receiver has it: all its layers extracted, in order, into one directory
  mkdir -p "$work/td-root"
  for i in "${!l1[@]}"; do tar -C "$work/td-root" -xf "$work/v1/${l1[i]}"; done
  # several old tars if this tar-diff takes them, else the v1 layers concatenated into one tar
  printf x >"$work/td-probe"; tar -cf "$work/td-probe.tar" -C "$work" td-probe
  if "$td/tar-diff" "$work/td-probe.tar" "$work/td-probe.tar" "$work/td-probe.tar" "$work/td-probe.d" >/dev/null 2>&1; then
    old=()
    for i in "${!l1[@]}"; do old+=("$work/v1/${l1[i]}"); done
  else
    cp "$work/v1/${l1[0]}" "$work/td-old.tar"
    for i in "${!l1[@]}"; do [ "$i" = 0 ] || tar -Af "$work/td-old.tar" "$work/v1/${l1[i]}"; done
    old=("$work/td-old.tar")
  fi
  for i in "${!l2[@]}"; do
    [ -n "${l1[i]:-}" ] && cmp -s "$work/v1/${l1[i]}" "$work/v2/${l2[i]}" && continue  # unchanged
    timed td-create "$td/tar-diff" "${old[@]}" "$work/v2/${l2[i]}" "$work/patch.$i"
    timed td-apply "$td/tar-patch" "$work/patch.$i" "$work/td-root" "$work/out.$i"
    cmp -s "$work/out.$i" "$work/v2/${l2[i]}" || { echo "$name: layer $i does not round-trip" >&2; exit 1; }
    bytes=$((bytes + $(stat -c %s "$work/patch.$i")))
    rm -f "$work/patch.$i" "$work/out.$i"
  done
  rm -rf "$work/td-root" "$work/td-old.tar"
  echo "| $name | $(mb "$bytes") | $(total td-create | awk -F'|' '{print $1" | "$2}') | $(total td-apply | awk -F'|' '{print $1" | "$2}') |"
}

only=${ONLY:-all}  # ONLY=ours skips the slow baselines while iterating; ONLY=tar-diff runs that row alone
echo "| what ships ($pair) | MB | create s | create peak MiB | apply s | apply peak MiB |"
echo "|---|---|---|---|---|---|"
if [ "$only" = all ]; then
timed whole-create zstd -q -f -19 --long=31 -T1 "$w/v2.docker.tar" -o "$work/whole.zst"
timed whole-apply zstd -q -f -d --long=31 "$work/whole.zst" -o "$work/whole.tar"
echo "| whole v2 archive, zstd -19 --long | $(mb "$(stat -c %s "$work/whole.zst")") | $(total whole-create | awk -F'|' '{print $1" | "$2}') | $(total whole-apply | awk -F'|' '{print $1" | "$2}') |"
rm -f "$work/whole.zst" "$work/whole.tar"
fi
if [ "$only" != tar-diff ]; then
ours default
ours best --best
fi
if [ "$only" = all ]; then
per_layer "xdelta3 -9" xd_enc xd_dec
per_layer "zstd -19 --long=31 --patch-from" zs_enc zs_dec
per_layer "bsdiff" bs_enc bs_dec
fi
if [ "$only" = all ] || [ "$only" = tar-diff ]; then
tar_diff_row
fi
