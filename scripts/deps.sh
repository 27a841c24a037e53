#!/usr/bin/env bash
# Installs what the toolkit needs and is missing, on Debian or Ubuntu.
#
#   scripts/deps.sh build   compilers (gcc, g++, clang), sanitizer runtimes, Valgrind, Criterion,
#                           libunwind, libdw
#   scripts/deps.sh bench   the above plus the benchmark's timing and plotting tools
#   scripts/deps.sh fuzz    the build's needs plus clang's libFuzzer runtime (make fuzz)
#   (build also installs the real programs the tests run under lockgraph: xz, zstd, pigz, git)
#   scripts/deps.sh test [BUILD]
#                           the above (build) plus what the tests use besides: man (the man page
#                           is rendered), Node.js and npm from Debian, and the SARIF validator
#                           (Microsoft's SARIF multitool, from the npm registry) in BUILD/tools
#
# Each need is probed for real (a command on PATH, a test compile and link), so a machine that
# already has everything runs no apt-get at all. As root it installs with apt-get; otherwise it
# prints the exact command to run and fails.
set -u
profile=${1:-build}
case "$profile" in build|bench|test|fuzz) ;; *) echo "deps.sh: unknown profile '$profile' (use: build, bench, test, fuzz)" >&2; exit 2 ;; esac
build_dir=${2:-build}

missing=()
need() { # need <package> <probe command...>
  local pkg=$1; shift
  if ! "$@" >/dev/null 2>&1; then missing+=("$pkg"); fi
}

probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf 'int main(void){return 0;}\n' >"$probe_dir/t.c"
links() { # links <compiler> <flags...>: can this compiler build and link a program with these flags?
  local cc=$1; shift
  command -v "$cc" && "$cc" "$probe_dir/t.c" -o "$probe_dir/t" "$@"
}
has_header_lib() { # has_header_lib <header> <lib flags...>
  local h=$1; shift
  printf '#include <%s>\nint main(void){return 0;}\n' "$h" >"$probe_dir/h.c" &&
    cc "$probe_dir/h.c" -o "$probe_dir/h" "$@"
}

need make            command -v make
need cmake           command -v cmake
need gcc             command -v gcc
# The C++ corpus programs are built with g++ and clang++ both (without g++, CMake would take
# clang++ as the project's C++ compiler and the g++ build would be missing); the library links
# libsupc++.a's demangler.
need g++             command -v g++
need pkg-config      command -v pkg-config
need libtsan2        links gcc -fsanitize=thread
# Corpus builds the front end must handle: one with AddressSanitizer, one linked statically.
need libasan8        links gcc -fsanitize=address
need libc6-dev       links gcc -static -pthread
need clang           command -v clang
need clang           command -v clang++
need libclang-rt-dev links clang -fsanitize=thread
need valgrind        command -v valgrind
need libcriterion-dev has_header_lib criterion/criterion.h -lcriterion
need libunwind-dev   has_header_lib libunwind.h -lunwind
need libdw-dev       has_header_lib elfutils/libdwfl.h -ldw -lelf
need util-linux      command -v setarch
need coreutils       command -v timeout
# Real multithreaded programs nobody here wrote, run under lockgraph by the tests.
need xz-utils        command -v xz
need zstd            command -v zstd
need pigz            command -v pigz
need git             command -v git
if [ "$profile" = fuzz ]; then
  # libFuzzer brings its own main: the probe defines the fuzz entry point instead.
  printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe_dir/f.c"
  need libclang-rt-dev sh -c "command -v clang && clang '$probe_dir/f.c' -o '$probe_dir/f' -fsanitize=fuzzer,address,undefined"
fi
if [ "$profile" = test ]; then
  need man-db        command -v man
  need nodejs        command -v node
  need npm           command -v npm
fi
if [ "$profile" = bench ]; then
  need time          test -x /usr/bin/time
  need hyperfine     command -v hyperfine
  need gnuplot-nox   command -v gnuplot
fi

# clang's TSan runtime only matters once clang itself is there.
if printf '%s\n' "${missing[@]}" | grep -qx clang; then
  missing+=(libclang-rt-dev)
fi
# The SARIF validator: a pinned version of Microsoft's multitool, into the build tree (not
# system-wide), after the packages above (npm is one of them). Offline, this says so and lets
# the other tests run; test_sarif then fails, naming what to install.
sarif_validator() {
  [ "$profile" = test ] || return 0
  local tools="$build_dir/tools" version=5.7.0
  local bin="$tools/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
  if [ -x "$bin" ] && DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 "$bin" --version >/dev/null 2>&1; then
    return 0
  fi
  echo "deps.sh: installing the SARIF validator (@microsoft/sarif-multitool@$version) into $tools"
  mkdir -p "$tools" || return 1
  if ! timeout 600 npm install --prefix "$tools" --no-audit --no-fund --no-save --loglevel=error \
       "@microsoft/sarif-multitool@$version" >"$probe_dir/npm.log" 2>&1; then
    tail -n 5 "$probe_dir/npm.log" >&2
    echo "deps.sh: cannot download @microsoft/sarif-multitool from the npm registry (offline, or the registry is unreachable)." >&2
    echo "deps.sh: the SARIF tests (test_sarif) fail without it: run 'make test' again when online, or install it by hand: npm install --prefix $tools @microsoft/sarif-multitool@$version" >&2
    return 0 # the other tests still run; test_sarif says what is missing
  fi
  chmod u+x "$bin" 2>/dev/null # npm may skip the package's own install script that does this
  if ! DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 "$bin" --version >/dev/null 2>&1; then
    echo "deps.sh: the SARIF validator was installed but does not run: $bin --version fails; test_sarif will fail" >&2
  fi
}

if [ ${#missing[@]} -eq 0 ]; then sarif_validator; exit $?; fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing: ${missing[*]}. Install them with: sudo sh -c '$cmd'" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "deps.sh: missing: ${missing[*]}, and this is not a Debian/Ubuntu system (no apt-get): install them with your package manager" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$probe_dir/apt.log" 2>&1; then
  tail -n 20 "$probe_dir/apt.log" >&2
  echo "deps.sh: apt-get failed installing ${missing[*]} (output above); run as root: $cmd" >&2
  exit 1
fi
sarif_validator
