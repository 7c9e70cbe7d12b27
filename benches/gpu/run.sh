#!/usr/bin/env bash
# The GPU benchmark of issue #6: A2C updates on ndarray (CPU), tch CPU and tch
# CUDA, timed by crates/ac-core/examples/bench_backends.rs. See benches/README.md.
#
#   bash benches/gpu/run.sh build        here: build the program (release, feature
#                                        torch) into benches/gpu/dist/
#   bash benches/gpu/run.sh run [ARGS]   on the GPU machine (PyTorch 2.11 installed,
#                                        no registry, no Node): run dist/bench_backends
#                                        with libtorch from that machine's torch package
#   bash benches/gpu/run.sh [ARGS]       both, here (CPU only unless this machine has a GPU)
#
# ARGS go to the program: --quick, --batches, --hidden, --backends, --threads, ...
# Results: benches/gpu/results/<host>-<date>.json (and the table on stdout).
# IALP_BENCH_PROFILE=test builds with cargo's test profile (CI: reuses the
# artefacts of `cargo test --features torch`).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dist="$here/dist"
mode=all
case "${1:-}" in build|run) mode=$1; shift ;; esac

build() {
  [[ -x $root/.venv-torch/bin/python ]] || { echo "gpu bench: run scripts/setup-torch.sh first" >&2; exit 1; }
  # shellcheck source=/dev/null
  . "$root/scripts/torch-env.sh"
  local profile="${IALP_BENCH_PROFILE:-release}" target=() dir out
  dir="$root/target"
  if [[ $profile == release ]]; then
    # napi builds with an explicit --target: naming it too reuses the libtorch
    # artefacts of `npm run build:torch` (tch takes ~10 minutes to compile)
    target=(--target "$(rustc -vV | sed -n 's/^host: //p')")
    dir="$dir/${target[1]}"
  fi
  (cd "$root" && cargo build --quiet --profile "$profile" "${target[@]}" -p ialp-ac-core --features torch --example bench_backends)
  # cargo's output dirs: dev and test -> debug, release and bench -> release
  case $profile in dev|test) dir="$dir/debug" ;; bench) dir="$dir/release" ;; *) dir="$dir/$profile" ;; esac
  out="$dir/examples/bench_backends"
  mkdir -p "$dist"
  cp "$out" "$dist/bench_backends"
  echo "built $dist/bench_backends (copy benches/gpu/ to the GPU machine and run: bash run.sh run)" >&2
}

run() {
  [[ -x $dist/bench_backends ]] || { echo "gpu bench: no $dist/bench_backends; run 'bash benches/gpu/run.sh build' first" >&2; exit 1; }
  # libtorch from the torch package of whichever Python has it (this repo's
  # .venv-torch when present, else python3 on the PATH)
  local py=python3 lib
  [[ -x $root/.venv-torch/bin/python ]] && py="$root/.venv-torch/bin/python"
  lib="$("$py" -W ignore -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')" ||
    { echo "gpu bench: $py cannot import torch (PyTorch 2.11 is needed)" >&2; exit 1; }
  mkdir -p "$here/results"
  local json
  json="$here/results/$(hostname -s)-$(date -u +%Y%m%dT%H%M%SZ).json"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2 || true
  LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$dist/bench_backends" --json "$json" "$@"
  echo "results: $json" >&2
}

case $mode in
  build) build ;;
  run) run "$@" ;;
  all) build; run "$@" ;;
esac
