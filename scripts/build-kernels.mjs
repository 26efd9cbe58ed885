// Compiles src/optim/kernels.wat (the optimizer's WebAssembly kernels) into
// src/optim/kernels-wasm.ts, so the package and the browser need no WebAssembly toolchain.
// test/optim/host-update.test.ts checks that the committed module matches the source.
//   node scripts/build-kernels.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

const SOURCE = fileURLToPath(new URL('../src/optim/kernels.wat', import.meta.url));
const TARGET = fileURLToPath(new URL('../src/optim/kernels-wasm.ts', import.meta.url));

/** The TypeScript module that kernels.wat compiles to. */
export async function kernelsModule() {
  const w = await wabt();
  const mod = w.parseWat('kernels.wat', readFileSync(SOURCE, 'utf8'), { simd: true });
  mod.validate();
  const { buffer } = mod.toBinary({});
  mod.destroy();
  const base64 = Buffer.from(buffer).toString('base64');
  return `// Generated from kernels.wat by scripts/build-kernels.mjs: do not edit.\nexport const KERNELS_WASM_BASE64 =\n  '${base64}';\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(TARGET, await kernelsModule());
  console.log(`wrote ${TARGET}`);
}
