// Tables larger than memory: generate a table (20 numeric + 3 categorical columns, a few missing
// cells) as CSV in chunks, then run `latentkit train-tabular --stream` over it for one epoch under
// /usr/bin/time -v, and print peak RSS, wall time and rows/s. Two sizes show that peak RSS stays
// flat as the row count grows.
//
//   node --import tsx bench/tabular-stream.ts                     500k and 5M rows (~1 GB CSV in /tmp)
//   node --import tsx bench/tabular-stream.ts --rows 200000,1000000 --keep
//
// Options: --rows LIST, --dir DIR (default: a temp folder), --keep (do not delete the CSVs),
// --args "..." (extra train-tabular flags; default --epochs 1 --batch-size 512).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/util/random.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const sizes = arg('rows', '500000,5000000').split(',').map(Number);
const dir = arg('dir', '') || mkdtempSync(join(tmpdir(), 'latentkit-stream-'));
mkdirSync(dir, { recursive: true });
const extra = arg('args', '--epochs 1 --batch-size 512').split(' ').filter(Boolean);
const keep = process.argv.includes('--keep');

const NUMERIC = 20, CATS = [['red', 'green', 'blue'], ['a', 'b', 'c', 'd', 'e', 'f'], ['north', 'south']];

/** Rows with correlated numbers (so the DAE has something to learn), written 50k at a time. */
function generate(path: string, rows: number): void {
  const rng = new Rng(rows);
  const fd = openSync(path, 'w');
  const head = [...Array.from({ length: NUMERIC }, (_, j) => `x${j}`), ...CATS.map((_, j) => `c${j}`)];
  writeSync(fd, head.join(',') + '\n');
  for (let start = 0; start < rows; start += 50_000) {
    const lines: string[] = [];
    for (let r = start; r < Math.min(rows, start + 50_000); r++) {
      const z = [rng.normal(), rng.normal(), rng.normal()];
      const cells = Array.from({ length: NUMERIC }, (_, j) => (rng.uniform() < 0.01 ? '' : (z[j % 3]! * (j + 1) + 0.3 * rng.normal() + j).toFixed(4)));
      for (const c of CATS) cells.push(c[Math.min(c.length - 1, Math.floor(((z[0]! + 3) / 6) * c.length + rng.uniform()))] ?? c[0]!);
      lines.push(cells.join(','));
    }
    writeSync(fd, lines.join('\n') + '\n');
  }
  closeSync(fd);
}

interface Measured { rows: number; mb: number; peakRssMb: number; wallS: number; statsS: number; trainRowsPerS: number; trainRows: number }

function run(rows: number): Measured {
  const csv = join(dir, `stream-${rows}.csv`);
  if (!existsSync(csv)) {
    const t0 = performance.now();
    generate(csv, rows);
    console.log(`generated ${csv} (${(statSync(csv).size / 1e6).toFixed(0)} MB) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const out = join(dir, `run-${rows}`);
  rmSync(out, { recursive: true, force: true });
  const cmd = ['node', join(root, 'bin/latentkit.js'), 'train-tabular', csv, '--stream', '--no-progress', '--out', out, ...extra];
  console.log(`$ /usr/bin/time -v ${cmd.join(' ')}`);
  const p = spawnSync('/usr/bin/time', ['-v', ...cmd], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (p.status !== 0) throw new Error(`train-tabular failed (${p.status}):\n${p.stderr.slice(-3000)}`);
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(p.stderr)![1]) / 1024;
  const wall = /Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)/.exec(p.stderr)!;
  const wallS = Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]);
  const statsS = Number(/read \d+ rows of .* in ([\d.]+) s/.exec(p.stderr)?.[1] ?? NaN);
  const last = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').at(-1)!);
  const trainRows = Number(/on (\d+) rows x/.exec(p.stderr)?.[1] ?? NaN);
  const rate = Number(last.imagesPerSecond);
  return { rows, mb: statSync(csv).size / 1e6, peakRssMb: rss, wallS, statsS, trainRowsPerS: rate, trainRows };
}

const results: Measured[] = [];
for (const n of sizes) {
  const r = run(n);
  results.push(r);
  console.log(`${n} rows (${r.mb.toFixed(0)} MB CSV): peak RSS ${r.peakRssMb.toFixed(0)} MB, wall ${r.wallS.toFixed(0)} s (statistics pass ${r.statsS.toFixed(0)} s), training ${Math.round(r.trainRowsPerS)} rows/s over ${r.trainRows} rows`);
  if (!keep) rmSync(join(dir, `stream-${n}.csv`), { force: true });
}
console.log(JSON.stringify(results, null, 2));
if (!keep) rmSync(dir, { recursive: true, force: true });
