#!/usr/bin/env bash
# The C++ library as a user gets it: `cmake --install` into a fresh prefix, the two programs of
# examples/ configured with find_package(docker_delta) against that prefix, built, and run on
# the sample image; every installed header compiles on its own; nothing private is installed.
#   library_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(readlink -f "$1") src=$(readlink -f "$2")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" --component dev >/dev/null
cmake --install "$build" --prefix "$work/prefix" --component runtime >/dev/null
inc=$work/prefix/include/docker_delta
[[ -f $work/prefix/lib/cmake/docker_delta/docker_deltaConfig.cmake || -n $(find "$work/prefix" -name docker_deltaConfig.cmake) ]] \
  || fail "no CMake package config installed"
for public in pipeline/stage.h pipeline/registry.h pipeline/runner.h cli/builtin_stages.h filters/layer_rewriting_filter.h; do
  [[ -f $inc/$public ]] || fail "public header $public not installed"
done
for private in cli/cli_state.h cli/docker_plugin.h delta/zstd/planner.h stores/image_emitter.h; do
  [[ ! -e $inc/$private ]] || fail "private header $private installed"
done
# Each header on its own, as a user's first #include of it would be.
while IFS= read -r h; do
  rel=${h#"$inc"/}
  echo "#include \"$rel\"" | c++ -std=c++20 -fsyntax-only -x c++ -I "$inc" - 2>"$work/err" \
    || fail "installed header $rel does not compile on its own: $(head -3 "$work/err")"
done < <(find "$inc" -name '*.h' | sort)

cmake -S "$src/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/examples" -j2 >/dev/null
dd=$work/prefix/bin/docker_delta
bash "$src/scripts/make-sample-archive.sh" "$work/v1.tar" "version one" localhost/sample:v1 >/dev/null
bash "$src/scripts/make-sample-archive.sh" "$work/v2.tar" "version two" localhost/sample:v2 >/dev/null

# A filter of the example's own: etc/message leaves every layer, the image stays sound.
id=$("$work/examples/drop_files" "docker-archive:$work/v1.tar" "docker-archive:$work/slim.tar" 'etc/*')
"$dd" inspect --verify "$work/slim.tar" >/dev/null || fail "drop_files wrote an image whose layers do not verify"
[[ $("$dd" --json inspect "$work/slim.tar" | jq -r .image_id) == "$id" ]] || fail "drop_files printed another image ID"
[[ $("$dd" --json search "$work/slim.tar" etc/message | jq '.matches | length') == 0 ]] || fail "etc/message is still there"
[[ $("$dd" --json search "$work/slim.tar" bin/busybox | jq '.matches | length') == 1 ]] || fail "bin/busybox went too"
[[ $id != $("$dd" --json inspect "$work/v1.tar" | jq -r .image_id) ]] || fail "the image ID did not follow the change"

# A package made and applied through the API rebuilds v2 exactly.
"$work/examples/delta_roundtrip" "docker-archive:$work/v1.tar" "docker-archive:$work/v2.tar" "$work/update.ddelta" \
  "docker-archive:$work/rebuilt.tar" >"$work/out" || fail "delta_roundtrip failed: $(cat "$work/out")"
want=$("$dd" --json inspect "$work/v2.tar" | jq -r .image_id)
[[ $("$dd" --json inspect --verify "$work/rebuilt.tar" | jq -r .image_id) == "$want" ]] || fail "the rebuilt image is not v2"
[[ $("$dd" --json info "$work/update.ddelta" | jq -r ".images[0].image_id") == "$want" ]] || fail "the package does not describe v2"
echo "library: installed headers compile, examples built from the installed package and ran"
