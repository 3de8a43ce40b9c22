#!/usr/bin/env bash
# Installs what docker_delta needs on Debian 12, as root: the build tools and libraries, and with
# --test also the real tools the end-to-end tests drive (buildah, podman, skopeo, umoci, dockerd).
set -euo pipefail
build_packages=(build-essential cmake pkg-config git ca-certificates
  nlohmann-json3-dev libboost-dev libarchive-dev libzstd-dev zlib1g-dev libisal-dev libfmt-dev libssl-dev libcli11-dev libgtest-dev libyaml-cpp-dev libcurl4-openssl-dev
  libbz2-dev liblzma-dev libdivsufsort-dev clang libfuzzer-14-dev libclang-rt-14-dev llvm
  busybox-static tar gzip zstd jq xdelta3 bsdiff
  pandoc dpkg-dev file)  # man pages; the Debian package (dpkg-shlibdeps, and file, which CPack needs for it)
packages=("${build_packages[@]}")
if [ "${1:-}" = "--test" ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  mapfile -t test_packages < <(grep -v '^\s*#' "$here/tests/fixtures/packages.txt" | grep -v '^\s*$')
  packages+=("${test_packages[@]}")
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "dependencies installed (${#packages[@]} packages checked, ${#missing[@]} installed now)"
