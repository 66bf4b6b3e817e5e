#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for SECONDS each (`make fuzz FUZZ_SECONDS=60`).
# Seeds: tests/fuzz/corpus/<target>, the kept reproducers in tests/fuzz/regressions/<target>, and
# scenarios/ for the scenario target. New corpus entries go to BUILD/fuzz-corpus/<target>; a
# crash, leak, timeout or out-of-memory leaves its reproducer as BUILD/fuzz-artifacts/<target>-*
# and makes this script exit 1 after every target ran. Prints executions per target.
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]
set -uo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${1:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}"
seconds="${2:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}"
shift 2
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(units scenario override h5)
mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
failed=()
summary=()
for t in "${targets[@]}"; do
  exe="$build/tests/fuzz/fuzz_$t"
  [ -x "$exe" ] || { echo "run.sh: $exe missing (cmake --build --preset fuzz)" >&2; exit 2; }
  work="$build/fuzz-corpus/$t"
  mkdir -p "$work"
  seeds=("$src/tests/fuzz/corpus/$t" "$src/tests/fuzz/regressions/$t")
  case "$t" in
    scenario) seeds+=("$src/scenarios" "$src/scenarios/chain" "$src/tests/cli/data") ;;
  esac
  existing=()
  for d in "${seeds[@]}"; do [ -d "$d" ] && existing+=("$d"); done
  # 10 s per input and 2.5 GB are the bounds of one execution; beyond them is a finding.
  # The h5 input is an edit list (1 + 64 x 5 bytes, fuzz_h5.cpp); scenarios stay below 16 KiB.
  extra=()
  [ "$t" = h5 ] && extra+=(-max_len=321)
  [ "$t" = scenario ] && extra+=(-max_len=16384)
  log="$build/fuzz-logs/$t.log"
  echo "== fuzz_$t for ${seconds}s (log $log)"
  start=$(date +%s)
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
    "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$t-" "${extra[@]}" "$work" "${existing[@]}" \
    >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1)
  line="fuzz_$t: ${execs:-?} executions in $(( $(date +%s) - start )) s, ${cov:-cov: ?}, exit $rc"
  if [ $rc -ne 0 ]; then
    line+=" -- FINDING: $(grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|SUMMARY' "$log")"
    line+="; reproducer(s): $(ls "$build"/fuzz-artifacts/"$t"-* 2>/dev/null | tr '\n' ' ')"
    failed+=("$t")
  fi
  echo "$line"
  summary+=("$line")
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: findings in ${failed[*]}; replay one with: $build/tests/fuzz/fuzz_<target> <reproducer>;" \
       "keep it as tests/fuzz/regressions/<target>/<name> once fixed" >&2
  exit 1
fi
