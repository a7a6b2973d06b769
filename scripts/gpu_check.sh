#!/bin/sh
# The checks that need a GPU, as one run: build the CUDA backend for the
# GPU at hand, run every `gpu` test (each compares the device with the CPU),
# then orrery-bench's GPU tables. Logs go to $OUT (default: gpu-check/).
#   scripts/gpu_check.sh            # tests and the quick GPU bench
#   FULL=1 scripts/gpu_check.sh     # also the full bench and the 35-step 7B Text2World run
set -u
cd "$(dirname "$0")/.." || exit 1
out=${OUT:-gpu-check}
mkdir -p "$out"
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
cmake -S . -B build-gpu -DORR_VIEWER=OFF -DORR_FFMPEG=OFF -DORR_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${arch:-90}" > "$out/configure.log" 2>&1 &&
  cmake --build build-gpu -j"$(nproc)" > "$out/build.log" 2>&1 || {
  echo "gpu_check: the build failed: see $out/build.log"
  tail -30 "$out/build.log"
  exit 1
}
ctest --test-dir build-gpu -L gpu --output-on-failure --timeout 300 > "$out/gpu-tests.log" 2>&1
tests=$?
grep -E "tests passed|\(Failed\)|Timeout" "$out/gpu-tests.log"
build-gpu/orrery-bench --quick > "$out/bench-quick.md" 2>&1
tail -40 "$out/bench-quick.md"
if [ "${FULL:-0}" = 1 ]; then
  ORR_BENCH_DIT_RUN=1 build-gpu/orrery-bench > "$out/bench-full.md" 2>&1
  tail -60 "$out/bench-full.md"
fi
exit $tests
