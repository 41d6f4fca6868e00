// The browser sandbox's build: TypeScript + the wasm-bindgen module (src/pkg/, written by
// scripts/build-web.sh) + every lesson (inlined, so the page needs no request after load)
// into ../www, which `simctl serve` serves and any static host can.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: {
    outDir: '../www',
    emptyOutDir: true,
    target: 'es2022',
    // The module is ~1 MB gzipped: say so, but do not warn about it on every build.
    chunkSizeWarningLimit: 2048,
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  worker: { format: 'es' },
  server: { fs: { allow: ['..', '../../scenarios'] } },
});
