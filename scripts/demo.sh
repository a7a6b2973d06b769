#!/usr/bin/env bash
# The main job: installs what is needed, builds orrery, and generates a world
# with the built-in default model (random weights until orrery trains its
# own), written to orrery-demo.mp4 (or the path given).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
exec build/orrery scripts/demo.lua "${1:-orrery-demo.mp4}"
