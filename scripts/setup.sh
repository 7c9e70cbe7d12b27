#!/usr/bin/env bash
# Installs what a fresh machine lacks and builds everything (native addon,
# WebAssembly package, TypeScript). Safe to run again; it skips what is there.
#   Debian packages: Debian's Rust with its std sources, lld and binaryen, for
#                    the wasm32 build (the rustup toolchain has no wasm32 std here)
#   cargo:           wasm-bindgen-cli, pinned to the wasm-bindgen crate version
#   npm:             the workspace's packages (npm ci)
#   PyPI:            with IALP_RAY=1 (CI sets it), ray[default] into .venv-ray/
#                    (scripts/setup-ray.sh; ~400 MB);
#                    with IALP_TORCH=1 (CI sets it), torch==2.11.0 into
#                    .venv-torch/ for the `torch` feature and the libtorch
#                    build of the addon (scripts/setup-torch.sh; ~4.5 GB, once)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\n== %s\n' "$*" >&2; }

debs=(rustc-web cargo-web rust-web-src lld-16 binaryen chromium chromium-driver)
torch=${IALP_TORCH:-0}
[[ -d .venv-torch ]] && torch=1
ray=${IALP_RAY:-0}
[[ -d .venv-ray ]] && ray=1
if [[ $torch == 1 || $ray == 1 ]]; then debs+=(python3-venv python3-pip); fi
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "setup: need root (or sudo) to run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

for tool in cargo node npm; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is required (Rust via rustup, Node.js 20+)" >&2; exit 1; }
done

wb_version="$(sed -n 's/^wasm-bindgen *= *"=\([0-9.]*\)".*/\1/p' crates/wasm/Cargo.toml)"
wb="$(command -v wasm-bindgen || echo "${CARGO_HOME:-$HOME/.cargo}/bin/wasm-bindgen")"
if [[ "$("$wb" --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]]; then
  say "installing wasm-bindgen-cli $wb_version (a few minutes, once)"
  cargo install --quiet wasm-bindgen-cli --version "=$wb_version"
fi

say "installing npm packages"
npm ci --no-audit --no-fund --loglevel=error

if [[ $torch == 1 ]]; then
  say "installing torch for the libtorch backend (scripts/setup-torch.sh)"
  bash scripts/setup-torch.sh
fi

# with IALP_RAY=1 (CI sets it): Ray for `ialp run --ray` and its test
if [[ $ray == 1 ]]; then
  say "installing Ray (scripts/setup-ray.sh)"
  bash scripts/setup-ray.sh
fi

say "building (native addon, WebAssembly, TypeScript)"
npm run --silent build

if [[ $torch == 1 ]]; then
  say "building the native addon with libtorch (npm run build:torch)"
  npm run --silent build:torch
fi
