#!/usr/bin/env bash
# Builds the built-in sample image without any container tool: two layers (busybox-static and a
# message file), a config and a docker-save manifest.json, packed as a docker archive. Everything
# is fixed (timestamps, owners, order), so the image ID is the same on every machine with the
# same busybox-static package.
#   make-sample-archive.sh OUT.tar [MESSAGE [TAG]]
set -euo pipefail
out=$1; message=${2:-hello from the docker_delta sample}; tag=${3:-localhost/sample:v1}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
deterministic_tar() { tar --sort=name --mtime=@1700000000 --owner=0 --group=0 --numeric-owner --format=posix \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$@"; }

mkdir -p "$work/l1/bin" "$work/l2/etc"
cp /bin/busybox "$work/l1/bin/busybox"
ln -s busybox "$work/l1/bin/sh"
printf '%s\n' "$message" > "$work/l2/etc/message"
mkdir -p "$work/image"
layers=(); diff_ids=()
for l in l1 l2; do
  deterministic_tar "$work/$l.tar" -C "$work/$l" .
  sum=$(sha256sum "$work/$l.tar" | cut -d' ' -f1)
  mv "$work/$l.tar" "$work/image/$sum.tar"
  layers+=("\"$sum.tar\""); diff_ids+=("\"sha256:$sum\"")
done
config=$(printf '{"architecture":"%s","os":"linux","config":{"Cmd":["/bin/busybox","cat","/etc/message"]},"created":"2023-11-14T22:13:20Z","rootfs":{"type":"layers","diff_ids":[%s]},"history":[{"created":"2023-11-14T22:13:20Z","created_by":"busybox"},{"created":"2023-11-14T22:13:20Z","created_by":"message"}]}' \
  "$(dpkg --print-architecture)" "$(IFS=,; echo "${diff_ids[*]}")")
config_sum=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
printf '%s' "$config" > "$work/image/$config_sum.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":[%s]}]' "$config_sum" "$tag" "$(IFS=,; echo "${layers[*]}")" \
  > "$work/image/manifest.json"
deterministic_tar "$out" -C "$work/image" .
echo "sample image sha256:$config_sum written to $out"
