// Acceptance numbers for the LSTM sequence autoencoders on a real public time series:
// Seattle daily weather 2012-2015 (seattle-weather.csv of the npm package vega-datasets@3.2.1,
// BSD-3-Clause; get it with `npm pack vega-datasets@3.2.1 && tar xzf vega-datasets-3.2.1.tgz`).
// Train on the first 70% of days (clean), inject seeded anomalies into the remaining 30%, and
// report the AUROC of the per-window reconstruction-MSE scores over the windows of that part.
//   node --import tsx bench/seq-acceptance.ts package/data/seattle-weather.csv [outDir]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvWindowsForRun, loadSeqRun, scoreWindows, trainSequenceModel } from '../src/tasks/seq/sequences.js';
import { injectAnomalies, readCsvSeries, windowLabels } from '../src/data/sequences.js';
import { auroc } from '../src/metrics/ranking.js';

const csv = process.argv[2] ?? 'package/data/seattle-weather.csv';
const out = process.argv[3] ?? '/tmp/latentkit-ts-acceptance';
const columns = ['precipitation', 'temp_max', 'temp_min', 'wind'];
const window = 14;
await trainSequenceModel({ csv, columns, window, stride: 1, trainFraction: 0.7, hidden: 32, epochs: 30, seed: 0, out: join(out, 'run'), progress: false });
const run = loadSeqRun(join(out, 'run'));
if (run.data.kind !== 'csv') throw new Error('not a csv run');
const { splitRow, norm } = run.data;

// Seeded injection into the held-out days: 5 non-overlapping 3-day segments, kinds cycling
// shift (±3 std for 3 days) / spike (±6 std on the middle day) / flat (held at start + 3 std).
const series = readCsvSeries(csv, columns);
const { labels, segments } = injectAnomalies(series.values, columns.length, norm, { count: 5, length: 3, magnitude: 3, from: splitRow, seed: 2024 });
const injected = join(out, 'injected.csv');
writeFileSync(injected, ['day,' + columns.join(',') + ',anomaly', ...Array.from({ length: series.rows }, (_, r) => [r, ...Array.from(series.values.subarray(r * 4, r * 4 + 4), (v) => v.toFixed(3)), labels[r]].join(','))].join('\n') + '\n');

const { windows } = csvWindowsForRun(run, injected, 1);
const scores = await scoreWindows(run.model, windows);
const keep = windows.starts.map((s, k) => [s, k] as const).filter(([s]) => s >= splitRow).map(([, k]) => k);
const wl = windowLabels(labels, windows.starts, window);
const sc = keep.map((k) => scores[k]!), lb = keep.map((k) => wl[k]!);
// A naive reference score: the largest |z| in the window.
const maxAbs = keep.map((k) => Math.max(...Array.from(windows.data.subarray(k * window * 4, (k + 1) * window * 4), Math.abs)));
console.log(JSON.stringify({ csv, rows: series.rows, splitRow, segments, heldOutWindows: keep.length, anomalousWindows: lb.reduce((a, b) => a + b, 0), auroc: auroc(sc, lb), aurocMaxAbsZ: auroc(maxAbs, lb) }, null, 1));
