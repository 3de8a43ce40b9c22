#!/usr/bin/env bash
# Runs a command with sanitizer reports written to files, and fails when any report was written:
# an end-to-end suite that expects docker_delta to fail would otherwise take a sanitizer's abort
# for the refusal it wanted. run-checked.sh REPORT_DIR COMMAND...
set -uo pipefail
reports=$(realpath -m "$1")  # the commands run in directories of their own
shift
rm -rf "$reports" && mkdir -p "$reports"
common="log_path=$reports/report:exitcode=86:abort_on_error=0"
# Freed memory kept for use-after-free checks is capped so the suites' RSS bounds still mean
# something (ASan's default quarantine alone is 256 MiB).
# Full stacks for allocations (libarchive has no frame pointers): the leak suppressions match on them.
export ASAN_OPTIONS="$common:detect_leaks=1:fast_unwind_on_malloc=0:quarantine_size_mb=16:malloc_context_size=20:strict_string_checks=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="$common:print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="$common:halt_on_error=1:second_deadlock_stack=1"
export LSAN_OPTIONS="$common:print_suppressions=0:suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp"
"$@"
rc=$?
found=0
for f in "$reports"/report*; do
  [[ -e $f ]] || continue
  found=1
  echo "=== sanitizer report $f"
  cat "$f"
done
((found)) && { echo "FAIL: sanitizer reports above (rc $rc)"; exit 1; }
exit $rc
