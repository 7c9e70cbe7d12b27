// Types of @ialp/wasm's entry; the Env class and the other bindings come from the
// generated glue (dist/, built by scripts/build-wasm.sh).
export * from '../dist/ialp_wasm.js';
import type { InitOutput } from '../dist/ialp_wasm.js';

export interface InitOptions {
  /** Load this module instead of the bundled files; `simd` is then ignored. */
  module_or_path?: URL | string | BufferSource | WebAssembly.Module | Response | Promise<Response>;
  /** false forces the scalar build; by default SIMD is used where supported. */
  simd?: boolean;
}

/** Loads the module; await it once before using Env. Later calls return the same promise. */
export declare function init(input?: InitOptions): Promise<InitOutput>;
export default init;

/** Whether this engine validates WebAssembly SIMD (simd128). */
export declare function simdSupported(): boolean;

/** Which file init loaded: 'simd', 'scalar', 'custom' (module_or_path) or null before init. */
export declare function loadedVariant(): 'simd' | 'scalar' | 'custom' | null;
