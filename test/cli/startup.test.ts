// Start-up: help and usage errors load no engine. Commands import their work (onnxruntime,
// sharp, fastify, Parquet, CSV) when they run, so `latentkit --help` answers at once.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { BIN } from '../helpers/cli.js';

const HOOK = new URL('../helpers/import-log.mjs', import.meta.url).pathname;
const HEAVY = ['onnxruntime-node', 'sharp', 'fastify', 'hyparquet', 'hyparquet-writer', 'csv-parse', 'pngjs', 'hnswlib-node'];

function importsOf(args: string[]): { code: number | null; packages: Set<string> } {
  const r = spawnSync(process.execPath, ['--import', HOOK, BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, packages: new Set([...r.stderr.matchAll(/^import (\S+)$/gm)].map((m) => m[1]!)) };
}

test('--help, a command\'s --help and a usage error load none of the heavy packages', () => {
  for (const args of [['--help'], ['serve', '--help'], ['train', '--help'], ['compress', '--help'], ['train', '--no-such-flag']]) {
    const { code, packages } = importsOf(args);
    assert.equal(code, args.includes('--no-such-flag') ? 2 : 0, args.join(' '));
    assert.ok(packages.has('commander'), `the hook saw no imports for ${args.join(' ')}: the check would pass vacuously`);
    assert.deepEqual(HEAVY.filter((p) => packages.has(p)), [], `latentkit ${args.join(' ')}`);
  }
});

test('a command that runs still loads what it needs', () => {
  const { code, packages } = importsOf(['explain', 'conv-transpose']);
  assert.equal(code, 0);
  assert.ok(packages.has('onnxruntime-node'), 'explain checks its result with onnxruntime');
});
