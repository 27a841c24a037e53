#!/usr/bin/env bash
# bench.sh - what lockgraph costs, next to native, TSan (gcc and clang), Helgrind and DRD.
#
#   scripts/bench.sh [--rounds N] [--only w1,w2] [--tools t1,t2] [--no-scaling] [--no-realworld]
#                    [--profile | --profile-only] [--timeout S] <build dir>
#
# Runs every bench/ workload under every tool, INTERLEAVED: round 1 runs each workload under
# native, lockgraph, tsan-gcc, tsan-clang, helgrind, drd, then round 2 does it again, so each
# tool-to-native ratio is taken pair by pair inside one round and machine noise hits both
# sides alike. Every run is timed by bash's microsecond clock around it (wall time) and GNU
# time ('%M': peak RSS) under `timeout`; a run that fails, prints a wrong result or times out is shown as such, and that
# tool is not run again on that workload in later rounds. (hyperfine is not used for the table:
# it runs each command's repetitions as one block, not interleaved with the others.)
#
# Sizes: native and lockgraph run the full size. TSan and Valgrind would take minutes at full
# size on some workloads, so they run a reduced size, named in the table (e.g. "n/64": -n
# divided by 64). Every ratio is therefore a ratio of cost PER LOCK ACQUISITION (each
# workload prints how many it made), taken against the native run of the same round.
# Reduced runs still include the tool's fixed start-up cost (Valgrind's is about 0.4 s),
# which makes their per-acquisition cost look a little higher than it is.
#
# Then (unless --no-scaling) a scaling series for lockgraph alone: time and memory as the
# number of locks, of lock-order edges and of threads grows, native vs lockgraph per point:
# lockgraph's extra ns per new edge (one pass over nested_pairs' pairs: every pair a new edge)
# and extra bytes per live lock (many_locks), with one verdict line per series against the
# goals for new locks and new edges (see "the scaling series" below).
# With --profile, also a callgrind profile of lockgraph runs (see docs/performance.md);
# --profile-only makes just the profile and leaves the tables of the last run alone.
#
# Then (unless --no-realworld) real programs nobody here wrote: Debian's xz -T2 and pigz -p 2
# compress a generated text, native vs lockgraph, wall time, same interleaved rounds.
#
# Outputs, under <build>/bench/: results.md, results.json, ratios.png, scaling.png,
# runs.tsv (every run), logs/ (every run's stdout, stderr and time), and with --profile
# profile.txt. The terminal gets the same tables.
set -u

usage() {
  sed -n '4,5p' "$0" | sed 's/^# *//' >&2
  exit 2
}

# value_of <option> <argc> <value>: the option's value, or one line and exit 2 when it has none.
value_of() {
  if [ "$2" -lt 2 ] || [ -z "$3" ]; then
    echo "bench.sh: option '$1' needs a value (see scripts/bench.sh --help)" >&2
    exit 2
  fi
}

rounds=5
scaling=1
realworld=1
profile=0
profile_only=0
only=""
tools_arg=""
timeout_s=${BENCH_TIMEOUT:-60}
build=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) value_of "$1" $# "${2-}"; rounds=$2; shift 2 ;;
    --only) value_of "$1" $# "${2-}"; only=$2; shift 2 ;;
    --tools) value_of "$1" $# "${2-}"; tools_arg=$2; shift 2 ;;
    --no-scaling) scaling=0; shift ;;
    --no-realworld) realworld=0; shift ;;
    --profile) profile=1; shift ;;
    --profile-only) profile=1; profile_only=1; shift ;;
    --timeout) value_of "$1" $# "${2-}"; timeout_s=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "bench.sh: unknown option '$1'" >&2; usage ;;
    *) [ -z "$build" ] || usage; build=$1; shift ;;
  esac
done
[ -n "$build" ] || usage
case "$rounds" in ''|*[!0-9]*|0) echo "bench.sh: --rounds needs a whole number >= 1" >&2; exit 2 ;; esac
case "$timeout_s" in
  ''|*[!0-9]*|0|0*)
    echo "bench.sh: --timeout (or BENCH_TIMEOUT) needs a whole number of seconds >= 1, not '$timeout_s'" >&2
    exit 2 ;;
esac
WORKLOADS=(nested_pairs work_queue pipe_queue many_locks lock_churn many_threads)
TOOLS=(native lockgraph tsan-gcc tsan-clang helgrind drd)
if [ -n "$only" ]; then
  # An unknown name would only show up as a "not-built" row, minutes later.
  known=" ${WORKLOADS[*]} "
  IFS=, read -r -a WORKLOADS <<<"$only"
  for w in "${WORKLOADS[@]}"; do
    case "$known" in
      *" $w "*) ;;
      *) echo "bench.sh: --only: no workload '${w}'; the workloads are:${known% }" >&2; exit 2 ;;
    esac
  done
  [ ${#WORKLOADS[@]} -gt 0 ] || { echo "bench.sh: --only '$only' names no workload" >&2; exit 2; }
fi
if [ -n "$tools_arg" ]; then
  IFS=, read -r -a TOOLS <<<"$tools_arg"
  case " ${TOOLS[*]} " in *" native "*) ;; *) TOOLS=(native "${TOOLS[@]}") ;; esac
fi

if [ ! -d "$build" ]; then
  echo "bench.sh: no build directory '$build' (run: make build, or cmake -S . -B $build)" >&2
  exit 2
fi
for cmd in /usr/bin/time timeout gnuplot valgrind awk; do
  if ! command -v "$cmd" >/dev/null; then
    echo "bench.sh: '$cmd' is missing (scripts/deps.sh bench installs it)" >&2
    exit 2
  fi
done

build=$(cd "$build" && pwd)
out=$build/bench
logs=$out/logs
mkdir -p "$logs"
# Outputs of an earlier run must not pass for this one's.
if [ "$profile" -eq 1 ]; then
  rm -f "$out"/profile.txt "$out"/callgrind.* "$logs"/profile.*
fi
if [ "$profile_only" -eq 0 ]; then
  find "$logs" -maxdepth 1 -type f ! -name 'profile.*' -delete
  rm -f "$out"/results.md "$out"/results.json "$out"/ratios.png "$out"/ratios.dat \
    "$out"/summary.tsv "$out"/scaling* "$out"/runs.tsv "$out"/realworld*.tsv
fi
raw=$out/runs.tsv
started=$(date +%s)

lg_lib=$build/lib/liblockgraph.so
# Defaults as a user gets them; BENCH_LOCKGRAPH_OPTIONS overrides (e.g. verbosity=2).
lg_options=${BENCH_LOCKGRAPH_OPTIONS:-}

# The per-workload goal for lockgraph (ratio to native), from the project's issue.
goal_of() {
  case "$1" in
    nested_pairs) echo 1.2 ;;
    work_queue) echo 1.05 ;;
    pipe_queue) echo 1.05 ;;
    many_locks) echo 2 ;;
    lock_churn) echo 5 ;;
    *) echo "" ;;
  esac
}

# size_of <workload> <tool>: "label|arguments". Full size for native and lockgraph; the slow
# tools get a reduced size chosen to keep each of their runs near 1-3 s on 2 cores.
size_of() {
  local class
  case "$2" in
    native|lockgraph) class=full ;;
    tsan-*) class=tsan ;;
    *) class=$2 ;;
  esac
  case "$1/$class" in
    # Start-up: the smallest run of a workload, one thread, two acquisitions.
    startup/*) echo "n=1|-n 1 -t 1 -x 1" ;;
    nested_pairs/full) echo "full|-n 4000000 -t 2 -x 1" ;;
    nested_pairs/tsan) echo "n/8|-n 500000 -t 2 -x 1" ;;
    nested_pairs/helgrind | nested_pairs/drd) echo "n/256|-n 15625 -t 2 -x 1" ;;
    work_queue/full | work_queue/tsan) echo "full|-n 100000 -t 1 -x 1" ;;
    work_queue/helgrind | work_queue/drd) echo "n/8|-n 12500 -t 1 -x 1" ;;
    # Five times work_queue's items: a run of 0.2 s is mostly noise on a busy machine.
    pipe_queue/full | pipe_queue/tsan) echo "full|-n 500000 -t 1 -x 1" ;;
    pipe_queue/helgrind | pipe_queue/drd) echo "n/40|-n 12500 -t 1 -x 1" ;;
    many_locks/full) echo "full|-n 200 -x 100" ;;
    many_locks/tsan) echo "n/20|-n 10 -x 100" ;;
    # Helgrind's and DRD's cost per acquisition grows with the number of locks: at 100,000
    # locks a few rounds take minutes, so they get fewer locks (x/50: 2,000; x/20: 5,000) and
    # 5 rounds. Their cost at the full size would be higher than the table shows.
    many_locks/helgrind) echo "x/50 n/50|-n 4 -x 2" ;;
    many_locks/drd) echo "x/20 n/40|-n 5 -x 5" ;;
    lock_churn/full) echo "full|-n 2500000 -t 2 -x 1" ;;
    lock_churn/tsan) echo "n/8|-n 312500 -t 2 -x 1" ;;
    lock_churn/helgrind | lock_churn/drd) echo "n/128|-n 19531 -t 2 -x 1" ;;
    # Fewer threads, not fewer pairs per thread, so each thread's start and exit keep their
    # share of the run.
    many_threads/full) echo "full|-n 1000 -t 2000 -x 1" ;;
    many_threads/tsan) echo "t/8|-n 1000 -t 250 -x 1" ;;
    many_threads/helgrind | many_threads/drd) echo "t/128|-n 1000 -t 16 -x 1" ;;
    *) echo "full|" ;;
  esac
}

variant_of() {
  case "$1" in
    tsan-gcc|tsan-clang) echo "$1" ;;
    *) echo native ;;
  esac
}

machine_cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
[ -n "$machine_cpu" ] || machine_cpu=$(uname -m)
machine_cores=$(nproc 2>/dev/null || echo "?")
machine_kernel=$(uname -sr)
machine_mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)
tool_versions="gcc $(gcc -dumpfullversion 2>/dev/null || echo '?'), clang $(clang -dumpversion 2>/dev/null || echo '?'), $(valgrind --version 2>/dev/null || echo 'valgrind ?')"
machine="$machine_cpu, $machine_cores cores, $machine_mem RAM, $machine_kernel"
# Other work on the machine skews every column alike but widens the ranges: say how busy it was.
load_of() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'; }
load_start=$(load_of)

# run_one <tag> <workload> <tool> <label> <args...>: runs once, prints one TSV row:
#   status wall_s max_rss_kb acquisitions reports clock_s work_s
# status is ok, timeout, wrong-result, exit-N, signal-N or not-built. clock_s is the same run's
# wall time read from bash's microsecond clock around it (timeout, GNU time and env included,
# the same for every run of a tool): the tables' wall time, finer than GNU time's 10 ms (wall_s).
# work_s is the workload's own measure (work_ns=: from creating its locks to destroying
# them), for the workloads that print one.
# With run_json set, a lockgraph run also writes its JSON summary there (json=), which says
# how many locks and lock-order edges it saw.
run_json=""
run_one() {
  local tag=$1 w=$2 tool=$3 label=$4
  shift 4
  local variant prog log
  variant=$(variant_of "$tool")
  log=$logs/$w.$tool.$tag
  [ "$w" = startup ] && w=nested_pairs
  prog=$build/bench/$variant/$w
  if [ ! -x "$prog" ]; then
    printf 'not-built\t\t\t\t\t\t\n'
    return
  fi
  local cmd=()
  case "$tool" in
    native|tsan-gcc|tsan-clang) cmd=("$prog") ;;
    lockgraph)
      if [ ! -f "$lg_lib" ]; then
        printf 'not-built\t\t\t\t\t\t\n'
        return
      fi
      local opts=$lg_options
      if [ -n "$run_json" ]; then
        rm -f "$run_json"
        opts="json=$run_json${lg_options:+:$lg_options}"
      fi
      cmd=(env "LD_PRELOAD=$lg_lib" "LOCKGRAPH_OPTIONS=$opts" "$prog") ;;
    helgrind|drd) cmd=(valgrind "--tool=$tool" "$prog") ;;
    *) printf 'unknown-tool\t\t\t\t\t\t\n'; return ;;
  esac
  local t0=$EPOCHREALTIME t1
  timeout -k 5 "$timeout_s" /usr/bin/time -o "$log.time" -f '%e %M' "${cmd[@]}" "$@" \
    >"$log.out" 2>"$log.err" </dev/null
  local rc=$? status wall rss acq reports=0 clock_us
  t1=$EPOCHREALTIME
  # EPOCHREALTIME is seconds with six decimals (the locale's decimal point): as microseconds.
  clock_us=$((${t1//[.,]/} - ${t0//[.,]/}))
  # GNU time puts "Command exited with non-zero status N" before its own line: take the last.
  read -r wall rss < <(tail -n 1 "$log.time" 2>/dev/null)
  acq=$(sed -n "s/^$w: OK .*acquisitions=\([0-9]*\).*/\1/p" "$log.out" | head -n 1)
  local work_ns work=""
  work_ns=$(sed -n "s/^$w: OK .*work_ns=\([0-9]*\).*/\1/p" "$log.out" | head -n 1)
  case "$tool" in
    tsan-*) reports=$(grep -c 'WARNING: ThreadSanitizer' "$log.err") ;;
    helgrind|drd) reports=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log.err" | tail -n 1) ;;
    lockgraph) [ "$rc" -eq 66 ] && reports=1 ;;
  esac
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    status=timeout
  elif grep -q "^$w: FAIL" "$log.out"; then
    status=wrong-result
  elif [ -n "$acq" ] && { [ "$rc" -eq 0 ] || [ "$rc" -eq 66 ]; }; then
    # 66 is the exit status TSan and lockgraph use after a report: the run itself was fine
    # and its time counts; the report is flagged in the table.
    status=ok
    [ "$rc" -eq 66 ] && [ "${reports:-0}" -eq 0 ] && reports=1
  elif [ "$rc" -gt 128 ]; then
    status=signal-$((rc - 128))
  else
    status=exit-$rc
  fi
  local clock=""
  [ "$status" = ok ] && clock=$(printf '%d.%06d' $((clock_us / 1000000)) $((clock_us % 1000000)))
  [ "$status" = ok ] && [ -n "$work_ns" ] && work=$(printf '%d.%09d' $((work_ns / 1000000000)) $((work_ns % 1000000000)))
  [ "$status" = ok ] || { wall=""; rss=""; acq=""; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$status" "${wall:-}" "${rss:-}" "${acq:-}" "${reports:-0}" "$clock" "$work"
}

# ---- the profile (optional): where lockgraph's time goes per acquisition ----
# Callgrind counts instructions (hardware counters are often unavailable in VMs, so perf stat
# may not work): each workload runs natively and under lockgraph, and the difference per
# acquisition is lockgraph's cost. nested_pairs shows the fast path (edges known early);
# many_locks shows what happens when the known chains outgrow the per-thread cache.
if [ "$profile" -eq 1 ]; then
  profile_txt=$out/profile.txt
  : >"$profile_txt"
  for spec in "nested_pairs|-n 100000 -t 2 -x 1" "many_locks|-n 4 -x 100"; do
    IFS='|' read -r w pargs <<<"$spec"
    if [ ! -f "$lg_lib" ] || [ ! -x "$build/bench/native/$w" ]; then
      echo "bench: profile of $w skipped: lockgraph or the native $w is not built"
      continue
    fi
    echo "bench: profiling lockgraph on $w $pargs (callgrind)"
    # env execs the workload in the same process: --trace-children lets callgrind follow it.
    # shellcheck disable=SC2086
    timeout -k 5 600 valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$w.lockgraph.out" \
      --trace-children=yes env "LD_PRELOAD=$lg_lib" "LOCKGRAPH_OPTIONS=$lg_options" \
      "$build/bench/native/$w" $pargs >"$logs/profile.$w.out" 2>"$logs/profile.$w.err"
    # shellcheck disable=SC2086
    timeout -k 5 600 valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$w.native.out" \
      "$build/bench/native/$w" $pargs >>"$logs/profile.$w.out" 2>>"$logs/profile.$w.err"
    acq=$(sed -n "s/^$w: OK .*acquisitions=\([0-9]*\).*/\1/p" "$logs/profile.$w.out" | head -n 1)
    {
      echo "== $w $pargs: $acq acquisitions per run (callgrind, instructions = Ir)"
      echo "   $(date -u '+%Y-%m-%d %H:%M UTC'), liblockgraph.so md5 $(md5sum <"$lg_lib" | cut -c1-12)"
      for tool in native lockgraph; do
        total=$(callgrind_annotate --auto=no "$out/callgrind.$w.$tool.out" 2>/dev/null |
          awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
        echo "$tool: $total Ir in all, $(awk -v t="$total" -v a="$acq" 'BEGIN { if (a > 0) printf "%.0f", t / a; else print "?" }') Ir per acquisition"
      done
      echo
      echo "-- lockgraph, exclusive (self) cost by function"
      callgrind_annotate --auto=no --threshold=95 "$out/callgrind.$w.lockgraph.out" 2>/dev/null |
        sed -n '/PROGRAM TOTALS/,$p' | sed -n '5,40p'
      echo
      echo "-- lockgraph, calls into the detector's slow path and stack capture"
      callgrind_annotate --auto=no --tree=calling --threshold=100 "$out/callgrind.$w.lockgraph.out" 2>/dev/null |
        grep -E '>.*(lg_lock_slow|lg_stack_capture|lg_lock_retire|lg_graph_order_edge|lg_thread_cache_insert) \(' | sort -u | head -n 12
      echo
    } >>"$profile_txt"
  done
  echo "bench: profile in $profile_txt"
  [ "$profile_only" -eq 0 ] || exit 0
fi

# ---- the main table: interleaved rounds ----
printf 'round\tworkload\ttool\tsize\tstatus\twall_s\tmax_rss_kb\tacquisitions\treports\tclock_s\twork_s\n' >"$raw"
declare -A failed=()
echo "bench: $machine"
echo "bench: ${#WORKLOADS[@]} workloads x ${#TOOLS[@]} tools, $rounds interleaved rounds, timeout ${timeout_s}s per run"
for ((r = 1; r <= rounds; r++)); do
  printf 'bench: round %d/%d ' "$r" "$rounds"
  for w in startup "${WORKLOADS[@]}"; do
    for tool in "${TOOLS[@]}"; do
      [ -z "${failed[$w/$tool]:-}" ] || continue
      IFS='|' read -r label args <<<"$(size_of "$w" "$tool")"
      # shellcheck disable=SC2086 # args is a list of options by design
      row=$(run_one "$r" "$w" "$tool" "$label" $args)
      printf '%s\t%s\t%s\t%s\t%s\n' "$r" "$w" "$tool" "$label" "$row" >>"$raw"
      case "$row" in ok*) printf '.' ;; *) printf 'x'; failed[$w/$tool]=${row%%$'\t'*} ;; esac
    done
  done
  printf ' %ds\n' $(($(date +%s) - started))
done

# The awk function median(list), of a space-separated list of numbers, shared by the awk
# programs below (an insertion sort: a list holds one value per round). Returns "" for none.
awk_median() {
  cat <<'AWK'
  function median(list,    n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
    if (n == 0) return ""
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
AWK
}

# ---- aggregate: medians, per-round ratios ----
# Wall times are the microsecond clock's (clock_s): GNU time's %e has 10 ms steps, 5% of a
# 0.2 s run, as much as some goals allow. A tool's start-up (the "startup" rows: the smallest
# run, median over rounds, on the same clock, so the process, timeout and GNU time overhead
# goes too) is taken off every wall time before dividing by the acquisitions, so a reduced
# run's fixed cost (Valgrind needs about 0.4 s to start) does not pass for a cost per
# acquisition.
summary=$out/summary.tsv
awk -F'\t' -v OFS='\t' "$(awk_median)"'
  function minmax(list, want,    n, a, i, v) {
    n = split(list, a, " "); v = a[1]
    for (i = 2; i <= n; i++) if ((want == "min" && a[i] + 0 < v + 0) || (want == "max" && a[i] + 0 > v + 0)) v = a[i]
    return v
  }
  # Wall time less start-up, never below half a millisecond.
  function net(wall, t) { wall -= su[t]; return wall < 0.0005 ? 0.0005 : wall }
  NR == 1 { next }
  {
    r = $1; w = $2; t = $3; k = w SUBSEP t
    if (!(k in seen)) { seen[k] = 1; order[++nk] = k; label[k] = $4; status[k] = "ok" }
    runs[k]++
    if ($5 != "ok") { if (status[k] == "ok") { status[k] = $5; bad[k] = r }; next }
    okruns[k]++
    walls[k] = walls[k] " " $10; rsss[k] = rsss[k] " " $7; acq[k] = $8
    if ($9 + 0 > 0) reports[k] += $9
    wallr[k, r] = $10
    rlist[k] = rlist[k] " " r
  }
  END {
    for (i = 1; i <= nk; i++) { k = order[i]; split(k, p, SUBSEP); if (p[1] == "startup" && walls[k] != "") su[p[2]] = median(walls[k]) }
    print "workload", "tool", "size", "status", "ok_runs", "runs", "wall_s", "max_rss_kb", "acquisitions", "ns_per_acq", "ratio", "ratio_min", "ratio_max", "reports", "startup_s"
    for (i = 1; i <= nk; i++) {
      k = order[i]; split(k, p, SUBSEP); w = p[1]; t = p[2]
      ratios = ""
      nat = w SUBSEP "native"
      n = split(rlist[k], rs, " ")
      if (w != "startup")
        for (j = 1; j <= n; j++)
          if ((nat, rs[j]) in wallr) ratios = ratios " " (net(wallr[k, rs[j]], t) / acq[k]) / (net(wallr[nat, rs[j]], "native") / acq[nat])
      wall = median(walls[k]); rss = median(rsss[k])
      nspa = (w != "startup" && okruns[k] > 0 && acq[k] > 0) ? sprintf("%.1f", net(wall, t) / acq[k] * 1e9) : ""
      ratio = ratios != "" ? sprintf("%.3f", median(ratios)) : ""
      rmin = ratios != "" ? sprintf("%.3f", minmax(ratios, "min")) : ""
      rmax = ratios != "" ? sprintf("%.3f", minmax(ratios, "max")) : ""
      st = status[k]; if (st != "ok" && st != "not-built") st = st " (round " bad[k] ")"
      print w, t, label[k], st, okruns[k] + 0, runs[k], wall, rss, acq[k], nspa, ratio, rmin, rmax, reports[k] + 0, su[t]
    }
  }' "$raw" >"$summary"

# ---- render: terminal, Markdown, JSON ----
goals=""
for w in "${WORKLOADS[@]}"; do goals="$goals $w=$(goal_of "$w")"; done

render_table() { # render_table <text|md>
  awk -F'\t' -v fmt="$1" -v goals="$goals" '
    function fnum(v, d) { return v == "" ? "-" : sprintf("%." d "f", v) }
    function fratio(v) { if (v == "") return "-"; return v < 10 ? sprintf("%.2fx", v) : (v < 100 ? sprintf("%.1fx", v) : sprintf("%.0fx", v)) }
    function fns(v) { if (v == "") return "-"; return v < 100 ? sprintf("%.1f", v) : sprintf("%.0f", v) }
    BEGIN {
      n = split(goals, g, " "); for (i = 1; i <= n; i++) { split(g[i], kv, "="); goal[kv[1]] = kv[2] }
      ncol = split("workload|tool|size|status|median wall s|ratio (range)|ns/acq|max RSS MB|lockgraph goal", head, "|")
    }
    NR == 1 { next }
    {
      st = $4; if ($14 + 0 > 0) st = st ", " $14 " report(s)"
      rng = $11 == "" ? "" : " (" fratio($12) "-" fratio($13) ")"
      gl = ""
      if ($2 == "lockgraph" && goal[$1] != "") {
        gl = "<= " goal[$1] "x"
        if ($11 != "") gl = gl ($11 + 0 <= goal[$1] + 0 ? ": met" : ": NOT met")
      }
      rt = $2 == "native" ? "1x" : fratio($11)
      if ($2 == "native" || $1 == "startup") { rng = ""; if ($1 == "startup") rt = "-" }
      row[++nr] = $1 "|" $2 "|" $3 "|" st "|" fnum($7, 3) "|" rt rng "|" fns($10) "|" ($8 == "" ? "-" : fnum($8 / 1024, 1)) "|" gl
    }
    END {
      for (i = 1; i <= ncol; i++) width[i] = length(head[i])
      for (r = 1; r <= nr; r++) { split(row[r], c, "|"); for (i = 1; i <= ncol; i++) if (length(c[i]) > width[i]) width[i] = length(c[i]) }
      if (fmt == "md") {
        line = "|"; sep = "|"
        for (i = 1; i <= ncol; i++) { line = line " " head[i] " |"; sep = sep (i <= 4 ? "---|" : "--:|") }
        print line; print sep
        for (r = 1; r <= nr; r++) { split(row[r], c, "|"); line = "|"; for (i = 1; i <= ncol; i++) line = line " " c[i] " |"; print line }
      } else {
        line = ""; for (i = 1; i <= ncol; i++) line = line sprintf(i <= 4 ? "%-*s  " : "%*s  ", width[i], head[i]); print line
        prev = ""
        for (r = 1; r <= nr; r++) {
          split(row[r], c, "|")
          if (c[1] != prev && prev != "") print ""
          prev = c[1]; line = ""
          for (i = 1; i <= ncol; i++) line = line sprintf(i <= 4 ? "%-*s  " : "%*s  ", width[i], c[i])
          print line
        }
      }
    }' "$summary"
}

json_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

# ---- the chart of ratios ----
chart_dat=$out/ratios.dat
awk -F'\t' -v tools="${TOOLS[*]}" '
  BEGIN { nt = split(tools, tl, " ") }
  NR == 1 { next }
  $1 == "startup" { next }
  { if (!($1 in seenw)) { seenw[$1] = 1; wl[++nw] = $1 }; v[$1, $2] = $11 }
  END {
    line = "workload"; for (i = 1; i <= nt; i++) if (tl[i] != "native") line = line " " tl[i]; print line
    for (j = 1; j <= nw; j++) {
      line = wl[j]
      for (i = 1; i <= nt; i++) if (tl[i] != "native") line = line " " ((wl[j], tl[i]) in v && v[wl[j], tl[i]] != "" ? v[wl[j], tl[i]] : "-")
      print line
    }
  }' "$summary" >"$chart_dat"
ncols=$(head -n 1 "$chart_dat" | wc -w)
gnuplot_term="pngcairo size 1000,560 noenhanced font 'sans,10'"
gnuplot -e "set terminal $gnuplot_term" -e "quit" 2>/dev/null || gnuplot_term="png size 1000,560 noenhanced"
gnuplot 2>"$logs/gnuplot-ratios.err" <<EOF || echo "bench: gnuplot failed on ratios.png (see $logs/gnuplot-ratios.err)" >&2
set terminal $gnuplot_term
set output "$out/ratios.png"
set title "Cost per lock acquisition, as a ratio to native (log scale; lower is better)\n$machine"
set datafile missing "-"
set logscale y
set yrange [0.5:*]
set ylabel "ratio to native"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key top left
set grid ytics
plot for [i=2:$ncols] "$chart_dat" using i:xtic(1) title columnheader(i), 1 with lines lc rgb "black" dt 2 notitle
EOF

# ---- the scaling series: lockgraph alone, native vs lockgraph per point ----
# What issue "new locks and new edges" asks of lockgraph, measured per point:
# - edges (nested_pairs -t 1 at growing -x): ONE pass over the C(64X, 2) pairs, so every pair
#   taken is a new lock-order edge and the acquisitions (2 per edge) grow with the edges. The
#   column to read is lockgraph's extra time per new edge (the edge learned, and retired when
#   its locks are destroyed at exit): flat means a new edge costs the same in a big graph as
#   in a small one. (Holding the acquisitions at 4 million per point, as this series did
#   before, made the run at 2k edges mostly known edges and the run at 1M mostly new ones, so
#   its ratio grew with the share of learning, not with the cost of an edge.)
# - locks (many_locks at growing -x): 1000X live locks walked in pairs (m[i], m[i+1]), 4
#   million acquisitions per point (as the issue's goal is stated); every lock also brings one
#   new edge, so a point's cost is a new lock with its edge plus the known-edge walk.
#   Columns: lockgraph's extra ns per acquisition and extra bytes per live lock.
# - spread (many_locks -s): the 100k-lock point again with every lock in a cell of its own,
#   256 B, 1 KiB and 4 KiB apart, as a lock per object sits: what a live lock costs when the
#   locks are not packed in one array (the same two columns).
# - threads (many_threads): 1,000 acquisitions per thread, wall time per thread.
# Every point runs native then lockgraph, `repeats` times a round (more for the short
# points, whose few milliseconds a busy machine blurs), interleaved over BENCH_SCALING_ROUNDS
# rounds; medians over all pairs. The edges and locks series are timed by the workload itself
# (work_ns: from creating its locks to destroying them, so process start, the preload's
# set-up and its exit summary are not in it); the edges series also has the "start-up"
# point's work_ns taken off (nested_pairs -n 1 -t 1 -x 1: its thread's creation and join, 64
# locks, 1 edge). The threads series is timed by bash's microsecond clock around each run,
# less the start-up point's clock. Extra time = median over pairs of (lockgraph - native),
# less the same at start-up; extra memory = peak RSS lockgraph - native, less the same at
# start-up (lockgraph's fixed footprint). The lock and edge counts are lockgraph's own (its
# JSON summary), checked against what the workload made.
scaling_tsv=$out/scaling.tsv
if [ "$scaling" -eq 1 ] && [ -f "$lg_lib" ]; then
  # series|point label|x: locks, edges or threads the workload makes|workload|arguments|repeats
  points=(
    "startup|start-up|0|nested_pairs|-n 1 -t 1 -x 1|9"
    "locks|1k locks|1000|many_locks|-n 2000 -x 1|3"
    "locks|10k locks|10000|many_locks|-n 200 -x 10|3"
    "locks|100k locks|100000|many_locks|-n 20 -x 100|2"
    "locks|1M locks|1000000|many_locks|-n 2 -x 1000|2"
    "spread|256 B apart|100000|many_locks|-n 20 -x 100 -s 256|2"
    "spread|1 KiB apart|100000|many_locks|-n 20 -x 100 -s 1024|2"
    "spread|4 KiB apart|100000|many_locks|-n 20 -x 100 -s 4096|2"
    "edges|2k edges|2016|nested_pairs|-n 2016 -t 1 -x 1|9"
    "edges|8k edges|8128|nested_pairs|-n 8128 -t 1 -x 2|9"
    "edges|74k edges|73536|nested_pairs|-n 73536 -t 1 -x 6|3"
    "edges|524k edges|523776|nested_pairs|-n 523776 -t 1 -x 16|2"
    "edges|1M edges|1082656|nested_pairs|-n 1082656 -t 1 -x 23|2"
    "threads|10 threads|10|many_threads|-n 500 -t 10 -x 1|1"
    "threads|100 threads|100|many_threads|-n 500 -t 100 -x 1|1"
    "threads|1k threads|1000|many_threads|-n 500 -t 1000 -x 1|1"
    "threads|5k threads|5000|many_threads|-n 500 -t 5000 -x 1|1"
  )
  scaling_reps=${BENCH_SCALING_ROUNDS:-2}
  case "$scaling_reps" in ''|*[!0-9]*|0) echo "bench.sh: BENCH_SCALING_ROUNDS needs a whole number >= 1" >&2; exit 2 ;; esac
  printf 'rep\tseries\tpoint\tx\ttool\tstatus\twall_s\tmax_rss_kb\tacquisitions\tclock_s\twork_s\tlocks\tedges\n' >"$out/scaling-runs.tsv"
  printf 'bench: scaling series, %d points x native/lockgraph, %d interleaved rounds ' "${#points[@]}" "$scaling_reps"
  declare -A sfailed=()
  for ((r = 1; r <= scaling_reps; r++)); do
    for i in "${!points[@]}"; do
      IFS='|' read -r series point x w args repeats <<<"${points[$i]}"
      for ((k = 1; k <= repeats; k++)); do
        for tool in native lockgraph; do
          [ -z "${sfailed[$i/$tool]:-}" ] || continue
          run_json=""; [ "$tool" = lockgraph ] && run_json=$logs/$w.$tool.s$i.$r.$k.json
          # shellcheck disable=SC2086
          row=$(run_one "s$i.$r.$k" "$w" "$tool" full $args)
          locks=""; edges=""
          if [ -n "$run_json" ] && [ -f "$run_json" ]; then
            locks=$(sed -n 's/.*"type":"summary".*"locks":\([0-9]*\).*/\1/p' "$run_json" | tail -n 1)
            edges=$(sed -n 's/.*"type":"summary".*"edges":\([0-9]*\).*/\1/p' "$run_json" | tail -n 1)
          fi
          run_json=""
          printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r.$k" "$series" "$point" "$x" "$tool" \
            "$(cut -f1-4 <<<"$row")" "$(cut -f6-7 <<<"$row")" "$locks" "$edges" >>"$out/scaling-runs.tsv"
          case "$row" in ok*) printf '.' ;; *) printf 'x'; sfailed[$i/$tool]=${row%%$'\t'*} ;; esac
        done
      done
    done
  done
  printf ' %ds\n' $(($(date +%s) - started))
  awk -F'\t' -v OFS='\t' "$(awk_median)"'
    function fmt(v, d) { return v == "" ? "" : sprintf("%." d "f", v) }
    NR == 1 { next }
    {
      k = $2 SUBSEP $3
      if (!(k in seen)) { seen[k] = 1; order[++nk] = k; xv[k] = $4; ser[k] = $2 }
      if ($6 != "ok") { st[k, $5] = $6; next }
      m[k, $5] = m[k, $5] " " $8; a[k, $5] = $9; reps[k] = reps[k] " " $1
      t["clock", k, $5, $1] = $10; tl["clock", k, $5] = tl["clock", k, $5] " " $10
      if ($11 == "") nowork[k] = 1
      else { t["work", k, $5, $1] = $11; tl["work", k, $5] = tl["work", k, $5] " " $11 }
      if ($5 == "lockgraph") { nl[k] = $12; ne[k] = $13 }
    }
    # The median over the pairs of runs of one point (same round and repeat) of lockgraph -
    # native, or with ratio set of (lockgraph - bl) / (native - bn), timed by "clock" or "work".
    function paired(by, k, ratio, bn, bl,    n, rs, j, l, d) {
      l = ""; n = split(reps[k], rs, " ")
      for (j = 1; j <= n; j++) {
        if (done[k, rs[j]]++ || !((by, k, "native", rs[j]) in t) || !((by, k, "lockgraph", rs[j]) in t)) continue
        if (!ratio) { l = l " " (t[by, k, "lockgraph", rs[j]] - t[by, k, "native", rs[j]]); continue }
        d = t[by, k, "native", rs[j]] - bn
        if (d > 0) l = l " " (t[by, k, "lockgraph", rs[j]] - bl) / d
      }
      for (j = 1; j <= n; j++) delete done[k, rs[j]]
      return median(l)
    }
    END {
      # The start-up point, by the clock: what a run costs that no lock or edge causes.
      for (i = 1; i <= nk; i++) if (ser[order[i]] == "startup") su = order[i]
      sun = median(tl["clock", su, "native"]); sul = median(tl["clock", su, "lockgraph"]); sud = paired("clock", su, 0)
      swn = median(tl["work", su, "native"]); swl = median(tl["work", su, "lockgraph"]); swd = paired("work", su, 0)
      sumn = median(m[su, "native"]); suml = median(m[su, "lockgraph"])
      print "series", "point", "x", "native_wall_s", "lockgraph_wall_s", "ratio", "native_ns_per_acq", "lockgraph_ns_per_acq", "native_rss_kb", "lockgraph_rss_kb", "acquisitions", "status",
        "locks", "edges", "extra_s", "extra_rss_kb", "extra_ns_per_acq", "extra_ns_per_new_edge", "extra_bytes_per_lock", "extra_bytes_per_edge", "timed_by"
      for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, p, SUBSEP); s = p[1]
        # Timed by the workload'"'"'s own work_ns where every run of the point printed it, else by
        # the clock. Taken off: by the clock, the start-up point'"'"'s clock (process start, the
        # preload'"'"'s set-up and exit); by work_ns in the edges series, the start-up point'"'"'s
        # work_ns (the same nested_pairs: its thread'"'"'s creation and join, which lockgraph makes
        # about 0.4 ms dearer, 64 locks and 1 edge). many_locks makes no thread: its work_ns
        # starts at its first lock, nothing to take off.
        by = (s == "startup" || nowork[k] || !((("work", k, "native") in tl) || (("work", k, "lockgraph") in tl))) ? "clock" : "work"
        bn = 0; bl = 0; bd = 0
        if (s != "startup" && by == "clock") { bn = sun; bl = sul; bd = sud }
        if (s == "edges" && by == "work") { bn = swn; bl = swl; bd = swd }
        nw = median(tl[by, k, "native"]); lw = median(tl[by, k, "lockgraph"])
        stat = "ok"; if ((k, "native") in st) stat = "native " st[k, "native"]; if ((k, "lockgraph") in st) stat = "lockgraph " st[k, "lockgraph"]
        an = a[k, "native"]; al = a[k, "lockgraph"]; acq = an != "" ? an : al
        nn = ""; ln = ""; rt = ""; ex = ""; exm = ""; xa = ""; xe = ""; xbl = ""; xbe = ""
        if (s != "startup") {
          if (nw != "") { nn = nw - bn; if (nn < 0) nn = 0 }
          if (lw != "") { ln = lw - bl; if (ln < 0) ln = 0 }
          # By the clock, a run with under 5 ms of its own is too short to divide by or into.
          if (nn != "" && ln != "" && nn > 0 && (by == "work" || (nn >= 0.005 && ln >= 0.005))) rt = paired(by, k, 1, bn, bl)
          if (nw != "" && lw != "" && bd != "") ex = paired(by, k, 0) - bd
          if (m[k, "native"] != "" && m[k, "lockgraph"] != "") exm = (median(m[k, "lockgraph"]) - median(m[k, "native"])) - (suml - sumn)
          if (ex != "" && acq > 0) xa = ex / acq * 1e9
          if (s == "edges" && ex != "" && ne[k] > 0) xe = ex / ne[k] * 1e9
          if (s == "edges" && exm != "" && ne[k] > 0) xbe = exm * 1024 / ne[k]
          if ((s == "locks" || s == "spread") && exm != "" && nl[k] > 0) xbl = exm * 1024 / nl[k]
          # lockgraph must have seen every lock and edge the workload made: no cap, no loss.
          if (stat == "ok" && s == "edges" && ne[k] != "" && ne[k] != xv[k]) stat = "lockgraph saw " ne[k] " edges, not " xv[k]
          if (stat == "ok" && (s == "locks" || s == "spread") && nl[k] != "" && nl[k] != xv[k]) stat = "lockgraph saw " nl[k] " locks, not " xv[k]
        }
        print s, p[2], xv[k], fmt(nw, 6), fmt(lw, 6), fmt(rt, 3),
          (acq > 0 && nn != "" ? fmt(nn / acq * 1e9, 1) : ""), (acq > 0 && ln != "" ? fmt(ln / acq * 1e9, 1) : ""),
          median(m[k, "native"]), median(m[k, "lockgraph"]), acq, stat,
          nl[k], ne[k], fmt(ex, 6), fmt(exm, 0), fmt(xa, 1), fmt(xe, 1), fmt(xbl, 0), fmt(xbe, 0), by
      }
    }' "$out/scaling-runs.tsv" >"$scaling_tsv"

  # The verdicts against the issue's goals, from the table just made: per new edge and the
  # locks series' ratio within 2x of the series' smallest point (every point at most twice
  # the first), and at most 128 extra bytes per live lock at the largest point of the locks
  # series (the small points' few hundred kB of RSS noise spread over 1,000 locks would say
  # nothing). One line per series, with the figures they are computed from.
  awk -F'\t' -v OFS='\t' '
    function num(v) { return v < 10 ? sprintf("%.2f", v) : (v < 100 ? sprintf("%.1f", v) : sprintf("%.0f", v)) }
    NR == 1 { next }
    # A point that did not run to completion (or whose counts differ) cannot pass for flat.
    ($1 == "edges" || $1 == "locks") && $12 != "ok" { bad[$1]++ }
    $1 == "edges" && $18 != "" { ne++; if (ne == 1) { e1 = $18; e1p = $2; emax = $18; emin = $18 }; en = $18; enp = $2; if ($18 + 0 > emax + 0) emax = $18; if ($18 + 0 < emin + 0) emin = $18 }
    $1 == "edges" && $20 != "" { nb++; if (nb == 1) { b1 = $20; b1p = $2 }; bn = $20; bnp = $2 }
    $1 == "edges" && $6 != "" { nq++; if (nq == 1) q1 = $6; qn = $6 }
    $1 == "locks" && $6 != "" { nr++; if (nr == 1) { r1 = $6; r1p = $2; rmax = $6 }; rn = $6; rnp = $2; if ($6 + 0 > rmax + 0) rmax = $6 }
    $1 == "locks" && $19 != "" { nl++; if (nl == 1) { l1 = $19; l1p = $2 }; ln = $19; lnp = $2 }
    $1 == "locks" && $3 == 100000 { p100b = $19; p100r = $6 }
    $1 == "spread" && $12 != "ok" { bad["spread"]++ }
    $1 == "spread" && $19 != "" { ns++; sl = sl (ns > 1 ? ", " : "") $19 " at " $2; if ($19 + 0 > smax + 0) smax = $19; sr = sr (ns > 1 ? ", " : "") num($6) "x" }
    END {
      print "series", "metric", "first_point", "first", "last_point", "last", "max_over_first", "within_2x", "bytes_per_lock_at_largest", "at_most_128_bytes", "line"
      if (ne >= 2 && e1 > 0) {
        w = emax / e1 <= 2 && !bad["edges"] ? "yes" : "no"
        if (bad["edges"]) w = w " (" bad["edges"] " point(s) not ok: see their status)"
        mem = (nq ? "; ratio " num(q1) "x .. " num(qn) "x" : "") (nb ? "; extra memory per edge " b1 " B at " b1p " .. " bn " B at " bnp : "")
        print "edges", "extra_ns_per_new_edge", e1p, e1, enp, en, sprintf("%.2f", emax / e1), w, "", "",
          "edges: per new edge " num(e1) " ns at " e1p " .. " num(en) " ns at " enp " (the points from " sprintf("%.2f", emin / e1) "x to " sprintf("%.2f", emax / e1) "x of the first): within 2x: " w mem
      } else print "edges", "extra_ns_per_new_edge", "", "", "", "", "", "unknown", "", "", "edges: per new edge: not measured (fewer than two points ran, or the first is not above zero)"
      if (nr >= 2 && r1 > 0) {
        w = rmax / r1 <= 2 && !bad["locks"] ? "yes" : "no"
        if (bad["locks"]) w = w " (" bad["locks"] " point(s) not ok: see their status)"
        b = nl ? (ln + 0 <= 128 ? "yes" : "no") : "unknown"
        print "locks", "ratio", r1p, r1, rnp, rn, sprintf("%.2f", rmax / r1), w, ln, b,
          "locks: ratio " num(r1) "x at " r1p " .. " num(rn) "x at " rnp " (at most " sprintf("%.2f", rmax / r1) "x the first): within 2x: " w \
          "; extra bytes per live lock " (nl ? l1 " at " l1p " .. " ln " at " lnp : "not measured") ": at most 128 at " lnp ": " b
      } else print "locks", "ratio", "", "", "", "", "", "unknown", "", "unknown", "locks: ratio: not measured (fewer than two points ran)"
      # The same 100k locks, each in a cell of its own further apart: the goal of 128 bytes
      # per live lock holds for a lock per object only if it holds here too.
      if (ns) {
        b = smax + 0 <= 128 && !bad["spread"] ? "yes" : "no"
        if (bad["spread"]) b = b " (" bad["spread"] " point(s) not ok: see their status)"
        print "spread", "extra_bytes_per_lock", "", p100b, "", "", "", "", smax, b,
          "spread: 100k locks, extra bytes per live lock " (p100b != "" ? p100b " packed 48 B apart, " : "") sl "; ratio " (p100r != "" ? num(p100r) "x packed, " : "") sr ": at most 128 at every spacing: " b
      }
    }' "$scaling_tsv" >"$out/scaling-verdicts.tsv"

  # One panel per series. locks: lockgraph's extra ns per acquisition (left) and extra bytes
  # per live lock (right, with the goal's 128); edges: extra ns per new edge (left) and extra
  # bytes per edge (right); threads: wall seconds and peak RSS of both tools. A value at or
  # below zero (noise at the smallest points) has no place on a log axis and is left out.
  for s in locks edges threads; do
    awk -F'\t' -v s="$s" '
      function pos(v) { return v != "" && v + 0 > 0 ? v : "-" }
      NR > 1 && $1 == s { print $3, pos($17), pos($18), pos($19), pos($20), pos($4), pos($5), ($9 == "" ? "-" : $9 / 1024), ($10 == "" ? "-" : $10 / 1024) }' \
      "$scaling_tsv" >"$out/scaling-$s.dat"
  done
  gnuplot 2>"$logs/gnuplot-scaling.err" <<EOF || echo "bench: gnuplot failed on scaling.png (see $logs/gnuplot-scaling.err)" >&2
set terminal ${gnuplot_term/1000,560/1500,460}
set output "$out/scaling.png"
set datafile missing "-"
set multiplot layout 1,3 title "lockgraph scaling: extra time (solid, left axis) and extra memory (dashed, right axis) beyond native\n$machine"
set logscale x
set logscale y
set logscale y2
set ytics nomirror
set y2tics
set grid
set key top left
set ylabel "extra ns per acquisition"
set y2label "extra bytes per live lock"
set y2range [10:10000]
set xlabel "live locks (many\_locks; one edge each)"
plot "$out/scaling-locks.dat" u 1:2 w lp lw 2 t "lockgraph extra ns/acq", "" u 1:4 axes x1y2 w lp dt 2 t "extra B per lock", 128 axes x1y2 w l lc rgb "black" dt 3 t "goal: 128 B per lock"
set ylabel "extra ns per new edge"
set y2label "extra bytes per edge"
set y2range [10:10000]
set xlabel "new edges (nested\_pairs, one pass)"
set xrange [1000:2e6]
set key bottom right
plot "$out/scaling-edges.dat" u 1:3 w lp lw 2 t "lockgraph extra ns per new edge", "" u 1:5 axes x1y2 w lp dt 2 t "extra B per edge"
set xlabel "threads (many\_threads)"
set autoscale x
set key top left
set ylabel "wall seconds"
set y2label "max RSS (MB)"
set autoscale y2
plot "$out/scaling-threads.dat" u 1:6 w lp lw 2 t "native s", "" u 1:7 w lp lw 2 t "lockgraph s", "" u 1:8 axes x1y2 w lp dt 2 t "native MB", "" u 1:9 axes x1y2 w lp dt 2 t "lockgraph MB"
unset multiplot
EOF
elif [ "$scaling" -eq 1 ]; then
  echo "bench: scaling series skipped: $lg_lib is not built"
fi

# ---- real programs nobody here wrote: native vs lockgraph ----
# Debian's own multithreaded compressors on a generated text: each round runs native, then
# lockgraph, on the same input, and the ratios are lockgraph's wall time, and CPU time (user +
# system, which waiting for a busy machine's cores does not inflate), over native's in that
# round (medians over rounds; no per-acquisition division: these programs do not count their
# locks). They take few locks, so the ratio is what lockgraph's start-up, thread bookkeeping
# and interposition cost a real program. A lockgraph run whose output differs from the native
# run's, or that reports anything (its --json summary), is flagged. Not in this table: TSan,
# which needs the program rebuilt with -fsanitize=thread (Debian's binaries are not), and
# Helgrind and DRD, which take 50x and 20x native on xz -T2 (see docs/performance.md): five
# rounds would add minutes for one number each.
realworld_tsv=$out/realworld.tsv
if [ "$realworld" -eq 1 ] && [ -f "$lg_lib" ]; then
  rw_dir=$out/realworld
  mkdir -p "$rw_dir"
  # 16 MiB of words and numbers from a fixed generator: compresses like text, never changes.
  if [ ! -s "$rw_dir/input-16m.txt" ]; then
    awk 'BEGIN {
      srand(11); nw = split("mutex thread lock order cycle graph wait signal queue worker barrier atomic fence reader writer spin join detach futex hold", w, " ")
      for (n = 0; n < 16777216; n += length(l) + 1) {
        l = ""; for (i = 0; i < 10; i++) l = l (i ? " " : "") w[int(rand() * nw) + 1] int(rand() * 1000)
        print l
      }
    }' >"$rw_dir/input-16m.txt"
  fi
  head -c 8388608 "$rw_dir/input-16m.txt" >"$rw_dir/input-8m.txt"
  cat "$rw_dir/input-16m.txt" "$rw_dir/input-16m.txt" "$rw_dir/input-16m.txt" "$rw_dir/input-16m.txt" \
    >"$rw_dir/input-64m.txt"
  # name|input|command. xz cuts 1 MiB blocks so both threads work (its default block is 24 MiB).
  rw_programs=(
    "xz -T2|input-8m.txt|xz -T2 --block-size=1MiB -c"
    "pigz -p 2|input-64m.txt|pigz -p 2 -c"
  )
  printf 'round\tprogram\ttool\tstatus\twall_s\tmax_rss_kb\treports\tcpu_s\n' >"$out/realworld-runs.tsv"
  printf 'bench: real programs, %d x native/lockgraph, %d interleaved rounds ' "${#rw_programs[@]}" "$rounds"
  for ((r = 1; r <= rounds; r++)); do
    for i in "${!rw_programs[@]}"; do
      IFS='|' read -r name input cmdline <<<"${rw_programs[$i]}"
      read -r -a argv <<<"$cmdline"
      if ! command -v "${argv[0]}" >/dev/null; then
        printf '%s\t%s\t%s\tnot-installed\t\t\t\n' "$r" "$name" lockgraph >>"$out/realworld-runs.tsv"
        printf 'x'
        continue
      fi
      for tool in native lockgraph; do
        log=$logs/rw$i.$tool.$r
        pre=()
        rm -f "$log.json"
        [ "$tool" = lockgraph ] && pre=(env "LD_PRELOAD=$lg_lib" "LOCKGRAPH_OPTIONS=json=$log.json${lg_options:+:$lg_options}")
        timeout -k 5 "$timeout_s" /usr/bin/time -o "$log.time" -f '%e %M %U %S' "${pre[@]}" "${argv[@]}" \
          <"$rw_dir/$input" >"$log.out" 2>"$log.err"
        rc=$?
        read -r wall rss usr sys < <(tail -n 1 "$log.time" 2>/dev/null)
        cpu=$(awk -v u="${usr:-0}" -v s="${sys:-0}" 'BEGIN { printf "%.2f", u + s }')
        reports=0
        [ -f "$log.json" ] && reports=$(sed -n 's/.*"type":"summary","reports":\([0-9]*\).*/\1/p' "$log.json" | awk '{ s += $1 } END { print s + 0 }')
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then status=timeout
        elif [ "$rc" -ne 0 ] && [ "$rc" -ne 66 ]; then status=exit-$rc
        elif [ "$tool" = lockgraph ] && ! cmp -s "$log.out" "$logs/rw$i.native.$r.out"; then status=output-differs
        else status=ok
        fi
        [ "$tool" = lockgraph ] && [ "$rc" -eq 66 ] && [ "$reports" -eq 0 ] && reports=1
        [ "$status" = ok ] || { wall=""; rss=""; cpu=""; }
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$name" "$tool" "$status" "$wall" "$rss" "$reports" "$cpu" >>"$out/realworld-runs.tsv"
        case "$status" in ok) printf '.' ;; *) printf 'x' ;; esac
      done
      rm -f "$logs/rw$i.native.$r.out" "$logs/rw$i.lockgraph.$r.out" # tens of MB each
    done
  done
  printf ' %ds\n' $(($(date +%s) - started))
  awk -F'\t' -v OFS='\t' "$(awk_median)"'
    NR == 1 { next }
    {
      if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2; st[$2] = "ok" }
      if ($4 != "ok") { if (st[$2] == "ok") st[$2] = $3 " " $4 " (round " $1 ")"; next }
      w[$2, $3] = w[$2, $3] " " $5; m[$2, $3] = m[$2, $3] " " $6; rep[$2] += $7
      c[$2, $3, $1] = $5; u[$2, $3, $1] = $8
    }
    END {
      print "program", "native_wall_s", "lockgraph_wall_s", "ratio", "ratio_min", "ratio_max", "native_rss_kb", "lockgraph_rss_kb", "reports", "status", "native_cpu_s", "lockgraph_cpu_s", "cpu_ratio"
      for (i = 1; i <= n; i++) {
        p = order[i]; rl = ""; lo = ""; hi = ""; cl = ""; cn = ""; cg = ""
        for (r = 1; r <= 99; r++)
          if ((p, "native", r) in c && (p, "lockgraph", r) in c && c[p, "native", r] > 0) {
            v = c[p, "lockgraph", r] / c[p, "native", r]; rl = rl " " v
            if (lo == "" || v < lo) lo = v
            if (hi == "" || v > hi) hi = v
            cn = cn " " u[p, "native", r]; cg = cg " " u[p, "lockgraph", r]
            if (u[p, "native", r] > 0) cl = cl " " u[p, "lockgraph", r] / u[p, "native", r]
          }
        print p, median(w[p, "native"]), median(w[p, "lockgraph"]), (rl == "" ? "" : sprintf("%.3f", median(rl))),
          (lo == "" ? "" : sprintf("%.3f", lo)), (hi == "" ? "" : sprintf("%.3f", hi)),
          median(m[p, "native"]), median(m[p, "lockgraph"]), rep[p] + 0, st[p],
          median(cn), median(cg), (cl == "" ? "" : sprintf("%.3f", median(cl)))
      }
    }' "$out/realworld-runs.tsv" >"$realworld_tsv"
  rm -f "$rw_dir/input-8m.txt" "$rw_dir/input-64m.txt"
elif [ "$realworld" -eq 1 ]; then
  echo "bench: real programs skipped: $lg_lib is not built"
fi

render_realworld() { # render_realworld <text|md>
  [ -f "$realworld_tsv" ] || return 0
  awk -F'\t' -v fmt="$1" '
    function f(v, d) { return v == "" ? "-" : sprintf("%." d "f", v) }
    BEGIN { ncol = split("program|native s|lockgraph s|ratio (range)|native CPU s|lockgraph CPU s|CPU ratio|native RSS MB|lockgraph RSS MB|status", head, "|") }
    NR == 1 { next }
    {
      st = $10; if ($9 + 0 > 0) st = st ", " $9 " report(s)"
      rt = $4 == "" ? "-" : f($4, 2) "x (" f($5, 2) "-" f($6, 2) "x)"
      row[++nr] = $1 "|" f($2, 2) "|" f($3, 2) "|" rt "|" f($11, 2) "|" f($12, 2) "|" ($13 == "" ? "-" : f($13, 2) "x") "|" ($7 == "" ? "-" : f($7 / 1024, 1)) "|" ($8 == "" ? "-" : f($8 / 1024, 1)) "|" st
    }
    END {
      for (i = 1; i <= ncol; i++) width[i] = length(head[i])
      for (r = 1; r <= nr; r++) { split(row[r], c, "|"); for (i = 1; i <= ncol; i++) if (length(c[i]) > width[i]) width[i] = length(c[i]) }
      if (fmt == "md") {
        line = "|"; sep = "|"
        for (i = 1; i <= ncol; i++) { line = line " " head[i] " |"; sep = sep (i == 1 || i == ncol ? "---|" : "--:|") }
        print line; print sep
        for (r = 1; r <= nr; r++) { split(row[r], c, "|"); line = "|"; for (i = 1; i <= ncol; i++) line = line " " c[i] " |"; print line }
      } else {
        line = ""; for (i = 1; i <= ncol; i++) line = line sprintf(i == 1 || i == ncol ? "%-*s  " : "%*s  ", width[i], head[i]); print line
        for (r = 1; r <= nr; r++) { split(row[r], c, "|"); line = ""; for (i = 1; i <= ncol; i++) line = line sprintf(i == 1 || i == ncol ? "%-*s  " : "%*s  ", width[i], c[i]); print line }
      }
    }' "$realworld_tsv"
}

render_scaling() { # render_scaling <text|md>
  [ -f "$scaling_tsv" ] || return 0
  awk -F'\t' -v fmt="$1" '
    function f(v, d) { return v == "" ? "-" : sprintf("%." d "f", v) }
    BEGIN { ncol = split("series|point|locks|edges|native ms|lockgraph ms|ratio|native ns/acq|lockgraph ns/acq|extra ns/acq|extra ns/new edge|native RSS MB|lockgraph RSS MB|extra B/lock (+ its edge)|extra B/edge|status", head, "|") }
    NR == 1 { next }
    { row[++nr] = $1 "|" $2 "|" ($13 == "" ? "-" : $13) "|" ($14 == "" ? "-" : $14) "|" ($4 == "" ? "-" : f($4 * 1000, 2)) "|" ($5 == "" ? "-" : f($5 * 1000, 2)) "|" ($6 == "" ? "-" : f($6, 2) "x") "|" f($7, 1) "|" f($8, 1) "|" f($17, 1) "|" f($18, 0) "|" ($9 == "" ? "-" : f($9 / 1024, 1)) "|" ($10 == "" ? "-" : f($10 / 1024, 1)) "|" f($19, 0) "|" f($20, 0) "|" $12 }
    END {
      for (i = 1; i <= ncol; i++) width[i] = length(head[i])
      for (r = 1; r <= nr; r++) { split(row[r], c, "|"); for (i = 1; i <= ncol; i++) if (length(c[i]) > width[i]) width[i] = length(c[i]) }
      if (fmt == "md") {
        line = "|"; sep = "|"
        for (i = 1; i <= ncol; i++) { line = line " " head[i] " |"; sep = sep (i <= 2 || i == ncol ? "---|" : "--:|") }
        print line; print sep
        for (r = 1; r <= nr; r++) { split(row[r], c, "|"); line = "|"; for (i = 1; i <= ncol; i++) line = line " " c[i] " |"; print line }
      } else {
        line = ""; for (i = 1; i <= ncol; i++) line = line sprintf(i <= 2 || i == ncol ? "%-*s  " : "%*s  ", width[i], head[i]); print line
        for (r = 1; r <= nr; r++) { split(row[r], c, "|"); line = ""; for (i = 1; i <= ncol; i++) line = line sprintf(i <= 2 || i == ncol ? "%-*s  " : "%*s  ", width[i], c[i]); print line }
      }
    }' "$scaling_tsv"
}

# The verdict lines against lockgraph's cost goals: one per workload with a goal (its median
# ratio decides; the range says how the rounds spread), then one per scaling series
# (scaling-verdicts.tsv).
render_verdicts() { # render_verdicts <text|md>
  local lead="  "
  [ "$1" = md ] && lead="- "
  awk -F'\t' -v lead="$lead" -v goals="$goals" '
    function fratio(v) { return v < 10 ? sprintf("%.2fx", v) : (v < 100 ? sprintf("%.1fx", v) : sprintf("%.0fx", v)) }
    BEGIN { n = split(goals, g, " "); for (i = 1; i <= n; i++) { split(g[i], kv, "="); goal[kv[1]] = kv[2] } }
    NR > 1 && $2 == "lockgraph" && goal[$1] != "" {
      if ($11 == "") { print lead $1 ": at most " goal[$1] "x: not measured (" $4 ")"; next }
      print lead $1 ": " fratio($11) " (rounds " fratio($12) "-" fratio($13) "), at most " goal[$1] "x: " ($11 + 0 <= goal[$1] + 0 ? "met" : "NOT met")
    }' "$summary"
  [ -f "$out/scaling-verdicts.tsv" ] || return 0
  awk -F'\t' -v lead="$lead" 'NR > 1 { print lead $11 }' "$out/scaling-verdicts.tsv"
}

elapsed=$(($(date +%s) - started))
load_end=$(load_of)

{
  echo "# lockgraph benchmark"
  echo
  echo "Machine: $machine. Tools: $tool_versions."
  echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'), $rounds interleaved rounds, median per cell, ${elapsed} s in all;"
  echo "load average $load_start at the start, $load_end at the end."
  echo
  echo "Ratio = cost per lock acquisition under the tool / native cost per acquisition, taken per round"
  echo "(median over rounds, range in brackets). Size \"full\" is the native size; \"n/64\" etc. mark reduced"
  echo "runs, whose wall time is for the reduced size and whose ratio is per acquisition. Each tool's"
  echo "start-up (the \"startup\" rows: nested_pairs -n 1 -t 1) is taken off its wall times before dividing."
  echo
  render_table md
  if [ -f "$scaling_tsv" ]; then
    echo
    echo "## Scaling (lockgraph alone)"
    echo
    echo "Median of ${scaling_reps:-2} interleaved rounds (more pairs of runs for the short points). Edges: one pass"
    echo "over nested_pairs' pairs, every pair a new edge. Locks: many_locks, 4M acquisitions per point, each"
    echo "lock with one new edge (m[i] -> m[i+1]). Spread: the 100k-lock point with each lock in a cell of its"
    echo "own, 256 B to 4 KiB apart (a lock per object; the locks series packs them 48 B apart). The ms columns:"
    echo "for edges, locks and spread the workload's own time from creating its locks to destroying them"
    echo "(work_ns), for threads and start-up the run's wall clock."
    echo "Extra = lockgraph less native (time, peak RSS). ns/acq, ratio and the extra columns have the"
    echo "start-up row's share taken off (edges: its work_ns; threads: its wall clock; memory: its RSS)."
    echo
    render_scaling md
  fi
  echo
  echo "## Against lockgraph's cost goals"
  echo
  render_verdicts md
  if [ -f "$realworld_tsv" ]; then
    echo
    echo "## Real programs (native vs lockgraph, wall and CPU time)"
    echo
    render_realworld md
  fi
} >"$out/results.md"

# The JSON writers' awk helpers: a string (escaped), a number or null, a yes/no as a boolean.
awk_json='
  function js(v) { gsub(/\\/, "\\\\", v); gsub(/"/, "\\\"", v); return "\"" v "\"" }
  function jn(v) { return v == "" ? "null" : v + 0 }
  function jb(v) { return v == "yes" ? "true" : (v ~ /^no/ ? "false" : "null") }
'
{
  printf '{\n  "machine": {"cpu": %s, "cores": %s, "memory": %s, "kernel": %s, "tools": %s},\n' \
    "$(json_string "$machine_cpu")" "$machine_cores" "$(json_string "$machine_mem")" \
    "$(json_string "$machine_kernel")" "$(json_string "$tool_versions")"
  printf '  "rounds": %d,\n  "elapsed_s": %d,\n  "load_average_start": %s,\n  "load_average_end": %s,\n  "results": [\n' \
    "$rounds" "$elapsed" "$(json_string "$load_start")" "$(json_string "$load_end")"
  awk -F'\t' -v goals="$goals" "$awk_json"'
    BEGIN { n = split(goals, g, " "); for (i = 1; i <= n; i++) { split(g[i], kv, "="); goal[kv[1]] = kv[2] } }
    NR == 1 { next }
    {
      gl = ($2 == "lockgraph" && goal[$1] != "") ? goal[$1] : ""
      met = (gl == "" || $11 == "") ? "null" : (($11 + 0 <= gl + 0) ? "true" : "false")
      printf "%s    {\"workload\": %s, \"tool\": %s, \"size\": %s, \"status\": %s, \"ok_runs\": %d, \"runs\": %d, \"median_wall_s\": %s, \"max_rss_kb\": %s, \"acquisitions\": %s, \"ns_per_acquisition\": %s, \"ratio\": %s, \"ratio_min\": %s, \"ratio_max\": %s, \"reports\": %d, \"startup_s\": %s, \"goal_ratio\": %s, \"goal_met\": %s}", (NR > 2 ? ",\n" : ""), js($1), js($2), js($3), js($4), $5, $6, jn($7), jn($8), jn($9), jn($10), jn($11), jn($12), jn($13), $14, jn($15), jn(gl), met
    }
    END { print "" }' "$summary"
  printf '  ],\n  "scaling": ['
  if [ -f "$scaling_tsv" ]; then
    echo
    awk -F'\t' "$awk_json"'
      NR == 1 { next }
      { printf "%s    {\"series\": %s, \"point\": %s, \"x\": %s, \"native_wall_s\": %s, \"lockgraph_wall_s\": %s, \"ratio\": %s, \"native_ns_per_acquisition\": %s, \"lockgraph_ns_per_acquisition\": %s, \"native_max_rss_kb\": %s, \"lockgraph_max_rss_kb\": %s, \"acquisitions\": %s, \"status\": %s, \"locks\": %s, \"edges\": %s, \"extra_s\": %s, \"extra_rss_kb\": %s, \"extra_ns_per_acquisition\": %s, \"extra_ns_per_new_edge\": %s, \"extra_bytes_per_lock\": %s, \"extra_bytes_per_edge\": %s}", (NR > 2 ? ",\n" : ""), js($1), js($2), jn($3), jn($4), jn($5), jn($6), jn($7), jn($8), jn($9), jn($10), jn($11), js($12), jn($13), jn($14), jn($15), jn($16), jn($17), jn($18), jn($19), jn($20) }
      END { print "" }' "$scaling_tsv"
    printf '  '
  fi
  printf '],\n  "scaling_verdicts": ['
  if [ -f "$out/scaling-verdicts.tsv" ]; then
    echo
    awk -F'\t' "$awk_json"'
      NR == 1 { next }
      { printf "%s    {\"series\": %s, \"metric\": %s, \"first_point\": %s, \"first\": %s, \"last_point\": %s, \"last\": %s, \"max_over_first\": %s, \"within_2x\": %s, \"bytes_per_lock_at_largest\": %s, \"at_most_128_bytes_per_lock\": %s, \"verdict\": %s}", (NR > 2 ? ",\n" : ""), js($1), js($2), js($3), jn($4), js($5), jn($6), jn($7), jb($8), jn($9), jb($10), js($11) }
      END { print "" }' "$out/scaling-verdicts.tsv"
    printf '  '
  fi
  printf '],\n  "realworld": ['
  if [ -f "$realworld_tsv" ]; then
    echo
    awk -F'\t' "$awk_json"'
      NR == 1 { next }
      { printf "%s    {\"program\": %s, \"native_wall_s\": %s, \"lockgraph_wall_s\": %s, \"ratio\": %s, \"ratio_min\": %s, \"ratio_max\": %s, \"native_cpu_s\": %s, \"lockgraph_cpu_s\": %s, \"cpu_ratio\": %s, \"native_max_rss_kb\": %s, \"lockgraph_max_rss_kb\": %s, \"reports\": %d, \"status\": %s}", (NR > 2 ? ",\n" : ""), js($1), jn($2), jn($3), jn($4), jn($5), jn($6), jn($11), jn($12), jn($13), jn($7), jn($8), $9, js($10) }
      END { print "" }' "$realworld_tsv"
    printf '  '
  fi
  printf ']\n}\n'
} >"$out/results.json"

echo
echo "Machine: $machine"
echo "Tools: $tool_versions"
echo "Load average: $load_start at the start, $load_end at the end"
echo
render_table text
if [ -f "$scaling_tsv" ]; then
  echo
  echo "Scaling (lockgraph alone; median of ${scaling_reps:-2} interleaved rounds; edges: one pass, every pair a new edge;"
  echo "locks: 4M acquisitions, one new edge per lock; spread: 100k locks 256 B to 4 KiB apart;"
  echo "edges, locks and spread timed by the workload's work_ns;"
  echo "extra = lockgraph less native, start-up taken off):"
  render_scaling text
fi
echo
echo "Against lockgraph's cost goals (median ratio decides):"
render_verdicts text
if [ -f "$realworld_tsv" ]; then
  echo
  echo "Real programs (native vs lockgraph, wall and CPU time; median of $rounds interleaved rounds):"
  render_realworld text
fi
echo
echo "bench: ${elapsed} s; results in $out/results.md, results.json, ratios.png$([ -f "$scaling_tsv" ] && echo ", scaling.png"); every run in $raw and $logs/"
