// Tabular data: reading CSV/Parquet, schema inference and overrides, preprocessing fitted on the
// training rows only, unknown categories, missing values, clear errors.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parquetWriteFile } from 'hyparquet-writer';
import {
  encodeTarget, inferSchema, kFold, normalQuantile, parseCsv, readCsv, readParquet, readSchemaOverrides, readTable,
  selectRows, tableFromRows, TabularPreprocessor,
} from '../../src/data/tabular/index.js';
import { Rng } from '../../src/util/random.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = () => tempDir('lk-tab-');

function writeCsv(text: string): string {
  const p = join(tmp(), 'data.csv');
  writeFileSync(p, text);
  return p;
}

test('CSV: header, line numbers, missing tokens, quoted fields', () => {
  const t = parseCsv('a,b,c\n1,x,"hello, world"\n\n2,NA,"two\nlines"\n3,,z\n', 'mem.csv');
  assert.deepEqual(t.columns, ['a', 'b', 'c']);
  assert.equal(t.nRows, 3);
  assert.deepEqual(Array.from(t.rowNumbers), [2, 5, 6]);
  assert.deepEqual(t.data[1], ['x', null, null]);
  assert.equal(t.data[2]![0], 'hello, world');
  const noHead = parseCsv('569,30,m,b\n1,2,0\n3,4,1\n', 'sk.csv', { header: false, skipLines: 1 });
  assert.deepEqual(noHead.columns, ['col1', 'col2', 'col3']);
  assert.equal(noHead.nRows, 2);
});

test('a ragged CSV row names the file, the line and the missing column', () => {
  const p = writeCsv('id,age,city\n1,30,Oslo\n2,41\n');
  assert.throws(() => readCsv(p), (e: Error) => e.message.includes(p) && /line 3\b/.test(e.message) && e.message.includes('column 3 ("city") is missing'));
  const extra = writeCsv('id,age\n1,30\n2,41,x\n');
  assert.throws(() => readCsv(extra), (e: Error) => /line 3: 3 fields, but the header has 2: column 3 is extra/.test(e.message));
});

test('text in a numeric column names the file, the line and the column', () => {
  const rows = Array.from({ length: 30 }, (_, i) => `${i},${(i * 1.5).toFixed(1)}`);
  rows[17] = '17,abc';
  const p = writeCsv(`id,income\n${rows.join('\n')}\n`);
  const t = readCsv(p);
  assert.throws(() => inferSchema(t), (e: Error) => e.message.startsWith(`${p}: line 19, column 2 ("income"): "abc" is not a number`));
  // Declared numeric in the schema: the same message, whatever the share of numbers.
  const few = readCsv(writeCsv('x\n1\nabc\ndef\n2\n'));
  assert.throws(() => inferSchema(few, { overrides: { x: 'numeric' } }), /line 3, column 1 \("x"\): "abc" is not a number.*declared in the schema/);
  // A schema fitted on clean rows still refuses text at transform time.
  const clean = tableFromRows([{ x: 1 }, { x: 2 }, { x: 3 }]);
  const prep = TabularPreprocessor.fit(clean, inferSchema(clean));
  const bad = parseCsv('x\n1\n2\nfoo\n', 'new.csv');
  assert.throws(() => prep.transform(bad), /new\.csv: line 4, column 1 \("x"\): "foo" is not a number/);
});

test('an all-missing column is refused by name (or left out when declared "ignore")', () => {
  const p = writeCsv('a,b\n1,\n2,NA\n3,\n');
  const t = readCsv(p);
  assert.throws(() => inferSchema(t), (e: Error) => e.message.includes(p) && e.message.includes('column 2 ("b") has no values') && e.message.includes('"ignore"'));
  const s = inferSchema(t, { overrides: { b: 'ignore' } });
  assert.equal(s.columns[1]!.type, 'ignore');
});

test('schema inference: numeric, binary, categorical, ignore; overrides from JSON', () => {
  const rows = Array.from({ length: 60 }, (_, i) => ({
    age: 20 + (i % 37),
    smoker: i % 3 === 0 ? 'yes' : 'no',
    flag: i % 2,
    color: ['red', 'green', 'blue'][i % 3]!,
    id: `user-${i}`,
    constant: 7,
    zip: [1000, 2000, 3000, 4000][i % 4]!,
    income: i % 10 === 0 ? null : 1000 + 37 * i,
  }));
  const t = tableFromRows(rows);
  const s = inferSchema(t);
  const type = (n: string) => s.columns.find((c) => c.name === n)!;
  assert.equal(type('age').type, 'numeric');
  assert.equal(type('smoker').type, 'binary');
  assert.deepEqual(type('smoker').categories, ['no', 'yes']);
  assert.equal(type('flag').type, 'binary');
  assert.equal(type('color').type, 'categorical');
  assert.equal(type('id').type, 'ignore');
  assert.equal(type('constant').type, 'ignore');
  assert.equal(type('zip').type, 'numeric');
  assert.equal(type('income').type, 'numeric');
  assert.equal(type('income').missing, 6);

  const f = join(tmp(), 'schema.json');
  writeFileSync(f, JSON.stringify({ zip: 'categorical', age: { type: 'numeric', transform: 'rankgauss' }, color: 'ignore' }));
  const s2 = inferSchema(t, { overrides: readSchemaOverrides(f) });
  assert.equal(s2.columns.find((c) => c.name === 'zip')!.type, 'categorical');
  assert.equal(s2.columns.find((c) => c.name === 'age')!.transform, 'rankgauss');
  assert.equal(s2.columns.find((c) => c.name === 'color')!.type, 'ignore');
  // The format `latentkit schema -o` writes is accepted back.
  writeFileSync(f, JSON.stringify(s2));
  assert.equal(inferSchema(t, { overrides: readSchemaOverrides(f) }).columns.find((c) => c.name === 'zip')!.type, 'categorical');
  writeFileSync(f, JSON.stringify({ zip: 'text' }));
  assert.throws(() => readSchemaOverrides(f), /column "zip": unknown type "text"/);
  assert.throws(() => inferSchema(t, { overrides: { nope: 'numeric' } }), /no such column/);
  assert.throws(() => inferSchema(t, { overrides: { color: 'binary' } }), /declared binary but has 3 distinct values/);
});

test('preprocessing is fitted on the training rows only and round-trips through JSON', () => {
  const rng = new Rng(4);
  const rows = Array.from({ length: 200 }, (_, i) => ({ x: i < 150 ? rng.normal() * 2 + 5 : 1000 + i, c: i < 150 ? ['a', 'b'][i % 2]! : 'z' + (i % 3) }));
  const t = tableFromRows(rows);
  const s = inferSchema(t, { overrides: { c: 'categorical' } });
  const train = Int32Array.from({ length: 150 }, (_, i) => i);
  const prep = TabularPreprocessor.fit(t, s, train);
  const xs = rows.slice(0, 150).map((r) => r.x as number);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  assert.ok(Math.abs(prep.state.numeric[0]!.mean - mean) < 1e-9, 'mean from the training rows only');
  assert.ok(Math.abs(prep.state.numeric[0]!.std - sd) < 1e-9);
  // Categories seen only outside the training rows are not categories: they go to "unknown".
  assert.deepEqual([...prep.state.categorical[0]!.categories].sort(), ['a', 'b']);
  const W = prep.width;
  assert.equal(W, 1 + 3);
  const xtr = prep.transform(t, train);
  let m = 0;
  for (let i = 0; i < 150; i++) m += xtr[i * W]! / 150;
  assert.ok(Math.abs(m) < 1e-5);
  const xte = prep.transform(t, [160]);
  assert.deepEqual(Array.from(xte.subarray(1)), [0, 0, 1], 'unseen category -> unknown slot');
  assert.ok(Math.abs(xte[0]! - (1160 - mean) / sd) < 1e-3);
  const again = TabularPreprocessor.fromJSON(JSON.parse(JSON.stringify(prep.toJSON())));
  assert.deepEqual(Array.from(again.transform(t)), Array.from(prep.transform(t)));
  assert.deepEqual(prep.featureNames(), ['x', ...prep.state.categorical[0]!.categories.map((k) => `c=${k}`), 'c=<unknown>']);
  const p = join(tmp(), 'prep.json');
  prep.save(p);
  assert.deepEqual(Array.from(TabularPreprocessor.load(p).transform(t, [3])), Array.from(prep.transform(t, [3])));
});

test('missing values: indicator columns, imputation, never NaN', () => {
  const t = tableFromRows([
    { n: 1, b: 'y', c: 'p' },
    { n: null, b: 'n', c: 'q' },
    { n: 3, b: null, c: null },
    { n: 5, b: 'y', c: 'r' },
  ]);
  const prep = TabularPreprocessor.fit(t, inferSchema(t));
  const L = prep.layout;
  assert.deepEqual(L.numeric, [0, 1]);
  assert.deepEqual(L.binary, [1, 1]);
  assert.deepEqual(L.missing, [2, 3]);
  assert.deepEqual(L.categorical, [{ column: 'c', offset: 5, size: 4 }]);
  const x = prep.transform(t);
  assert.ok(x.every((v) => Number.isFinite(v)));
  const W = prep.width;
  assert.equal(x[1 * W + 0], 0, 'missing numeric -> training mean (0 after standardising)');
  assert.equal(x[1 * W + 2], 1, 'numeric missing indicator');
  assert.ok(Math.abs(x[2 * W + 1]! - 2 / 3) < 1e-6, 'missing binary -> training share of ones');
  assert.equal(x[2 * W + 3], 1);
  assert.equal(x[2 * W + 4], 1, 'categorical missing indicator');
  assert.equal(x[2 * W + 8], 1, 'missing category -> unknown slot');
  assert.deepEqual(Array.from(prep.missingMask(t, [2])), [0, 1, 1]);
  // A table with no missing values in training gets no indicators; missing later is imputed.
  const full = tableFromRows([{ n: 1 }, { n: 2 }, { n: 4 }]);
  const p2 = TabularPreprocessor.fit(full, inferSchema(full), undefined, { numeric: 'none' });
  assert.equal(p2.width, 1);
  assert.ok(Math.abs(p2.transform(tableFromRows([{ n: null }]))[0]! - 7 / 3) < 1e-6);
});

test('RankGauss: rank -> uniform -> inverse normal CDF, monotone, inverse maps back', () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-5);
  assert.ok(Math.abs(normalQuantile(0.001) + 3.090232) < 1e-5);
  const rng = new Rng(9);
  // A skewed column (exponential with outliers) becomes close to standard normal.
  const vals = Array.from({ length: 1000 }, () => -Math.log(1 - rng.uniform()) * 100);
  vals[0] = 1e6;
  const t = tableFromRows(vals.map((v) => ({ v })));
  const prep = TabularPreprocessor.fit(t, inferSchema(t), undefined, { numeric: 'rankgauss' });
  const z = prep.transform(t);
  const mean = z.reduce((a, b) => a + b, 0) / z.length;
  const sd = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length);
  assert.ok(Math.abs(mean) < 1e-6, `mean ${mean}`);
  assert.ok(Math.abs(sd - 1) < 0.03, `sd ${sd}`);
  assert.ok(Math.max(...z) < 3.5, 'the outlier is tamed');
  const order = vals.map((v, i) => [v, z[i]!] as const).sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < order.length; i++) assert.ok(order[i]![1] >= order[i - 1]![1]);
  assert.ok(Math.abs(prep.inverseNumeric('v', z[5]!) - vals[5]!) < 1e-6 * Math.max(1, vals[5]!));
});

test('Parquet: read with hyparquet (numbers, strings, booleans, nulls), same schema as CSV', async () => {
  const p = join(tmp(), 'data.parquet');
  parquetWriteFile({
    filename: p,
    columnData: [
      { name: 'age', data: [30, 41, null, 25], type: 'INT32' },
      { name: 'score', data: [0.5, 1.5, 2.5, null], type: 'DOUBLE' },
      { name: 'city', data: ['Oslo', 'Rome', 'Oslo', 'Lima'], type: 'STRING' },
      { name: 'member', data: [true, false, true, true], type: 'BOOLEAN' },
    ],
  });
  const t = await readTable(p);
  assert.equal(t.format, 'parquet');
  assert.deepEqual(t.columns, ['age', 'score', 'city', 'member']);
  assert.deepEqual(t.data[0], [30, 41, null, 25]);
  assert.deepEqual(t.data[1], [0.5, 1.5, 2.5, null]);
  assert.deepEqual(t.data[3], [true, false, true, true]);
  const s = inferSchema(t);
  assert.deepEqual(s.columns.map((c) => c.type), ['numeric', 'numeric', 'categorical', 'binary']);
  const csv = parseCsv('age,score,city,member\n30,0.5,Oslo,true\n41,1.5,Rome,false\n,2.5,Oslo,true\n25,,Lima,true\n', 'same.csv');
  const a = TabularPreprocessor.fit(t, s), b = TabularPreprocessor.fit(csv, inferSchema(csv));
  assert.deepEqual(Array.from(a.transform(t)), Array.from(b.transform(csv)));
  await assert.rejects(readParquet(join(tmp(), 'none.parquet')), /none\.parquet: cannot read/);
});

test('targets and stratified folds', () => {
  const t = tableFromRows(Array.from({ length: 50 }, (_, i) => ({ y: i % 5 === 0 ? 'pos' : i === 7 ? null : 'neg', v: i * 0.5 })));
  const y = encodeTarget(t, 'y');
  assert.equal(y.task, 'classification');
  assert.deepEqual(y.classes, ['neg', 'pos']);
  assert.equal(y.rows.length, 49);
  assert.equal(y.dropped, 1);
  assert.equal(encodeTarget(t, 'v').task, 'regression');
  const folds = kFold(49, 5, 1, y.y);
  assert.deepEqual([...folds.flatMap((f) => Array.from(f))].sort((a, b) => a - b), Array.from({ length: 49 }, (_, i) => i));
  for (const f of folds) {
    const pos = Array.from(f).filter((i) => y.y[i] === 1).length;
    assert.ok(pos === 2, `each fold gets 2 of the 10 positives, got ${pos}`);
  }
  assert.equal(selectRows(t, [3, 4]).nRows, 2);
});
