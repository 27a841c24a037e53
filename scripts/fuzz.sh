#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets of tests/fuzz with clang and runs each for a while.
#
#   scripts/fuzz.sh [--seconds N] [--only t1,t2] <fuzz build dir>
#
# The targets (tests/fuzz/CMakeLists.txt): options (LOCKGRAPH_OPTIONS), suppressions (the
# suppressions file), expectations (harness/expectations.tsv). Each starts from its seeds in
# tests/fuzz/seeds/<target>/ (read, never written) and from what earlier runs kept in
# <dir>/corpus/<target>/, and runs N seconds (FUZZ_SECONDS, default 120) with ASan and UBSan.
# A crash, a leak, a sanitizer report, a broken invariant or an input that takes over 10 s is
# a failure: the input is kept as <dir>/artifacts/<target>/crash-... (or leak-, timeout-),
# this script names it, says how to replay it, and exits 1. A finding is fixed by fixing the
# parser, adding the input as a seed and as a case of the unit tests (tests/test_options.c,
# tests/test_harness_expectations.c).
set -u

usage() {
  sed -n '4p' "$0" | sed 's/^# *//' >&2
  exit 2
}

seconds=${FUZZ_SECONDS:-120}
only=""
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || usage; seconds=$2; shift 2 ;;
    --only) [ $# -ge 2 ] || usage; only=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "fuzz.sh: unknown option '$1'" >&2; usage ;;
    *) [ -z "$dir" ] || usage; dir=$1; shift ;;
  esac
done
[ -n "$dir" ] || usage
case "$seconds" in
  ''|*[!0-9]*|0) echo "fuzz.sh: FUZZ_SECONDS (or --seconds) needs a whole number of seconds >= 1, not '$seconds'" >&2; exit 2 ;;
esac
TARGETS=(options suppressions expectations)
if [ -n "$only" ]; then
  IFS=, read -r -a TARGETS <<<"$only"
  for t in "${TARGETS[@]}"; do
    case " options suppressions expectations " in
      *" $t "*) ;;
      *) echo "fuzz.sh: --only: no target '$t'; the targets are: options suppressions expectations" >&2; exit 2 ;;
    esac
  done
fi

src=$(cd "$(dirname "$0")/.." && pwd)
clang=$(command -v clang || command -v clang-14 || true)
if [ -z "$clang" ]; then
  echo "fuzz.sh: clang is missing (scripts/deps.sh fuzz installs it)" >&2
  exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
echo "fuzz: building the targets in $dir (log: $dir/build.log)"
if ! { cmake -S "$src/tests/fuzz" -B "$dir" -DCMAKE_C_COMPILER="$clang" &&
       cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)"; } >"$dir/build.log" 2>&1; then
  tail -n 30 "$dir/build.log"
  echo "fuzz: build FAILED (full log: $dir/build.log)"
  exit 1
fi
grep -E '(warning|error):' "$dir/build.log" | sort -u | head -n 20

failed=0
printf '%-13s  %8s  %12s  %9s  %6s  %7s  %s\n' target seconds executions "exec/s" cov corpus result
for t in "${TARGETS[@]}"; do
  corpus=$dir/corpus/$t
  artifacts=$dir/artifacts/$t
  log=$dir/$t.log
  mkdir -p "$corpus" "$artifacts"
  # New inputs go to the first directory (the build's); the seeds are read only.
  "$dir/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "$src/tests/fuzz/seeds/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  kept=$(find "$corpus" -type f | wc -l)
  found=$(sed -n 's/.*Test unit written to //p' "$log" | tail -n 1)
  if [ "$rc" -eq 0 ] && [ -z "$found" ]; then
    result="0 crashes"
  else
    result="FAILED (exit $rc)"
    failed=1
  fi
  printf '%-13s  %8s  %12s  %9s  %6s  %7s  %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$kept" "$result"
  if [ "$failed" -eq 1 ] && [ "$result" != "0 crashes" ]; then
    grep -m 3 -E 'ERROR|invariant broken|runtime error|SUMMARY' "$log" | sed 's/^/    /'
    [ -n "$found" ] && echo "    input kept: $found (replay: $dir/fuzz_$t $found)"
    echo "    full log: $log"
  fi
done
[ "$failed" -eq 0 ] || { echo "fuzz: FAILED"; exit 1; }
echo "fuzz: ${#TARGETS[@]} targets, ${seconds} s each, 0 crashes"
