// Acceptance numbers for the uses of the codes, reproducible in one command:
//   node --import tsx bench/embeddings-acceptance.ts --runs seed-cnn=DIR,cnn=DIR,vae=DIR \
//     [--parts eval,anomaly,compress,serve] [--out DIR] [--epochs 5] [--classes 0-9] \
//     [--duration 60] [--connections 32]
//   eval      kNN@10 label agreement and linear-probe accuracy of each run's codes against raw
//             pixels and PCA of the same width (latentkit embed-eval)
//   anomaly   one-class benchmark: for each class, train the preset of the seed-cnn and cnn runs
//             on that class only (the last 1,000 of its training images for validation), score
//             the whole test set by reconstruction MSE, AUROC of "not this class"
//   compress  ratio and round-trip PSNR of the test set stored as float32 and int8 codes
//   serve     `latentkit serve` in a second process under autocannon load: /embed with one PNG
//             per request, /reconstruct with 16 images per JSON request; then malformed requests
// Fashion-MNIST from the Debian package (or --data-dir). Writes OUT/acceptance.json.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { anomalyRun } from '../src/tasks/anomaly/anomaly.js';
import { loadRun } from '../src/train/run-folder.js';
import { compressRun } from '../src/tasks/compress/compress.js';
import { evaluateEmbeddings, formatEmbeddingEval } from '../src/tasks/embed/evaluate.js';
import { trainImageAutoencoder } from '../src/tasks/image/train.js';
import { dataSource, loadFashionMnist } from '../src/data/fashion-mnist.js';
import { writeIdx } from '../src/data/idx.js';
import { encodePng } from '../src/viz/png.js';

/**
 * POST with curl, which reads the answer while it sends: for an oversized body the server
 * answers 413 before the upload ends, and Node's own client then often fails with EPIPE
 * before it parses that answer.
 */
function post(port: number, path: string, type: string, body: string | Buffer): { status: number; text: string } {
  const file = join(out, 'request.bin');
  writeFileSync(file, body);
  const r = spawnSync('curl', ['-s', '-w', '\n%{http_code}', '-H', `content-type: ${type}`, '--data-binary', `@${file}`, `http://127.0.0.1:${port}${path}`], { encoding: 'utf8' });
  if (r.error) throw new Error(`curl is needed for the malformed-request checks: ${r.error.message}`);
  const lines = r.stdout.trimEnd().split('\n');
  return { status: Number(lines.pop()), text: lines.join('\n') };
}

const args = process.argv.slice(2);
const opt = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1]! : d);
const runs = Object.fromEntries(opt('--runs', '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
const parts = new Set(opt('--parts', 'eval,anomaly,compress,serve').split(','));
const out = opt('--out', '/tmp/latentkit-embeddings-acceptance');
const dataDir = args.includes('--data-dir') ? opt('--data-dir', '') : undefined;
const [c0, c1] = opt('--classes', '0-9').split('-').map(Number) as [number, number];
const classes = Array.from({ length: (c1 ?? c0) - c0 + 1 }, (_, i) => c0 + i);
const log = (s: string) => process.stderr.write(`${s}\n`);
mkdirSync(out, { recursive: true });
const report: Record<string, unknown> = { date: new Date().toISOString(), runs };
const save = () => writeFileSync(join(out, 'acceptance.json'), JSON.stringify(report, null, 2) + '\n');

if (parts.has('eval')) {
  const r = await evaluateEmbeddings(Object.values(runs), { dataDir, pcaWidths: [2, 4], log });
  r.rows.forEach((row) => (row.features = Object.entries(runs).find(([, d]) => d === row.features)?.[0] ?? row.features));
  console.log(formatEmbeddingEval(r));
  report.eval = r;
  save();
}

if (parts.has('anomaly')) {
  const train = await loadFashionMnist('train', dataSource(dataDir));
  const result: Record<string, number[]> = {};
  for (const [name, dir] of Object.entries(runs).filter(([n]) => n !== 'vae')) {
    const preset = loadRun(dir).modelConfig.preset;
    result[name] = [];
    for (const c of classes) {
      // A Fashion-MNIST-format folder holding one class: train = all but its last 1,000
      // training images, "test" (validation during training) = those 1,000.
      const idx = [...train.labels.keys()].filter((i) => train.labels[i] === c);
      const folder = join(out, `class-${c}-data`);
      mkdirSync(folder, { recursive: true });
      const write = (stem: string, rows: number[]) => {
        const px = new Uint8Array(rows.length * 784);
        rows.forEach((r, k) => px.set(Array.from(train.images.subarray(r * 784, (r + 1) * 784), (v) => Math.round(v * 255)), k * 784));
        writeIdx(join(folder, `${stem}-images-idx3-ubyte.gz`), { shape: [rows.length, 28, 28], data: px });
        writeIdx(join(folder, `${stem}-labels-idx1-ubyte.gz`), { shape: [rows.length], data: new Uint8Array(rows.length).fill(c) });
      };
      write('train', idx.slice(0, -1000));
      write('t10k', idx.slice(-1000));
      const runDir = join(out, `${name}-class-${c}`);
      await trainImageAutoencoder({ preset, dataDir: folder, epochs: Number(opt('--epochs', '5')), out: runDir, progress: false, log: () => {} });
      // AUROC does not depend on the threshold; 'self' keeps the threshold fit off the train split.
      const a = await anomalyRun(runDir, { dataDir, normal: [c], fit: 'self', contamination: 0.1 });
      result[name]!.push(a.auroc!);
      log(`anomaly ${name} class ${c}: AUROC ${a.auroc!.toFixed(3)}`);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const [name, xs] of Object.entries(result)) console.log(`one-class AUROC ${name}: ${xs.map((x) => x.toFixed(3)).join(' ')} (mean ${mean(xs).toFixed(3)})`);
  report.anomaly = { classes, auroc: result };
  save();
}

if (parts.has('compress')) {
  const rows: Record<string, unknown>[] = [];
  for (const [name, dir] of Object.entries(runs).filter(([n]) => n !== 'vae'))
    for (const dtype of ['float32', 'int8'] as const) {
      const r = await compressRun(dir, { out: join(out, `${name}-${dtype}.lkc`), dtype, dataDir });
      rows.push({ run: name, ...r });
      console.log(`compress ${name} ${dtype}: ${JSON.stringify(r)}`);
    }
  report.compress = rows;
  save();
}

if (parts.has('serve')) {
  const dir = runs['seed-cnn'] ?? Object.values(runs)[0]!;
  const port = 18000 + (process.pid % 1000);
  const server = spawn(process.execPath, [new URL('../bin/latentkit.js', import.meta.url).pathname, 'serve', dir, '--port', String(port), '--no-index'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(`${base}/health`)).ok) break;
      } catch {
        if (i > 200) throw new Error('server did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const test = await loadFashionMnist('test', { ...dataSource(dataDir), limit: 16 });
    const u8 = (k: number) => Uint8Array.from(test.images.subarray(k * 784, (k + 1) * 784), (v) => Math.round(v * 255));
    const png = encodePng(u8(0), 28, 28, 1);
    const json16 = JSON.stringify({ images: Array.from({ length: 16 }, (_, k) => Array.from(test.images.subarray(k * 784, (k + 1) * 784))) });
    const duration = Number(opt('--duration', '60'));
    const load = async (title: string, path: string, body: string | Buffer, type: string, connections: number) => {
      const r = await autocannon({ url: `${base}${path}`, method: 'POST', body, headers: { 'content-type': type }, connections, duration });
      const row = { title, connections, duration, requests: r.requests.total, errors: r.errors + r.non2xx + r.timeouts, p50_ms: r.latency.p50, p99_ms: r.latency.p99, req_per_s: r.requests.average };
      console.log(`serve ${JSON.stringify(row)}`);
      return row;
    };
    const connections = Number(opt('--connections', '32'));
    const load1 = await load('/embed, one PNG per request', '/embed', png, 'image/png', connections);
    const load2 = await load('/reconstruct, 16 images per JSON request', '/reconstruct', json16, 'application/json', Math.max(1, connections / 2));
    // Malformed requests: each must get a 4xx with a message, and the server must stay up.
    const bad: [string, string, string | Buffer][] = [
      ['/embed', 'application/json', '{"images": [[1, 2'],
      ['/embed', 'application/json', JSON.stringify({ images: [[1, 2, 3]] })],
      ['/embed', 'image/png', Buffer.from('not an image at all')],
      ['/embed', 'application/octet-stream', Buffer.alloc(783 * 4)],
      ['/reconstruct', 'application/json', JSON.stringify({ images: 'x' })],
      ['/embed', 'application/json', JSON.stringify({ images: Array(2000).fill(Array(784).fill(0)) })],
      ['/embed', 'text/plain', 'hello'],
      ['/embed', 'application/octet-stream', Buffer.alloc(9 * 1024 * 1024)],
    ];
    const malformed = [];
    for (const [path, type, body] of bad) {
      const r = post(port, path, type, body);
      malformed.push({ path, type, bytes: body.length, status: r.status, message: r.text.slice(0, 160) });
    }
    const alive = (await fetch(`${base}/health`)).ok;
    console.log(`malformed: ${malformed.map((m) => m.status).join(' ')}; server alive afterwards: ${alive}`);
    report.serve = { load: [load1, load2], malformed, aliveAfterMalformed: alive };
    save();
  } finally {
    server.kill('SIGTERM');
  }
}
log(`wrote ${join(out, 'acceptance.json')}`);
