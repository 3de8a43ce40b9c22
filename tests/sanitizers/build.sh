#!/usr/bin/env bash
# Configures and builds an instrumented copy of docker_delta: build.sh SOURCE BUILD_DIR MODE [TARGET...]
# MODE is a DD_SANITIZE value (address, thread, fuzzer). -O1 without debug information: the
# sanitizers need no more to name functions, and the build takes about half the time of -O2 -g.
set -euo pipefail
source=$1 build=$2 mode=$3
shift 3
compiler=()
[[ $mode == fuzzer ]] && compiler=(-DCMAKE_CXX_COMPILER=clang++)
start=$SECONDS
cmake -S "$source" -B "$build" -DDD_SANITIZE="$mode" -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_FLAGS_SANITIZE=-O1 \
  "${compiler[@]}" ${DD_SANITIZE_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "${DD_SANITIZE_JOBS:-2}" --target "$@"
echo "built $mode ($*) in $((SECONDS - start)) s"
