#!/usr/bin/env bash
# `npm run build:torch`: the N-API addon with the libtorch backend (cargo
# feature `torch`), into packages/native/torch/ next to (not over) the default
# addon. The TypeScript package loads it for `compute: 'torch'` (backend kind
# "native-torch"). Needs scripts/setup-torch.sh first. The addon finds libtorch
# through an rpath to .venv-torch, so it works on the machine that built it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -x .venv-torch/bin/python ]] || { echo "build:torch: run scripts/setup-torch.sh first (installs torch==2.11.0 into .venv-torch)" >&2; exit 1; }
. scripts/torch-env.sh
npx napi build --platform --release --features torch \
  --manifest-path crates/node/Cargo.toml --package-json-path packages/native/package.json \
  --output-dir packages/native/torch --no-js --dts index.d.ts "$@"
