// Numbers where they enter a tabular run: statistics in float64 that survive huge values, values
// that overflow named by file, line and column, no NaN output with exit code 0, and
// reconstructions in the columns' own units.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { inferSchema, readCsv, TabularPreprocessor } from '../../src/data/tabular/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = () => tempDir('lk-tabnum-');

function csvFile(lines: string[]): string {
  const p = join(tmp(), 'data.csv');
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

function rows(n: number, a: (i: number) => string): string[] {
  const out = ['a,b,c'];
  for (let i = 0; i < n; i++) out.push(`${a(i)},${(i % 10) / 3},${['x', 'y'][i % 2]}`);
  return out;
}

test('a 1e300 cell: mean and std stay finite numbers (float64, scaled), the matrix stays finite', async () => {
  const p = csvFile(rows(50, (i) => (i === 7 ? '1e300' : String(i))));
  const t = await readCsv(p);
  const prep = TabularPreprocessor.fit(t, inferSchema(t));
  const ns = prep.numericState('a')!;
  assert.ok(Number.isFinite(ns.mean) && Number.isFinite(ns.std) && ns.std > 0, `mean ${ns.mean} std ${ns.std}`);
  assert.ok(Math.abs(ns.mean / 2e298 - 1) < 1e-9, `mean ${ns.mean}`);
  const j = JSON.parse(JSON.stringify(prep.toJSON()));
  assert.equal(typeof j.numeric[0].std, 'number');
  assert.ok(prep.transform(t).every(Number.isFinite));
});

test('1e309 (overflows float64) and a value that overflows float32 after the transform name file, line and column', async () => {
  const p = csvFile(rows(20, (i) => (i === 4 ? '1e309' : String(i))));
  const t = await readCsv(p);
  assert.throws(() => TabularPreprocessor.fit(t, inferSchema(t)), (e: Error) => {
    assert.match(e.message, new RegExp(`^${p}: line 6, column 1 \\("a"\\): "1e309" is beyond the largest number`));
    return true;
  });
  const q = csvFile(rows(20, (i) => (i === 4 ? '1e300' : String(i))));
  const tq = await readCsv(q);
  const prep = TabularPreprocessor.fit(tq, inferSchema(tq), undefined, { numeric: 'none' });
  assert.throws(() => prep.transform(tq), new RegExp(`${q}: line 6, column 1 \\("a"\\): 1e\\+300 .*32-bit`));
});

test('a 200 MB-like cell in an error is quoted by a short prefix only', async () => {
  const long = '9'.repeat(5000) + 'x';
  const p = csvFile(rows(20, (i) => (i === 3 ? long : String(i))));
  const t = await readCsv(p);
  assert.throws(() => TabularPreprocessor.fit(t, inferSchema(t, { overrides: { a: 'numeric' } })), (e: Error) => {
    assert.match(e.message, /line 5, column 1/);
    assert.ok(e.message.length < 400, `${e.message.length} chars`);
    return true;
  });
});

test('train-tabular then encode-tabular: 1e300 trains to finite output; recon is in original units unless --standardised', () => {
  const p = csvFile(rows(120, (i) => (i === 7 ? '1e300' : String(i * 10))));
  const out = join(tmp(), 'run');
  const tr = runCli(['train-tabular', p, '--preset', 'mlp', '--hidden', '8', '--bottleneck', '2', '--epochs', '2', '--out', out, '--no-progress']);
  assert.equal(tr.code, 0, tr.err);
  assert.doesNotMatch(tr.out, /NaN|null/);
  const clean = csvFile(rows(30, (i) => String(i * 10)));
  const recon = join(tmp(), 'recon.csv');
  const en = runCli(['encode-tabular', out, clean, '--what', 'recon', '-o', recon]);
  assert.equal(en.code, 0, en.err);
  const lines = readFileSync(recon, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'a,b,c');
  const cells = lines.slice(1).map((l) => l.split(','));
  assert.ok(cells.every((r) => r[2] === 'x' || r[2] === 'y'), 'categories come back as categories');
  // Column b holds 0..3 in its own units; standardised scores would be centred on 0 with some negative.
  assert.ok(cells.every((r) => Number.isFinite(Number(r[1]))));
  const std = join(tmp(), 'std.csv');
  assert.equal(runCli(['encode-tabular', out, clean, '--what', 'recon', '--standardised', '-o', std]).code, 0);
  // Standardised: column c (binary) as a logit, not a category.
  const stdCells = readFileSync(std, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  assert.ok(stdCells.every((r) => Number.isFinite(Number(r[2]))), 'logits');
  // The numeric column comes back in its own units: scores x std + mean.
  const mean = (rs: string[][], k: number) => rs.reduce((a, r) => a + Number(r[k]), 0) / rs.length;
  assert.ok(Math.abs(mean(cells, 1) - mean(stdCells, 1)) > 0.1, `own units ${mean(cells, 1)} vs standardised ${mean(stdCells, 1)}`);
});

test('encode-tabular with a value that overflows the run\'s scale: an error naming the line, not NaN output with exit 0', () => {
  const p = csvFile(rows(60, (i) => String(i)));
  const out = join(tmp(), 'run');
  assert.equal(runCli(['train-tabular', p, '--preset', 'mlp', '--hidden', '4', '--bottleneck', '2', '--epochs', '1', '--out', out, '--no-progress']).code, 0);
  const bad = csvFile(rows(5, (i) => (i === 2 ? '1e308' : String(i))));
  const r = runCli(['encode-tabular', out, bad, '-o', join(tmp(), 'codes.csv')]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /line 4, column 1 \("a"\)/);
});
