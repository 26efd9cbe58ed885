// Sequence data: Moving Fashion-MNIST, CSV time series (windows, normalisation, errors),
// anomaly injection and AUROC; and the sequence commands end to end on a small CSV.
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { PNG } from 'pngjs';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { auroc } from '../../src/metrics/ranking.js';
import { fitNormalizer, injectAnomalies, MovingFashionMnist, readCsvSeries, resizeSquare, slidingWindows, splitSeries, windowLabels } from '../../src/data/sequences.js';
import { registerSeq } from '../../src/cli/seq.js';
import { Rng } from '../../src/util/random.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = () => tempDir('latentkit-seq-');

/** Synthetic 28x28 "items": filled squares of random brightness (no dataset needed). */
function items(n: number) {
  const rng = new Rng(3);
  const images = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) {
    const v = 0.3 + 0.7 * rng.uniform();
    for (let y = 4; y < 24; y++) for (let x = 6; x < 22; x++) images[i * 784 + y * 28 + x] = v;
  }
  return { images, n };
}

test('Moving Fashion-MNIST: frames in [0, 1], items inside the frame, overlaps merged with max, seeded', () => {
  for (const frameSize of [32, 64]) {
    const g = new MovingFashionMnist(items(6), { frameSize, seed: 11 });
    assert.equal(g.itemSize, frameSize === 32 ? 14 : 28);
    assert.equal(g.length, 20);
    const F = g.frameValues;
    const seq = new Float32Array(20 * F);
    let sawMotion = false, sawOverlap = false;
    for (let id = 0; id < 40; id++) {
      g.render(id, seq);
      for (const v of seq) assert.ok(v >= 0 && v <= 1, `value ${v} outside [0, 1]`);
      const tr = g.trajectories(id);
      assert.equal(tr.length, 2);
      for (const t of tr)
        for (let f = 0; f < 20; f++) {
          assert.ok(t.x[f]! >= 0 && t.x[f]! + g.itemSize <= frameSize, `x ${t.x[f]} leaves the frame`);
          assert.ok(t.y[f]! >= 0 && t.y[f]! + g.itemSize <= frameSize, `y ${t.y[f]} leaves the frame`);
          if (f && (t.x[f] !== t.x[0] || t.y[f] !== t.y[0])) sawMotion = true;
        }
      const [a, b] = tr as [typeof tr[0], typeof tr[0]];
      if (Math.abs(a.x[0]! - b.x[0]!) < g.itemSize && Math.abs(a.y[0]! - b.y[0]!) < g.itemSize) sawOverlap = true;
      // Frame 0 is the max of the two items rendered alone.
      const alone = (t: typeof a) => {
        const out = new Float32Array(F);
        const sp = resizeSquare(items(6).images.subarray(t.image * 784, (t.image + 1) * 784), 28, g.itemSize);
        for (let r = 0; r < g.itemSize; r++) for (let c = 0; c < g.itemSize; c++) out[(t.y[0]! + r) * frameSize + t.x[0]! + c] = sp[r * g.itemSize + c]!;
        return out;
      };
      const [ia, ib] = [alone(a), alone(b)];
      for (let p = 0; p < F; p++) assert.ok(Math.abs(seq[p]! - Math.max(ia[p]!, ib[p]!)) < 1e-6);
    }
    assert.ok(sawMotion && sawOverlap);
    // Same seed → same sequences; another seed → others.
    const again = new MovingFashionMnist(items(6), { frameSize, seed: 11 }).batch([3, 7]);
    assert.deepEqual(again, g.batch([3, 7]));
    const other = new MovingFashionMnist(items(6), { frameSize, seed: 12 }).batch([3, 7]);
    assert.notDeepEqual(other.x, again.x);
    assert.equal(again.x.length, 2 * 10 * F);
    assert.equal(again.future.length, 2 * 10 * F);
  }
});

test('sliding windows, and normalisation fitted on the training rows only', () => {
  // 10 rows x 2 features; the validation part is shifted by +100.
  const rows = 10, F = 2;
  const values = new Float32Array(rows * F).map((_, i) => Math.floor(i / F) + (i % F) * 10 + (i >= 7 * F ? 100 : 0));
  const w = slidingWindows(values, F, 3, 2);
  assert.deepEqual(w.starts, [0, 2, 4, 6]);
  assert.deepEqual(Array.from(w.data.subarray(6, 12)), [2, 12, 3, 13, 4, 14]);
  const split = splitSeries({ values, rows, columns: ['a', 'b'] }, { window: 3, stride: 1, trainFraction: 0.7 });
  assert.equal(split.splitRow, 7);
  const trainOnly = fitNormalizer(values, F, 0, 7);
  assert.deepEqual(split.norm, trainOnly);
  assert.ok(Math.abs(split.norm.mean[0]! - 3) < 1e-9 && Math.abs(split.norm.mean[1]! - 13) < 1e-9);
  assert.deepEqual(split.train.starts, [0, 1, 2, 3, 4]);
  assert.deepEqual(split.valid.starts, [7]);
  // Training windows are z-scored: mean 0 over the training rows; validation keeps the shift.
  assert.ok(split.valid.data[0]! > 40);
  assert.throws(() => slidingWindows(values, F, 11), /10 rows are fewer than one window of 11/);
});

test('CSV: columns by name or all numeric; missing or non-numeric values name file, line and column', () => {
  const dir = tmp();
  const good = join(dir, 'good.csv');
  writeFileSync(good, 'date,a,b,kind\n2020-01-01,1,2.5,x\n2020-01-02,3,-4e-1,y\n\n2020-01-03,5,6,z\n');
  const s = readCsvSeries(good);
  assert.deepEqual(s.columns, ['a', 'b']);
  assert.deepEqual(Array.from(s.values), [1, 2.5, 3, -0.4, 5, 6].map(Math.fround));
  assert.deepEqual(s.lines, [2, 3, 5]);
  assert.deepEqual(readCsvSeries(good, ['b']).columns, ['b']);
  assert.throws(() => readCsvSeries(good, ['a', 'temp']), (e: Error) => e.message.includes(`${good}:1: column "temp" is missing; the header has: date, a, b, kind`));
  assert.throws(() => readCsvSeries(good, ['a', 'kind']), (e: Error) => e.message.includes(`${good}:2: column "kind" (column 4) is not numeric: "x"`));
  const gap = join(dir, 'gap.csv');
  writeFileSync(gap, 'a,b\n1,2\n3,\n');
  assert.throws(() => readCsvSeries(gap), (e: Error) => e.message.includes(`${gap}:3: column "b" (column 2) has a missing value`));
  assert.throws(() => readCsvSeries(join(dir, 'none.csv')), /none\.csv: cannot read/);
});

test('anomaly injection is seeded and labelled; AUROC', () => {
  const rows = 200, F = 2;
  const base = new Float32Array(rows * F).map((_, i) => Math.sin(i / 7));
  const norm = fitNormalizer(base, F);
  const a = Float32Array.from(base), b = Float32Array.from(base);
  const ia = injectAnomalies(a, F, norm, { count: 5, length: 4, seed: 3, from: 50 });
  const ib = injectAnomalies(b, F, norm, { count: 5, length: 4, seed: 3, from: 50 });
  assert.deepEqual(a, b);
  assert.deepEqual(ia, ib);
  assert.equal(ia.segments.length, 5);
  assert.equal(ia.labels.reduce((x, y) => x + y, 0), 20);
  assert.ok(ia.labels.subarray(0, 50).every((v) => v === 0));
  for (let r = 0; r < rows; r++) if (!ia.labels[r]) for (let f = 0; f < F; f++) assert.equal(a[r * F + f], base[r * F + f]);
  assert.deepEqual(Array.from(windowLabels([0, 0, 1, 0, 0, 0], [0, 1, 2, 3], 3)), [1, 1, 1, 0]);
  assert.equal(auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]), 1);
  assert.equal(auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]), 0);
  assert.equal(auroc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]), 0.5);
});

test('train-seq on a CSV, ts-anomaly and seq-strip; wrong columns give a clear error', async () => {
  const dir = tmp();
  const csv = join(dir, 'sine.csv');
  const lines = ['t,x,y'];
  for (let i = 0; i < 160; i++) lines.push(`${i},${Math.sin(i / 5).toFixed(4)},${Math.cos(i / 9).toFixed(4)}`);
  writeFileSync(csv, lines.join('\n') + '\n');
  // The commands in-process, registered as main.ts does (their one-line reports go to stdout).
  const cli = async (args: string[]) => {
    const program = new Command('latentkit').exitOverride();
    registerSeq(program);
    await program.parseAsync(['node', 'latentkit', ...args]);
  };
  const out = join(dir, 'run');
  await cli(['train-seq', '--csv', csv, '--columns', 'x,y', '--window', '12', '--stride', '2', '--epochs', '2', '--hidden', '8', '--out', out, '--no-progress']);
  assert.equal(JSON.parse(readFileSync(join(out, 'seq_metrics.json'), 'utf8')).valid_windows, (48 - 12) / 2 + 1); // rows 112..159, stride 2
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.data.kind, 'csv');
  assert.deepEqual(cfg.data.columns, ['x', 'y']);
  assert.equal(cfg.data.splitRow, 112);
  await cli(['ts-anomaly', out, '--csv', csv, '-o', join(dir, 'scores.csv')]);
  const scores = readFileSync(join(dir, 'scores.csv'), 'utf8').trim().split('\n');
  assert.equal(scores[0], 'window,start_row,end_row,start_line,end_line,score');
  assert.equal(scores.length - 1, 160 - 12 + 1);
  assert.match(scores[1]!, /^0,0,11,2,13,\d/);
  await cli(['seq-strip', out, '-o', join(dir, 'strip.png'), '-n', '2']);
  const png = PNG.sync.read(readFileSync(join(dir, 'strip.png')));
  assert.ok(png.width >= 12 * 4 && png.height >= 4 * 2 * 4);
  const other = join(dir, 'other.csv');
  writeFileSync(other, 't,x\n1,2\n');
  await assert.rejects(cli(['ts-anomaly', out, '--csv', other, '-o', join(dir, 's2.csv')]), /other\.csv:1: column "y" is missing/);
});
