// The source tree has no import cycles (type-only imports are erased at run time and do not
// count), checked with madge, the same tool and settings as `npx madge --circular src`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import madge from 'madge';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('src/ has no import cycles', async () => {
  const config = JSON.parse(readFileSync(`${ROOT}.madgerc`, 'utf8'));
  const graph = await madge(`${ROOT}src`, { ...config, baseDir: ROOT, tsConfig: `${ROOT}tsconfig.json` });
  assert.ok(Object.keys(graph.obj()).length > 50, 'madge found too few modules: the check would pass vacuously');
  assert.deepEqual(graph.circular(), []);
});
