#!/usr/bin/env bash
# Memory and time of a delta package whose one layer is 1.5 GiB: v1 holds 1.5 GiB of random bytes
# (which do not compress), v2 the same file with three stretches rewritten, 1 MiB inserted near
# the start and 1 MiB dropped near the end, so every window of the file moves. create (default
# settings, and -m suffix) and apply, each checked against v2's image ID; xdelta3 -9 on the layer
# beside it, in the same run. Images are cached in bench/cache/large-pair (git-ignored).
#   bench/large-delta.sh [path/to/docker_delta]   (default: a Release build in build-release/)
. "$(dirname "$0")/lib.sh" "$@"
pair=$cache/large-pair
if [ ! -f "$pair/v2.docker.tar" ]; then
  mkdir -p "$pair/ctx1" "$pair/ctx2"
  head -c 1536M /dev/urandom > "$pair/ctx1/blob"
  { dd if="$pair/ctx1/blob" bs=1M count=100 status=none; head -c 1M /dev/urandom
    dd if="$pair/ctx1/blob" bs=1M skip=100 count=1300 status=none; dd if="$pair/ctx1/blob" bs=1M skip=1401 status=none; } \
    > "$pair/ctx2/blob"
  for at in 300 700 1200; do  # rewrite 64 KiB at three places
    head -c 65536 /dev/urandom | dd of="$pair/ctx2/blob" bs=1M seek="$at" conv=notrunc status=none
  done
  for v in 1 2; do
    printf 'FROM scratch\nCOPY blob /blob\n' > "$pair/ctx$v/Containerfile"
    run=$(mktemp -d /tmp/dd-run.XXXXXX)  # podman tools refuse a runroot over 50 characters
    b=(buildah --storage-driver vfs --root "$pair/storage" --runroot "$run")
    "${b[@]}" bud -q --timestamp 1700000000 -t "localhost/large:v$v" "$pair/ctx$v" >/dev/null
    "${b[@]}" push -q "localhost/large:v$v" "docker-archive:$pair/v$v.docker.tar:localhost/large:v$v"
    "${b[@]}" rmi -a -f >/dev/null 2>&1 || true
    rm -rf "$pair/storage" "$run"
  done
  rm -rf "$pair/ctx1" "$pair/ctx2"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/dd-bench.XXXXXX"); trap 'rm -rf "$work"' EXIT
timed() { /usr/bin/time -f '%e s, %M KiB' -o "$work/t" "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; awk '{printf "%s s | %d MiB", $1, $3/1024}' "$work/t"; }
want=$("$dd" --json inspect "$pair/v2.docker.tar" | jq -r .image_id)
echo "| what | MB | create | apply |"
echo "|---|---|---|---|"
for m in zstd suffix; do
  c=$(timed "$dd" -q create -m "$m" --base "$pair/v1.docker.tar" "$pair/v2.docker.tar" "$work/$m.dd")
  a=$(timed "$dd" -q apply --base "$pair/v1.docker.tar" "$work/$m.dd" "docker-archive:$work/$m.tar")
  [ "$("$dd" --json inspect "$work/$m.tar" | jq -r .image_id)" = "$want" ] || { echo "$m: rebuilt image ID differs" >&2; exit 1; }
  echo "| docker_delta -m $m | $(stat -c %s "$work/$m.dd" | awk '{printf "%.2f", $1/1e6}') | $c | $a |"
  rm -f "$work/$m.tar" "$work/$m.dd"
done
mkdir -p "$work/v1" "$work/v2"
tar -C "$work/v1" -xf "$pair/v1.docker.tar"; tar -C "$work/v2" -xf "$pair/v2.docker.tar"
l1=$work/v1/$(jq -r '.[0].Layers[0]' "$work/v1/manifest.json"); l2=$work/v2/$(jq -r '.[0].Layers[0]' "$work/v2/manifest.json")
c=$(timed xdelta3 -e -9 -f -s "$l1" "$l2" "$work/x.vcdiff")
a=$(timed xdelta3 -d -f -s "$l1" "$work/x.vcdiff" "$work/x.out")
cmp -s "$work/x.out" "$l2" || { echo "xdelta3 does not round-trip" >&2; exit 1; }
echo "| xdelta3 -9, the layer | $(stat -c %s "$work/x.vcdiff" | awk '{printf "%.2f", $1/1e6}') | $c | $a |"
