#!/usr/bin/env bash
# Installs what is needed, builds orrery and runs the whole default test
# suite (everything but the tests labelled `slow`; ORR_SLOW=1 adds those).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
exclude=(-LE slow)
[ "${ORR_SLOW:-0}" = 1 ] && exclude=()
ctest --test-dir build --output-on-failure -j"$(nproc)" "${exclude[@]}"
