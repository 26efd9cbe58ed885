// The whole tree (library, tests, benchmarks) type-checks under strict settings: tsx runs the
// code without checking types, so this is where a type error fails CI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('tsc -p tsconfig.check.json reports no errors', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.check.json'], { cwd: root, encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
