// Training and encoding a table read in chunks: the hashed validation split, the shuffle buffer,
// train-tabular --stream on CSV and Parquet (and its resume), encode-tabular --stream against the
// in-memory encoding.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parquetWriteFile } from 'hyparquet-writer';
import { parquetReadObjects, asyncBufferFromFile } from 'hyparquet';
import { inferSchema, readTable, TabularPreprocessor } from '../../src/data/tabular/index.js';
import { encodeTable } from '../../src/tasks/tabular/encode.js';
import { isValidationRow, statsPass, TableBatches } from '../../src/tasks/tabular/stream.js';
import { loadTabularRun, trainTabular } from '../../src/tasks/tabular/tabular.js';
import { Rng } from '../../src/util/random.js';
import { tempDir } from '../helpers/tmp.js';

const N = 400;
function rows() {
  const rng = new Rng(9);
  return Array.from({ length: N }, (_, i) => {
    const z = rng.normal();
    return { a: +(z + 0.1 * rng.normal()).toFixed(4), b: i % 7 === 0 ? null : +(2 * z).toFixed(4), yes: z > 0 ? 'y' : 'n', color: z < -0.5 ? 'red' : z < 0.5 ? 'green' : 'blue' };
  });
}

function writeCsv(dir: string): string {
  const path = join(dir, 'data.csv');
  writeFileSync(path, ['a,b,yes,color', ...rows().map((r) => [r.a, r.b ?? '', r.yes, r.color].join(','))].join('\n') + '\n');
  return path;
}

function writeParquet(dir: string): string {
  const path = join(dir, 'data.parquet');
  const rs = rows();
  parquetWriteFile({
    filename: path,
    columnData: [
      { name: 'a', data: Float64Array.from(rs, (r) => r.a) },
      { name: 'b', data: rs.map((r) => r.b), type: 'DOUBLE' },
      { name: 'yes', data: rs.map((r) => r.yes) },
      { name: 'color', data: rs.map((r) => r.color) },
    ],
    rowGroupSize: 150,
  });
  return path;
}

test('hashed validation split: deterministic, near the asked share, different for another seed', () => {
  const pick = (seed: number) => Array.from({ length: 10_000 }, (_, i) => isValidationRow(i, seed, 0.2));
  const a = pick(0);
  const share = a.filter(Boolean).length / a.length;
  assert.ok(Math.abs(share - 0.2) < 0.015, `share ${share}`);
  assert.deepEqual(pick(0), a);
  assert.notDeepEqual(pick(1), a);
  assert.ok(!Array.from({ length: 100 }, (_, i) => isValidationRow(i, 0, 0)).some(Boolean));
});

test('streamed batches: every training row once per epoch, no validation row, shuffled beyond one chunk, the same order for the same epoch', async () => {
  const path = writeCsv(tempDir());
  const pass = await statsPass(path, { seed: 3, validFraction: 0.25, chunkRows: 50 });
  const prep = TabularPreprocessor.fitStats(pass.train, pass.schema);
  const source = new TableBatches(path, { seed: 3, validFraction: 0.25, chunkRows: 50, prep, batchSize: 32, shuffleBuffer: 100, rows: pass.trainRows });
  const order = async (e: number) => {
    const ids: number[] = [];
    for await (const b of source.epoch(e)) {
      assert.equal(b.x.length, b.n * prep.width);
      ids.push(...b.indices);
    }
    return ids;
  };
  const e0 = await order(0);
  const expected = Array.from({ length: N }, (_, i) => i).filter((i) => !isValidationRow(i, 3, 0.25));
  assert.equal(pass.trainRows, expected.length);
  assert.deepEqual([...e0].sort((x, y) => x - y), expected);
  assert.deepEqual(await order(0), e0);
  assert.notDeepEqual(await order(1), e0);
  // Rows travel further than the chunk they were read in.
  assert.ok(e0.slice(0, 32).some((r) => r >= 100), `first batch ${e0.slice(0, 32)}`);
  // The batch rows are the preprocessed rows of the table.
  const whole = await readTable(path);
  const first = (await source.epoch(0)[Symbol.asyncIterator]().next()).value!;
  assert.deepEqual(first.x.subarray(0, prep.width), prep.transform(whole, [first.indices[0]!]));
  // The evaluation rows kept by the pass are the hashed validation rows, in file order.
  assert.deepEqual([...pass.evalRows!.rowNumbers], Array.from({ length: N }, (_, i) => i).filter((i) => isValidationRow(i, 3, 0.25)).map((i) => i + 2));
});

for (const kind of ['csv', 'parquet'] as const) {
  test(`train-tabular --stream on ${kind}: trains, writes the run folder, resumes where it stopped`, async () => {
    const dir = tempDir('lk-ts-');
    const path = kind === 'csv' ? writeCsv(dir) : writeParquet(dir);
    const out = join(dir, 'run');
    const base = { path, preset: 'dae-tabular', model: { hidden: [16], bottleneck: 8 }, batchSize: 32, lr: 3e-3, out, progress: false, log: () => {}, stream: { chunkRows: 64, shuffleBuffer: 128 } };
    const r = await trainTabular({ ...base, epochs: 2 });
    assert.equal(r.history.length, 2);
    const valid = Array.from({ length: N }, (_, i) => i).filter((i) => isValidationRow(i, 0, 0.2)).length;
    assert.equal(r.errorsOn, 'valid');
    assert.equal(JSON.parse(readFileSync(join(out, 'column-errors.json'), 'utf8')).count, valid);
    assert.ok(r.history[1]!.valid.loss! < r.history[0]!.valid.loss!, 'valid loss falls');
    assert.equal(r.history[0]!.steps, Math.ceil((N - valid) / 32) - ((N - valid) % 32 === 1 ? 1 : 0));
    // The schema and preprocessor are those of the whole table (training rows only for the preprocessor).
    const whole = await readTable(path);
    assert.deepEqual(JSON.parse(JSON.stringify(r.schema)), JSON.parse(JSON.stringify(inferSchema(whole))));
    const trainRows = Array.from({ length: N }, (_, i) => i).filter((i) => !isValidationRow(i, 0, 0.2));
    assert.deepEqual(r.prep.state.categorical, TabularPreprocessor.fit(whole, inferSchema(whole), trainRows).state.categorical);
    const resumed = await trainTabular({ ...base, epochs: 3, resume: true });
    assert.deepEqual(resumed.history.map((h) => h.epoch), [1, 2, 3]);
    assert.deepEqual(resumed.history.slice(0, 2), r.history.map((h) => ({ ...h })), 'the first two epochs are kept');
    assert.equal(resumed.history[2]!.steps, 3 * r.history[0]!.steps);
  });
}

test('encode-tabular --stream writes what the in-memory encoding writes (CSV), and Parquet with the same values', async () => {
  const dir = tempDir('lk-te-');
  const path = writeCsv(dir);
  const out = join(dir, 'run');
  await trainTabular({ path, preset: 'dae-tabular', model: { hidden: [16], bottleneck: 8 }, epochs: 1, batchSize: 32, out, progress: false, log: () => {} });
  const run = loadTabularRun(out);
  for (const what of ['code', 'recon'] as const) {
    const mem = join(dir, `${what}-mem.csv`), str = join(dir, `${what}-stream.csv`), pq = join(dir, `${what}.parquet`);
    assert.deepEqual(await encodeTable({ run, path, what, output: mem }), { rows: N, size: what === 'code' ? 8 : run.prep.width });
    await encodeTable({ run, path, what, output: str, chunkRows: 37 });
    await encodeTable({ run, path, what, output: pq, chunkRows: 37 });
    const text = readFileSync(mem, 'utf8');
    assert.equal(readFileSync(str, 'utf8'), text);
    const lines = text.trim().split('\n');
    assert.equal(lines.length, N + 1);
    const back = (await parquetReadObjects({ file: await asyncBufferFromFile(pq) })) as Record<string, unknown>[];
    assert.equal(back.length, N);
    const head = lines[0]!.split(',');
    assert.deepEqual(Object.keys(back[0]!), head);
    // Recon is decoded to the table's own terms by default: category names, not logits.
    if (what === 'recon') assert.deepEqual(head, ['a', 'b', 'yes', 'color']);
    for (const i of [0, 123, N - 1]) {
      const csv = lines[i + 1]!.split(',');
      head.forEach((h, j) => {
        const v = back[i]![h];
        if (typeof v === 'string') assert.equal(v, csv[j]);
        else assert.ok(Math.abs(Number(v) - Number(csv[j])) <= 1e-5 * Math.max(1, Math.abs(Number(v))), `${h} row ${i}: ${v} vs ${csv[j]}`);
      });
    }
  }
  // A failure leaves no file under the target's name, and no temp file beside it.
  const { readdirSync, existsSync } = await import('node:fs');
  const bad = join(dir, 'bad.csv');
  writeFileSync(bad, readFileSync(path, 'utf8') + 'oops,1,y,red\n');
  await assert.rejects(encodeTable({ run, path: bad, what: 'code', output: join(dir, 'never.csv'), chunkRows: 50 }), /line 402, column 1 \("a"\): "oops" is not a number/);
  assert.ok(!existsSync(join(dir, 'never.csv')));
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('the command line: schema --stream prints the in-memory schema; train-tabular --stream names file, line and column of a bad cell', async () => {
  const { runCli } = await import('../helpers/cli.js');
  const dir = tempDir('lk-tc-');
  const path = writeCsv(dir);
  const mem = runCli(['schema', path, '--json']), str = runCli(['schema', path, '--stream', '--chunk-rows', '50', '--json']);
  assert.equal(str.code, 0, str.err);
  assert.deepEqual(JSON.parse(str.out), JSON.parse(mem.out));
  const bad = join(dir, 'bad.csv');
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  lines[300] = 'oops' + lines[300]!.slice(lines[300]!.indexOf(','));
  writeFileSync(bad, lines.join('\n') + '\n');
  const r = runCli(['train-tabular', bad, '--stream', '--chunk-rows', '64', '--epochs', '1', '--out', join(dir, 'run'), '--no-progress']);
  assert.notEqual(r.code, 0);
  assert.match(r.err, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: line 301, column 1 \\("a"\\): "oops" is not a number`));
});

/** A one-epoch DAE run on the small test table: its folder, the table's path and the run's. */
async function smallRun(prefix: string): Promise<{ dir: string; path: string; out: string }> {
  const dir = tempDir(prefix);
  const path = writeCsv(dir);
  const out = join(dir, 'run');
  await trainTabular({ path, preset: 'dae-tabular', model: { hidden: [16], bottleneck: 8 }, epochs: 1, batchSize: 32, out, progress: false, log: () => {} });
  return { dir, path, out };
}

test('encode-tabular --stream shows its progress (rows/s and ETA on stderr), and --no-progress silences it', async () => {
  const { runCli } = await import('../helpers/cli.js');
  const { dir, path, out } = await smallRun('lk-tp-');
  const shown = runCli(['encode-tabular', out, path, '--stream', '--chunk-rows', '50', '-o', join(dir, 'codes.csv')]);
  assert.equal(shown.code, 0, shown.err);
  assert.match(shown.err, /encoding .* \d+\/1000 \d+ rows\/s ETA \d+s/);
  assert.doesNotMatch(shown.err, /loss/, 'encoding has no loss to show');
  const quiet = runCli(['encode-tabular', out, path, '--stream', '--chunk-rows', '50', '--no-progress', '-o', join(dir, 'codes2.csv')]);
  assert.equal(quiet.code, 0, quiet.err);
  assert.doesNotMatch(quiet.err, /rows\/s/);
  assert.equal(readFileSync(join(dir, 'codes2.csv'), 'utf8'), readFileSync(join(dir, 'codes.csv'), 'utf8'));
});

test('column-errors --stream reports what column-errors reports on the whole table', async () => {
  const { runCli } = await import('../helpers/cli.js');
  const { path, out } = await smallRun('lk-tce-');
  const whole = runCli(['column-errors', out, path, '--json']), streamed = runCli(['column-errors', out, path, '--stream', '--chunk-rows', '37', '--json']);
  assert.equal(streamed.code, 0, streamed.err);
  const w = JSON.parse(whole.out), s = JSON.parse(streamed.out);
  assert.equal(s.rows, N);
  assert.equal(s.columns.length, w.columns.length);
  s.columns.forEach((c: Record<string, number | string>, k: number) => {
    for (const [key, v] of Object.entries(w.columns[k] as Record<string, number | string>))
      if (typeof v === 'number') assert.ok(Math.abs((c[key] as number) - v) <= 1e-9 * Math.max(1, Math.abs(v)), `${c.column} ${key}: ${c[key]} vs ${v}`);
      else assert.equal(c[key], v);
  });
});
