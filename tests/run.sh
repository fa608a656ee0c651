#!/usr/bin/env bash
# The two entry points of the README's quick start, for a fresh Debian 12 machine (as root):
#
#   tests/run.sh demo   install what is needed, build, start a throwaway local WordPress and
#                       publish the demo recipe to it (prints the URL of what it published)
#   tests/run.sh test   install what is needed, build, and run the whole test suite: unit and
#                       integration tests (against the local WordPress), then the unit and
#                       example-host tests again under AddressSanitizer + UBSan, then the
#                       fuzzers for a bounded time (tests/fuzz/run-fuzzers)
#
# Environment: BUILD_DIR (default build), JOBS (default 2), FUZZ_SECONDS (default 30 per fuzzer).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-2}

BUILD_PACKAGES=(build-essential cmake pkg-config python3 liblua5.4-dev lua-cjson-dev
                libcurl4-openssl-dev libsqlite3-dev libstb-dev libsodium-dev
                libcmark-gfm-dev libcmark-gfm-extensions-dev libyaml-dev
                libjpeg62-turbo-dev libpng-dev libwebp-dev valgrind)

say() { printf '\n== %s\n' "$*" >&2; }

install_packages() {
  local missing=() p
  for p in "${BUILD_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] || { echo "run as root to install: ${missing[*]}" >&2; exit 1; }
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
  fi
  tests/wordpress/wp-testbed install
}

build() { # build DIR [cmake args...]
  local dir=$1; shift
  say "building in $dir"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$JOBS"
}

case ${1:-} in
  demo)
    install_packages
    build "$BUILD_DIR"
    say "starting the local WordPress"
    env_lines=$(tests/wordpress/wp-testbed start)
    export WPL_URL WPL_USER WPL_APP_PASSWORD
    WPL_URL=$(sed -n 's/^WPL_TEST_URL=//p' <<<"$env_lines")
    WPL_USER=$(sed -n 's/^WPL_TEST_USER=//p' <<<"$env_lines")
    WPL_APP_PASSWORD=$(sed -n 's/^WPL_TEST_APP_PASSWORD=//p' <<<"$env_lines")
    say "publishing recipes/demo.lua to $WPL_URL"
    "$BUILD_DIR/wpl" run recipes/demo.lua
    ;;
  test)
    BUILD_PACKAGES+=(clang libclang-rt-14-dev) # libFuzzer
    install_packages
    build "$BUILD_DIR"
    say "test suite"
    (cd "$BUILD_DIR" && ctest --output-on-failure -j"$JOBS")
    build "$BUILD_DIR-asan" -DWPL_SANITIZE=ON
    say "test suite under AddressSanitizer + UBSan"
    (cd "$BUILD_DIR-asan" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$JOBS")
    say "fuzzing (${FUZZ_SECONDS:-30} s per target)"
    FUZZ_BUILD_DIR="$BUILD_DIR-fuzz" tests/fuzz/run-fuzzers "${FUZZ_SECONDS:-30}"
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
