#!/usr/bin/env node
// The latentkit command. An installed package runs the compiled JavaScript in dist/; a clone of
// the repository (which has src/ and tsx, a dev dependency) runs the TypeScript sources directly,
// so edits take effect without a build.
import { existsSync } from 'node:fs';
import { exitWithParent, relaunch, shouldRelaunch } from './malloc-tuning.js';

// Relaunch with glibc malloc tuned (./malloc-tuning.js); the child comes back through here.
if (shouldRelaunch()) await relaunch();
exitWithParent();

const source = new URL('../src/cli/main.ts', import.meta.url);
const compiled = new URL('../dist/cli/main.js', import.meta.url);

async function loadTsx() {
  try {
    return await import('tsx/esm/api');
  } catch {
    return null;
  }
}

const tsx = existsSync(source) ? await loadTsx() : null;
if (tsx) {
  tsx.register();
  await import(source.href);
} else if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write('latentkit: error: no compiled CLI (dist/cli/main.js) and no tsx to run src/; run `npm run build` or `npm install`\n');
  process.exit(1);
}
