// Tables read in chunks: the chunked reader gives the whole-table reader's cells and line numbers,
// one-pass column statistics give the in-memory schema and preprocessor, and errors still name
// file, line and column.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parquetWriteFile } from 'hyparquet-writer';
import {
  ColumnStats, inferSchema, inferSchemaFrom, mergeMoments, meanStd, readTable, streamTable, TabularPreprocessor, type RawTable,
} from '../../src/data/tabular/index.js';
import { Rng } from '../../src/util/random.js';
import { tempDir } from '../helpers/tmp.js';

/** A CSV with numbers, a binary, a categorical and missing cells (some rows quoted). */
function writeCsv(dir: string, n = 103): string {
  const rng = new Rng(5);
  const lines = ['x,y,flag,color,note'];
  for (let i = 0; i < n; i++) {
    const x = (rng.normal() * 3 + 1).toFixed(3);
    const y = i % 9 === 0 ? 'NA' : (rng.uniform() * 100).toFixed(2);
    const flag = i % 2 ? 'yes' : 'no';
    const color = ['red', 'green', 'blue', ''][i % 4];
    lines.push(`${x},${y},${flag},${color},"id ${i}, quoted"`);
  }
  const path = join(dir, 't.csv');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

async function chunks(path: string, chunkRows: number): Promise<RawTable[]> {
  const out: RawTable[] = [];
  for await (const c of streamTable(path, { chunkRows })) out.push(c);
  return out;
}

test('CSV in chunks: the same cells and line numbers as the whole-table reader, chunk sizes as asked', async () => {
  const path = writeCsv(tempDir());
  const whole = await readTable(path);
  const parts = await chunks(path, 10);
  assert.deepEqual(parts.map((p) => p.nRows), [...Array(10).fill(10), 3]);
  assert.deepEqual(parts[0]!.columns, whole.columns);
  for (let c = 0; c < whole.columns.length; c++) assert.deepEqual(parts.flatMap((p) => p.data[c]!), whole.data[c]);
  assert.deepEqual(parts.flatMap((p) => [...p.rowNumbers]), [...whole.rowNumbers]);
  assert.equal(parts[1]!.rowNumbers[0], 12, 'line 12 holds the 11th data row');
  // --limit is honoured across chunks.
  const limited: RawTable[] = [];
  for await (const c of streamTable(path, { chunkRows: 10, limit: 25 })) limited.push(c);
  assert.deepEqual(limited.map((p) => p.nRows), [10, 10, 5]);
});

test('Parquet by row groups, cut into chunks: the same cells as the whole-file reader, row numbers continue', async () => {
  const dir = tempDir();
  const path = join(dir, 't.parquet');
  const n = 250;
  parquetWriteFile({
    filename: path,
    columnData: [
      { name: 'x', data: Float64Array.from({ length: n }, (_, i) => i * 0.5) },
      { name: 'c', data: Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : ['a', 'b'][i % 2]!)) },
    ],
    rowGroupSize: 100,
  });
  const whole = await readTable(path);
  const parts = await chunks(path, 30);
  // Row groups of 100, 100, 50, each cut into chunks of at most 30.
  assert.deepEqual(parts.map((p) => p.nRows), [30, 30, 30, 10, 30, 30, 30, 10, 30, 20]);
  for (let c = 0; c < 2; c++) assert.deepEqual(parts.flatMap((p) => p.data[c]!), whole.data[c]);
  assert.deepEqual(parts.flatMap((p) => [...p.rowNumbers]), [...whole.rowNumbers]);
});

test('streamed errors name the file, the line and the column: a ragged row, text in a numeric column, a missing file', async () => {
  const dir = tempDir();
  const path = join(dir, 'bad.csv');
  writeFileSync(path, ['a,b', ...Array.from({ length: 30 }, (_, i) => `${i},${i * 2}`), '31', '32,64'].join('\n') + '\n');
  await assert.rejects(chunks(path, 7), (e: Error) => e.message.startsWith(`${path}: line 32: 1 fields`) && /column 2 \("b"\) is missing/.test(e.message));
  const text = join(dir, 'text.csv');
  writeFileSync(text, ['a,b', ...Array.from({ length: 40 }, (_, i) => `${i},${i === 33 ? 'oops' : i}`)].join('\n') + '\n');
  const stats = new ColumnStats(text);
  for await (const c of streamTable(text, { chunkRows: 8 })) stats.add(c);
  assert.throws(() => inferSchemaFrom(stats, stats.summaries()), (e: Error) => e.message.startsWith(`${text}: line 35, column 2 ("b"): "oops" is not a number`));
  // Declared numeric, the same cell is named by the preprocessor fitted from statistics.
  const schema = inferSchemaFrom(stats, stats.summaries(), { overrides: { b: 'categorical' } });
  assert.throws(() => TabularPreprocessor.fitStats(stats, { columns: schema.columns.map((c) => ({ ...c, type: 'numeric' as const })) }), /line 35, column 2 \("b"\): "oops" is not a number/);
  await assert.rejects(chunks(join(dir, 'nope.csv'), 5), (e: Error) => e.message.startsWith(`${join(dir, 'nope.csv')}: cannot read`));
});

test('column statistics gathered in chunks equal the in-memory ones; the schema is the same', async () => {
  const path = writeCsv(tempDir());
  const whole = await readTable(path);
  const streamed = new ColumnStats(path, { sample: Infinity });
  for await (const c of streamTable(path, { chunkRows: 7 })) streamed.add(c);
  const mem = ColumnStats.of(whole);
  assert.equal(streamed.nRows, 103);
  for (let c = 0; c < whole.columns.length; c++) {
    const a = streamed.cols[c]!, b = mem.cols[c]!;
    assert.deepEqual([a.missing, a.numbers, a.distinct, a.min, a.max, a.moments.n], [b.missing, b.numbers, b.distinct, b.min, b.max, b.moments.n]);
    assert.deepEqual(a.keys, b.keys);
    assert.ok(Math.abs(a.moments.mean - b.moments.mean) <= 1e-12 * Math.max(1, Math.abs(b.moments.mean)), `mean of ${whole.columns[c]}`);
    assert.ok(Math.abs(a.moments.std - b.moments.std) <= 1e-12 * Math.max(1, b.moments.std), `std of ${whole.columns[c]}`);
    assert.deepEqual(a.sample, b.sample, 'the sample holds every value in file order');
  }
  assert.deepEqual(inferSchemaFrom(streamed, streamed.summaries()), inferSchema(whole));
  // The in-memory moments are the two-pass ones.
  const x = whole.data[0]!.map(Number);
  assert.deepEqual(mem.cols[0]!.moments, { n: x.length, ...meanStd(x) });
});

test('the preprocessor fitted from streamed statistics equals the in-memory fit (standardise, RankGauss, categories, missing)', async () => {
  const path = writeCsv(tempDir());
  const whole = await readTable(path);
  const schema = inferSchema(whole);
  for (const numeric of ['standard', 'rankgauss'] as const) {
    const mem = TabularPreprocessor.fit(whole, schema, undefined, { numeric });
    // One chunk holding the table: exactly the in-memory preprocessor.
    const one = new ColumnStats(path, { sample: Infinity });
    for await (const c of streamTable(path, { chunkRows: 1000 })) one.add(c);
    assert.deepEqual(TabularPreprocessor.fitStats(one, schema, { numeric }).toJSON(), mem.toJSON());
    // Small chunks: categories, binaries, missing flags and RankGauss knots exact; mean and std to float64 rounding.
    const many = new ColumnStats(path, { sample: Infinity });
    for await (const c of streamTable(path, { chunkRows: 6 })) many.add(c);
    const s = TabularPreprocessor.fitStats(many, schema, { numeric }).toJSON(), m = mem.toJSON();
    assert.deepEqual([s.categorical, s.binary, s.missing, s.fittedRows], [m.categorical, m.binary, m.missing, m.fittedRows]);
    s.numeric.forEach((ns, j) => {
      const ms = m.numeric[j]!;
      assert.deepEqual([ns.knotsX, ns.knotsZ, ns.shift], [ms.knotsX, ms.knotsZ, ms.shift]);
      assert.ok(Math.abs(ns.mean - ms.mean) < 1e-12 * Math.max(1, Math.abs(ms.mean)) && Math.abs(ns.std - ms.std) < 1e-12 * ms.std, `${ns.column}: ${ns.mean}/${ms.mean}, ${ns.std}/${ms.std}`);
    });
    const a = TabularPreprocessor.fitStats(many, schema, { numeric }).transform(whole), b = mem.transform(whole);
    assert.ok(a.every((v, i) => Math.abs(v - b[i]!) < 1e-6));
  }
});

test('moments merge without overflow at 1e300; the reservoir sample is capped, seeded and spans the stream', () => {
  const big = [1e300, -1e300, 3e299, 5e299];
  const merged = mergeMoments({ n: 2, ...meanStd(big.slice(0, 2)) }, { n: 2, ...meanStd(big.slice(2)) });
  const ref = meanStd(big);
  assert.ok(Number.isFinite(merged.std) && Math.abs(merged.std - ref.std) < 1e-12 * ref.std && Math.abs(merged.mean - ref.mean) < 1e-12 * Math.abs(ref.std));
  const rows = (from: number, n: number) => ({ source: 'mem', format: 'memory' as const, columns: ['v'], data: [Array.from({ length: n }, (_, i) => from + i)], nRows: n, rowNumbers: Int32Array.from({ length: n }, (_, i) => from + i + 1) });
  const gather = (seed: number) => {
    const s = new ColumnStats('mem', { sample: 500, seed });
    for (let from = 0; from < 20_000; from += 1000) s.add(rows(from, 1000));
    return s.cols[0]!.sample;
  };
  const a = gather(1);
  assert.equal(a.length, 500);
  assert.deepEqual(gather(1), a, 'same seed, same sample');
  assert.notDeepEqual(gather(2), a);
  // A uniform sample of 0..19999: its mean is near 10000 and it reaches both ends of the stream.
  const mean = a.reduce((x, y) => x + y, 0) / a.length;
  assert.ok(Math.abs(mean - 10_000) < 1000, `sample mean ${mean}`);
  assert.ok(Math.min(...a) < 2000 && Math.max(...a) > 18_000);
});

test('distinct counting stops at the cap: the schema says so, and a categorical column past it is refused when fitting', async () => {
  const dir = tempDir();
  const path = join(dir, 'ids.csv');
  writeFileSync(path, ['id,n', ...Array.from({ length: 60 }, (_, i) => `u${i},${i}`)].join('\n') + '\n');
  const s = new ColumnStats(path, { maxKeys: 20 });
  for await (const c of streamTable(path, { chunkRows: 16 })) s.add(c);
  // The cap is above maxCategories (as statsPass sets it), so a capped text column is an identifier.
  const schema = inferSchemaFrom(s, s.summaries(), { maxCategories: 10 });
  assert.equal(schema.columns[0]!.type, 'ignore');
  assert.match(schema.columns[1]!.reason, /more than 20 distinct values/);
  const forced = inferSchemaFrom(s, s.summaries(), { overrides: { id: 'categorical' } });
  assert.throws(() => TabularPreprocessor.fitStats(s, forced), /column "id" has more than 20 distinct values/);
});
