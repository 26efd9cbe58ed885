// End-to-end: the latentkit command as a user runs it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { BIN, runCli } from '../helpers/cli.js';
import { test } from 'node:test';
import { cpus } from 'node:os';
import { PNG } from 'pngjs';
import { loadRun, runAutoencoder } from '../../src/train/run-folder.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { writeIdx } from '../../src/data/idx.js';
import { fashionDataDir } from '../helpers/fashion-data.js';
import { tempDir } from '../helpers/tmp.js';
import { activeDims } from '../../src/tasks/embed/evaluate.js';

const tmp = () => tempDir('latentkit-cli-');

const DATA = fashionDataDir();

const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env, timeoutMs: 300_000 });

const lastValid = (dir: string) => JSON.parse(readFileSync(join(dir, '_metrics.json'), 'utf8')).last;

/** The run's log line for its thread count: "1 thread ->" or "N data-parallel workers ->". */
const threadsText = (n: number, before: string) => new RegExp(`${before}${n === 1 ? '1 thread' : `${n} data-parallel workers`} ->`);

test('train on a few hundred images: loss falls, files appear, figure has the right size, checkpoint reloads', async () => {
  const out = join(tmp(), 'run');
  const r = cli(['train', '--data-dir', DATA, '--limit-train', '640', '--limit-valid', '200', '--epochs', '3', '--out', out, '--no-progress', '--log-every', '5']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /metrics: +.*_metrics\.json/);
  assert.match(r.out, /best valid loss [\d.]+ at epoch [123] of 3 \(all epochs done\)/);
  const history = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(history.length, 3);
  assert.ok(history[2].train.loss < history[0].train.loss, `train loss did not fall: ${history.map((h: any) => h.train.loss)}`);
  // The chapter's preset shares its batch of 32 between up to 2 workers (16 rows each) unless told otherwise, and the run says so.
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).workers, 'auto');
  assert.match(r.err, threadsText(Math.min(cpus().length, 2), '3 epochs, '));
  const metrics = JSON.parse(readFileSync(join(out, '_metrics.json'), 'utf8'));
  assert.equal(metrics.best.valid.loss, Math.min(...history.map((h: any) => h.valid.loss)));
  assert.equal(metrics.last.epoch, 3);
  const steps = readFileSync(join(out, 'steps.csv'), 'utf8').trim().split('\n');
  assert.equal(steps[0], 'step,epoch,loss');
  assert.equal(steps.length - 1, Math.floor((3 * 20) / 5));
  // Figure 5.4: 10 originals over 10 reconstructions, 28 px cells at scale 3 with padding.
  const png = PNG.sync.read(readFileSync(join(out, 'reconstruction.png')));
  assert.ok(png.width > 10 * 28 * 3 && png.width < 10 * (28 * 3 + 10), `width ${png.width}`);
  assert.ok(png.height > 2 * 28 * 3 && png.height < 2 * (28 * 3 + 10), `height ${png.height}`);
  assert.match(readFileSync(join(out, 'loss.svg'), 'utf8'), /<svg/);
  // The best checkpoint reloads to the same predictions as the eval command computes from it.
  const run = loadRun(out);
  const data = await loadFashionMnist('test', { dataDir: DATA, limit: 200 });
  const a = await runAutoencoder(run, data.images, data.n);
  const b = await runAutoencoder(loadRun(out), data.images, data.n);
  assert.deepEqual(a.recon, b.recon);
  let mse = 0;
  for (let i = 0; i < a.recon.length; i++) mse += (a.recon[i]! - data.images[i]!) ** 2;
  mse /= a.recon.length;
  assert.ok(Math.abs(mse - metrics.best.valid.loss) < 1e-5, `reloaded MSE ${mse} vs logged ${metrics.best.valid.loss}`);
  const ev = cli(['eval', out, '--data-dir', DATA, '--limit', '200']);
  assert.equal(ev.code, 0, ev.err);
  const m = /valid MSE ([\d.]+)\s+PSNR ([\d.]+) dB\s+SSIM ([\d.]+)/.exec(ev.out);
  assert.ok(m, ev.out);
  assert.ok(Math.abs(Number(m[1]) - mse) < 1e-5);
  // The code's width and how many of its numbers vary, counted from the codes themselves.
  const active = activeDims(a.codes, 200, a.codeSize);
  assert.match(ev.out, new RegExp(`code: 4 numbers, ${active} vary over these images`));
  const rec = cli(['reconstruct', out, '--data-dir', DATA, '--samples', '3,1,4', '-o', join(out, 'r.png'), '--scale', '1']);
  assert.equal(rec.code, 0, rec.err);
  const png2 = PNG.sync.read(readFileSync(join(out, 'r.png')));
  assert.ok(png2.width >= 3 * 28 && png2.width <= 3 * 28 + 8 && png2.height >= 56 && png2.height <= 56 + 6);
  const plot = cli(['plot', out, '-o', join(out, 'curves.png')]);
  assert.equal(plot.code, 0, plot.err);
  assert.ok(PNG.sync.read(readFileSync(join(out, 'curves.png'))).width > 100);
});

test('the cnn preset trains data-parallel by default; --workers overrides it', () => {
  for (const [extra, want] of [[[], 'auto'], [['--workers', '1'], 1]] as const) {
    const out = join(tmp(), 'run');
    const r = cli(['train', '--preset', 'cnn', '--data-dir', DATA, '--limit-train', '128', '--limit-valid', '64', '--epochs', '1', '--out', out, '--no-progress', ...extra]);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).workers, want);
    // Batch 64: at most 4 workers of 16 rows.
    assert.match(r.err, threadsText(want === 'auto' ? Math.min(cpus().length, 4) : 1, 'epochs, '));
  }
});

test('SIGKILL during an epoch, then --resume: final metrics equal an uninterrupted run', async () => {
  const base = tmp();
  const args = (out: string) => ['train', '--data-dir', DATA, '--limit-train', '1500', '--limit-valid', '100', '--epochs', '3', '--out', out, '--no-progress', '--seed', '3'];
  const full = join(base, 'full');
  assert.equal(cli(args(full)).code, 0);
  const cut = join(base, 'cut');
  const child = spawn(process.execPath, [BIN, ...args(cut)], { stdio: 'ignore' });
  const lastJson = join(cut, 'checkpoints', 'last.json');
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (existsSync(lastJson)) {
        clearInterval(t);
        child.kill('SIGKILL');
        resolve();
      }
    }, 5);
    child.on('exit', () => { clearInterval(t); resolve(); });
    setTimeout(() => reject(new Error('no checkpoint appeared')), 120_000);
  });
  if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  const before = JSON.parse(readFileSync(lastJson, 'utf8'));
  assert.ok(before.epoch >= 1 && before.epoch < 3, `killed after epoch ${before.epoch}`);
  const resumed = cli([...args(cut), '--resume']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /resuming from/);
  assert.deepEqual(lastValid(cut).valid, lastValid(full).valid);
  assert.deepEqual(lastValid(cut).train, lastValid(full).train);
});

test('bad input: one-line errors that name the problem, non-zero exit', () => {
  const unknown = cli(['train', '--preset', 'nope', '--data-dir', DATA]);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.err, /unknown preset "nope".*seed-cnn/);
  const dir = tmp();
  const cfg = join(dir, 'model.json');
  writeFileSync(cfg, JSON.stringify({ preset: 'seed-cnn', bottlenek: 10 }));
  const badKey = cli(['train', '--config', cfg, '--data-dir', DATA]);
  assert.notEqual(badKey.code, 0);
  assert.match(badKey.err, /model\.json: unknown key "bottlenek"/);
  const empty = tmp();
  const missing = cli(['train', '--data-dir', empty], { LATENTKIT_DATA: empty, XDG_CACHE_HOME: empty });
  assert.notEqual(missing.code, 0);
  assert.match(missing.err, /apt-get install dataset-fashion-mnist/);
  // A truncated IDX file is named.
  const trunc = tmp();
  const full = readFileSync(join(DATA, 'train-images-idx3-ubyte.gz'));
  writeIdx(join(trunc, 'train-images-idx3-ubyte'), { shape: [2, 28, 28], data: new Uint8Array(2 * 784) });
  writeFileSync(join(trunc, 'train-images-idx3-ubyte'), readFileSync(join(trunc, 'train-images-idx3-ubyte')).subarray(0, 500));
  for (const f of ['train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) writeFileSync(join(trunc, f), readFileSync(join(DATA, f)));
  assert.ok(full.length > 0);
  const t = cli(['train', '--data-dir', trunc], { LATENTKIT_DATA: empty, XDG_CACHE_HOME: empty });
  assert.notEqual(t.code, 0);
  assert.match(t.err, /train-images-idx3-ubyte: truncated/);
  assert.equal(t.err.trim().split('\n').length, 1, t.err);
  const notRun = cli(['eval', empty]);
  assert.notEqual(notRun.code, 0);
  assert.match(notRun.err, /not a latentkit run/);
});

test('explain conv-transpose: the chapter’s 2x2 -> 3x3 example and a strided, padded one', () => {
  const r = cli(['explain', 'conv-transpose', '--input', '1,2;3,4', '--kernel', '1,1;1,1', '--bias', '1']);
  assert.equal(r.code, 0, r.err);
  assert.equal((r.out.match(/^copy \d/gm) ?? []).length, 4);
  // With an all-ones kernel the sum counts overlaps: centre = 1+2+3+4, plus bias 1.
  assert.match(r.out, /output \(sum \+ bias\), 3x3:\n\s+2\s+4\s+3\n\s+5\s+11\s+7\n\s+4\s+8\s+5/);
  assert.match(r.out, /onnxruntime ConvTranspose gives the same output: yes/);
  const out = join(tmp(), 'ct.png');
  const s = cli(['explain', 'conv-transpose', '--input', '1,2,3;4,5,6;7,8,9', '--kernel', '1,0,1;0,1,0;1,0,1', '--stride', '2', '--padding', '1', '-o', out]);
  assert.equal(s.code, 0, s.err);
  assert.match(s.out, /5x5:/);
  assert.ok(PNG.sync.read(readFileSync(out)).width > 0);
});

test('your own images: --images trains seed-cnn on a folder at its 28x28 gray input; other sizes are stretched by the one reader', async () => {
  const sharp = (await import('sharp')).default;
  const dir = tmp();
  const imgs = join(dir, 'imgs');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(imgs);
  for (let i = 0; i < 24; i++)
    await sharp({ create: { width: 40, height: 36, channels: 3, background: { r: 10 * i, g: 255 - 10 * i, b: 90 } } }).png().toFile(join(imgs, `img${String(i).padStart(2, '0')}.png`));
  const out = join(dir, 'run');
  const r = cli(['train', '--images', imgs, '--epochs', '1', '--batch-size', '8', '--out', out, '--no-progress']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /on 22 images, validating on 2/);
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).model.inputShape, [1, 28, 28]);
  const plain = cli(['reconstruct', out, '--image', join(imgs, 'img00.png'), join(imgs, 'img01.png'), '--scale', '1', '-o', join(dir, 'x.png')]);
  assert.equal(plain.code, 0, plain.err);
  const bad = cli(['reconstruct', out, '--image', join(dir, 'missing.png'), '-o', join(dir, 'z.png')]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /missing\.png: cannot read/);
  assert.equal(bad.err.trim().split('\n').length, 1);
  const ok = cli(['reconstruct', out, '--image', join(imgs, 'img00.png'), join(imgs, 'img01.png'), '--resize', '--scale', '1', '-o', join(dir, 'y.png')]);
  assert.equal(ok.code, 0, ok.err);
  const png = PNG.sync.read(readFileSync(join(dir, 'y.png')));
  assert.ok(png.width >= 56 && png.width <= 56 + 6, `width ${png.width}`);
  assert.deepEqual(readFileSync(join(dir, 'x.png')), readFileSync(join(dir, 'y.png'))); // --resize is the default now
});
