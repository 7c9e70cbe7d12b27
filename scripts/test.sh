#!/usr/bin/env bash
# `npm test`: Rust tests (also with the `torch` feature), JavaScript tests
# through the real native, native-torch and wasm builds, type checks,
# formatting and lints. Ends with "N passed, N failed" for
# the JavaScript side; exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
step() {
  printf '\n== %s\n' "$*"
  "$@" || { echo "FAILED: $*"; status=1; }
}

# the libtorch backend's steps run with scripts/torch-env.sh (torch-sys finds
# libtorch in .venv-torch through it), and nothing else does
with_torch() { (. scripts/torch-env.sh && "$@"); }
# they run where torch is installed (IALP_TORCH=1 bash scripts/setup.sh), and
# must run under IALP_TORCH=1 (CI), where a missing torch build is a failure
torch=${IALP_TORCH:-0}
[[ -d .venv-torch ]] && torch=1

step npm run --silent build
step cargo fmt --all --check
step cargo clippy --workspace --all-targets --quiet -- -D warnings
step cargo test --workspace --quiet
if [[ $torch == 1 ]]; then
  step npm run --silent build:torch
  step with_torch cargo clippy -p ialp-ac-core -p ialp-node --all-targets --features torch --quiet -- -D warnings
  step with_torch cargo test -p ialp-ac-core --features torch --quiet --lib --test torch_parity
  step env IALP_BENCH_PROFILE=test bash benches/gpu/run.sh --quick
else
  printf '\n== torch: not installed, so the libtorch steps and tests do not run here (IALP_TORCH=1 bash scripts/setup.sh installs it; CI does)\n'
fi
step npx tsc -p packages/ts-api --noEmit
step npx tsc -p __test__ --noEmit
step npx tsc -p benches --noEmit
step npx eslint .

printf '\n== ava (JavaScript tests)\n'
tap="$(mktemp)"
# with torch, the torch tests fail, not skip, when the torch build is missing
# so do the Ray tests without Ray where it is to be installed (IALP_RAY=1)
ray=${IALP_RAY:-0}
[[ -d .venv-ray ]] && ray=1
IALP_REQUIRE_TORCH=$torch IALP_REQUIRE_RAY=$ray npx ava --tap 2>&1 | tee "$tap"
ava_status=${PIPESTATUS[0]}
passed=$(grep -E '^ok [0-9]+' "$tap" | grep -vc '# SKIP' || true)
skipped=$(grep -E '^ok [0-9]+' "$tap" | grep -c '# SKIP' || true)
failed=$(grep -cE '^not ok [0-9]+' "$tap" || true)
rm -f "$tap"
if ((ava_status != 0 || failed > 0 || passed == 0)); then status=1; fi
echo
echo "javascript: $passed passed, $failed failed"
if ((skipped > 0)); then echo "javascript: $skipped skipped (the torch, TensorBoard or Ray tests, without those installed)"; fi
exit $status
