// Vite config of the demo page; `npm run build:demo` builds into packages/demo/dist.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  // The training worker imports @ialp/wasm, whose init() has a dynamic import
  // (for Node only); IIFE workers cannot code-split, ES-module workers can.
  worker: { format: 'es' },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
});
