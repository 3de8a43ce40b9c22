# shellcheck shell=bash
# Shared start of the bench scripts: sets `here` (the repo), `cache` (bench/cache, git-ignored)
# and `dd` (the binary given as $1, else a Release build made in build-release/).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=$here/bench/cache
mkdir -p "$cache"
dd=${1:-}
if [ -z "$dd" ]; then
  cmake -S "$here" -B "$here/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$here/build-release" -j2 --target docker_delta >/dev/null
  dd=$here/build-release/docker_delta
fi
