// Vite build of the playground: relative asset paths, so web/dist works from any folder and
// offline; with a bundle in web/public/model it is a complete static site. onnxruntime-web's
// WASM binary is emitted into dist/assets by Vite itself (the ORT bundle refers to it with
// new URL(..., import.meta.url)), so nothing is fetched from a CDN.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));

// `--mode package` (npm pack) leaves web/public out: a run's bundle is served separately by
// `latentkit playground`, and a developer's web/public/model must not ship in the package.
export default defineConfig(({ mode }) => ({
  root: here,
  base: './',
  // web/public/model (from `latentkit web-bundle RUN -o web/public/model`) ships inside dist.
  publicDir: mode === 'package' ? false : join(here, 'public'),
  logLevel: 'warn',
  build: { outDir: join(here, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
}));
