#!/usr/bin/env bash
# Builds the WebAssembly package packages/wasm/dist from crates/wasm:
#   ialp_wasm.js / ialp_wasm.d.ts     wasm-bindgen glue (--target web), shared by both builds
#   ialp_wasm_bg.wasm                  scalar build
#   ialp_wasm_simd_bg.wasm             build with -C target-feature=+simd128
# Everything in dist/ is generated (and git-ignored); run this script again instead
# of editing it.
#
# The rustup toolchain has no wasm32 standard library here, so this uses Debian's
# Rust (/usr/bin/cargo, /usr/bin/rustc) and builds std from source (-Zbuild-std),
# linking with wasm-ld-16, in its own target dirs under target/wasm/ so it does not
# disturb the rustup artifacts in target/. See docs/toolchain.md in the shared docs.
#
# Env: IALP_WASM_SKIP_SIMD=1 builds only the scalar variant.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CRATE_DIR="crates/wasm"
OUT_DIR="packages/wasm/dist"
TARGET="wasm32-unknown-unknown"
CARGO=/usr/bin/cargo
RUSTC=/usr/bin/rustc
LINKER=wasm-ld-16
STD_SRC=/usr/lib/rustlib/src/rust/library
DEBIAN_HINT="apt-get install -y rustc-web cargo-web rust-web-src lld-16 binaryen"

# Required wasm-bindgen version: the exact pin in crates/wasm/Cargo.toml.
WB_VERSION="$(sed -n 's/^wasm-bindgen *= *"=\([0-9.]*\)".*/\1/p' "$CRATE_DIR/Cargo.toml")"
if [[ -z "$WB_VERSION" ]]; then
  echo "error: $CRATE_DIR/Cargo.toml must pin wasm-bindgen exactly (wasm-bindgen = \"=X.Y.Z\")" >&2
  exit 1
fi
WB_HINT="cargo install wasm-bindgen-cli --version =$WB_VERSION"

# --- tools -------------------------------------------------------------------
missing=0
need() { # need <what> <hint>
  echo "error: $1 not found; install it with: $2" >&2
  missing=1
}
[[ -x "$CARGO" ]] || need "$CARGO (Debian cargo)" "$DEBIAN_HINT"
[[ -x "$RUSTC" ]] || need "$RUSTC (Debian rustc)" "$DEBIAN_HINT"
[[ -d "$STD_SRC/std" ]] || need "Rust std sources in $STD_SRC" "$DEBIAN_HINT"
command -v "$LINKER" >/dev/null || need "$LINKER" "$DEBIAN_HINT"
command -v wasm-opt >/dev/null || need "wasm-opt" "$DEBIAN_HINT"
WASM_BINDGEN="$(command -v wasm-bindgen || true)"
if [[ -z "$WASM_BINDGEN" && -x "${CARGO_HOME:-$HOME/.cargo}/bin/wasm-bindgen" ]]; then
  WASM_BINDGEN="${CARGO_HOME:-$HOME/.cargo}/bin/wasm-bindgen"
fi
if [[ -z "$WASM_BINDGEN" ]]; then
  need "wasm-bindgen" "$WB_HINT"
else
  have="$("$WASM_BINDGEN" --version | awk '{print $2}')"
  if [[ "$have" != "$WB_VERSION" ]]; then
    echo "error: wasm-bindgen CLI is $have but the crate pins =$WB_VERSION; install it with: $WB_HINT" >&2
    missing=1
  fi
fi
((missing == 0)) || exit 1

# Features Rust's wasm32 target emits by default (and wasm-bindgen keeps), less
# reference-types: Debian's binaryen (wasm-opt 108) exports the wrong table once
# wasm-bindgen adds its externref table, and instantiation then fails with
# "WebAssembly.Table.set(): ... function-typed object must be null"; so rustc is
# told -reference-types below and wasm-bindgen falls back to its JS object heap.
WASM_OPT_FEATURES=(--enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int
  --enable-bulk-memory --enable-multivalue)

# --- build -------------------------------------------------------------------
# cargo_build <target-dir> [extra rustc flags...]; prints the path of the .wasm
cargo_build() {
  local target_dir="$1"
  shift
  # -Zlocation-detail=none: no file:line:column strings for panics, which abort
  # in wasm anyway (RUSTC_BOOTSTRAP is set for -Zbuild-std)
  local flags=(-C "linker=$LINKER" -C panic=abort -C target-feature=-reference-types -Zlocation-detail=none
    # keep this machine's paths out of the shipped .wasm
    "--remap-path-prefix=$ROOT=ialp"
    "--remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}/registry/src=crates"
    "$@")
  local IFS=$'\x1f' # CARGO_ENCODED_RUSTFLAGS: flags separated by 0x1f, so paths may hold spaces
  PATH="/usr/bin:$PATH" RUSTC="$RUSTC" RUSTC_BOOTSTRAP=1 \
    CARGO_ENCODED_RUSTFLAGS="${flags[*]}" CARGO_TARGET_DIR="$target_dir" \
    CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
    "$CARGO" build --release --quiet -p ialp-wasm --target "$TARGET" \
    -Zbuild-std=std,panic_abort >&2
  echo "$target_dir/$TARGET/release/ialp_wasm.wasm"
}

# bindgen_opt <input.wasm> <out-dir> <extra wasm-opt flags...>
bindgen_opt() {
  local input="$1" out="$2"
  shift 2
  mkdir -p "$out"
  "$WASM_BINDGEN" --target web --out-dir "$out" --out-name ialp_wasm "$input"
  wasm-opt -O3 "${WASM_OPT_FEATURES[@]}" "$@" "$out/ialp_wasm_bg.wasm" -o "$out/ialp_wasm_bg.wasm"
}

start=$SECONDS
echo "building scalar wasm (target/wasm/scalar)..."
scalar_wasm="$(cargo_build target/wasm/scalar)"
bindgen_opt "$scalar_wasm" "$OUT_DIR"

if [[ "${IALP_WASM_SKIP_SIMD:-0}" != 1 ]]; then
  echo "building simd128 wasm (target/wasm/simd)..."
  simd_wasm="$(cargo_build target/wasm/simd -C target-feature=+simd128)"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  bindgen_opt "$simd_wasm" "$tmp" --enable-simd
  # One glue serves both files; make sure that stays true.
  if ! cmp -s "$tmp/ialp_wasm.js" "$OUT_DIR/ialp_wasm.js"; then
    echo "error: wasm-bindgen glue differs between the scalar and simd builds" >&2
    diff "$OUT_DIR/ialp_wasm.js" "$tmp/ialp_wasm.js" | head -20 >&2 || true
    exit 1
  fi
  cp "$tmp/ialp_wasm_bg.wasm" "$OUT_DIR/ialp_wasm_simd_bg.wasm"
else
  rm -f "$OUT_DIR/ialp_wasm_simd_bg.wasm"
fi

# Mark the generated text files (keep the glue's first-line @ts-self-types directive first).
note="Generated by scripts/build-wasm.sh (wasm-bindgen $WB_VERSION); do not edit."
sed -i "1a /* $note */" "$OUT_DIR/ialp_wasm.js"
sed -i "1i /* $note */" "$OUT_DIR/ialp_wasm.d.ts" "$OUT_DIR/ialp_wasm_bg.wasm.d.ts"
rm -f "$OUT_DIR/.gitignore" # wasm-bindgen may write one; dist/ is ignored at the root

# Smoke test: each .wasm instantiates with the glue and builds an environment
# (catches optimizer output that validates but does not link, see above).
if command -v node >/dev/null; then
  node --input-type=module - "$ROOT/$OUT_DIR" <<'JS'
import { readFileSync, existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const dir = process.argv[2];
for (const file of ['ialp_wasm_bg.wasm', 'ialp_wasm_simd_bg.wasm']) {
  if (!existsSync(`${dir}/${file}`)) continue;
  if (file.includes('simd') && !WebAssembly.validate(new Uint8Array([0,97,115,109,1,0,0,0,1,5,1,96,0,1,123,3,2,1,0,10,10,1,8,0,65,0,253,15,253,98,11]))) continue;
  const glue = await import(`${pathToFileURL(`${dir}/ialp_wasm.js`)}?${file}`);
  glue.initSync({ module: readFileSync(`${dir}/${file}`) });
  const env = new glue.Env({ name: 'synthetic', batch: { batchSize: 2, seed: 1 } });
  const r = new Float32Array(2);
  env.step(new Uint32Array([0, 1]), r, new Uint8Array(2));
  let threw = false;
  try { env.step(new Uint32Array(1), r, new Uint8Array(2)); } catch (e) { threw = e instanceof Error; }
  if (!threw) throw new Error(`${file}: bad input did not throw`);
  env.free();
}
JS
  echo "smoke test passed (node $(node --version))"
else
  echo "warning: node not found; skipped the smoke test" >&2
fi

echo "done in $((SECONDS - start)) s; $OUT_DIR:"
for f in ialp_wasm_bg.wasm ialp_wasm_simd_bg.wasm ialp_wasm.js ialp_wasm.d.ts; do
  [[ -f "$OUT_DIR/$f" ]] && printf '  %-26s %8d bytes\n' "$f" "$(wc -c <"$OUT_DIR/$f")"
done
