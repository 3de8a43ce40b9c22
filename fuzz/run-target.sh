#!/usr/bin/env bash
# Replays every input kept under fuzz/regressions/TARGET (each once: a crash there is a
# regression), then fuzzes TARGET for SECONDS over its seeds. A crash found now is written to
# ARTIFACTS/ with the input that caused it; keep it under fuzz/regressions/TARGET/ once fixed.
# run-target.sh BINARY TARGET SEEDS_DIR CORPUS_DIR ARTIFACTS_DIR SECONDS
set -euo pipefail
binary=$1 target=$2 seeds=$3 corpus=$4 artifacts=$5 seconds=$6
regressions=$(cd "$(dirname "$0")" && pwd)/regressions/$target
mkdir -p "$corpus" "$artifacts"
options=(-rss_limit_mb=2048 -timeout=20 -max_len=262144 -print_final_stats=1)
if compgen -G "$regressions/*" >/dev/null; then
  echo "replaying $(ls "$regressions" | wc -l) regression inputs"
  "$binary" "${options[@]}" "$regressions"/*
fi
"$binary" "${options[@]}" -max_total_time="$seconds" -artifact_prefix="$artifacts/" "$corpus" "$seeds"
