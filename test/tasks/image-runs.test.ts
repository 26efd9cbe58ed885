// Image runs at any shape: the input [C, H, W] chosen at training time (--image-size,
// --channels, or from the images), recorded in config.json and honoured by every command that
// reads the run; the cnn preset built for the shape; one-class training (--classes).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import { anomalyRun } from '../../src/tasks/anomaly/anomaly.js';
import { loadRun, runAutoencoder } from '../../src/train/run-folder.js';
import { compressRun, decompressFile } from '../../src/tasks/compress/compress.js';
import { embedRun, readEmbeddingsParquet } from '../../src/tasks/embed/embed.js';
import { trainImageAutoencoder } from '../../src/tasks/image/train.js';
import { FASHION_MNIST_CLASSES } from '../../src/data/fashion-mnist.js';
import { conformImages, readImageFile } from '../../src/data/image-file.js';
import { loadRunImages, parseClasses } from '../../src/data/run-images.js';
import { parseImageSize } from '../../src/cli/args.js';
import { buildModel } from '../../src/models/index.js';
import { createService } from '../../src/serve/server.js';
import { buildReport } from '../../src/tasks/report/report.js';
import { imageQuality } from '../../src/metrics/image-quality.js';
import { runCli } from '../helpers/cli.js';
import { testDataDir } from '../helpers/tiny-run.js';
import { writeImageFolder } from '../helpers/colour-images.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('latentkit-imgrun-');
const readPng = (path: string) => PNG.sync.read(readFileSync(path));
/** Pixels whose R, G, B differ: a colour figure has many, a gray one none. */
const colourPixels = (png: PNG) => {
  let k = 0;
  for (let i = 0; i < png.width * png.height; i++) if (png.data[4 * i] !== png.data[4 * i + 1] || png.data[4 * i + 1] !== png.data[4 * i + 2]) k++;
  return k;
};
const config = (run: string) => JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));

describe('the cnn preset is built for the input shape', () => {
  for (const shape of [[1, 28, 28], [3, 32, 32], [3, 64, 64], [1, 128, 128], [3, 30, 20]]) {
    test(`[${shape}]: reconstructions come back at the input's shape`, async () => {
      const model = buildModel({ preset: 'cnn', inputShape: shape });
      const size = shape.reduce((a, b) => a * b, 1);
      const x = Float32Array.from({ length: 2 * size }, (_, i) => (i % 7) / 7);
      const { recon, codeSize } = await runAutoencoder({ model, inputShape: shape }, x, 2);
      assert.equal(recon.length, 2 * size);
      assert.equal(codeSize, 4);
    });
  }

  test('28x28 keeps the original design (parameter names and count)', () => {
    const m = buildModel({ preset: 'cnn' });
    assert.deepEqual([...m.stateDict().keys()], ['encoder.0.weight', 'encoder.0.bias', 'encoder.2.weight', 'encoder.2.bias', 'encoder.5.weight', 'encoder.5.bias', 'decoder.0.weight', 'decoder.0.bias', 'decoder.3.weight', 'decoder.3.bias', 'decoder.5.weight', 'decoder.5.bias']);
  });

  test('larger inputs get more stride-2 stages', () => {
    const convs = (shape: number[]) => [...buildModel({ preset: 'cnn', inputShape: shape }).stateDict().keys()].filter((k) => /^encoder\.\d+\.weight$/.test(k)).length - 1; // minus the Linear
    assert.deepEqual([convs([3, 32, 32]), convs([3, 64, 64]), convs([3, 128, 128])], [2, 3, 4]);
  });

  test('seed-cnn stays the 28x28 model and says so', () => {
    assert.throws(() => buildModel({ preset: 'seed-cnn', inputShape: [3, 32, 32] }), /preset seed-cnn takes \[1,28,28\] only \(the chapter's 28x28 grayscale model\), not \[3,32,32\]; use --preset cnn/);
    assert.ok(buildModel({ preset: 'seed-cnn', inputShape: [1, 28, 28] }));
  });
});

describe('argument parsing', () => {
  test('--image-size H or HxW', () => {
    assert.deepEqual(parseImageSize('32'), [32, 32]);
    assert.deepEqual(parseImageSize('64x48'), [64, 48]);
    assert.throws(() => parseImageSize('0'), /expected H or HxW/);
    assert.throws(() => parseImageSize('32x'), /expected H or HxW/);
  });

  test('--classes: indices and Fashion-MNIST names, ignoring case and punctuation', () => {
    assert.deepEqual(parseClasses('7', FASHION_MNIST_CLASSES), [7]);
    assert.deepEqual(parseClasses('ankle-boot,sneaker', FASHION_MNIST_CLASSES), [7, 9]);
    assert.deepEqual(parseClasses('t-shirt/top, 9', FASHION_MNIST_CLASSES), [0, 9]);
    assert.throws(() => parseClasses('sneakers', FASHION_MNIST_CLASSES), /no class "sneakers"; the classes are 0 T-shirt\/top/);
    assert.throws(() => parseClasses('10', FASHION_MNIST_CLASSES), /class 10 does not exist/);
  });
});

test('in-memory images (Fashion-MNIST) follow the same rule: gray replicated to RGB, stretched to the size', async () => {
  const x = Float32Array.from({ length: 2 * 4 * 4 }, (_, i) => (i * 17) % 256 / 255);
  const rgb = await conformImages(x, 2, [1, 4, 4], [3, 4, 4]);
  for (let i = 0; i < 2; i++) for (let ch = 0; ch < 3; ch++) assert.deepEqual(rgb.subarray(i * 48 + ch * 16, i * 48 + ch * 16 + 16), x.subarray(i * 16, i * 16 + 16));
  const flat = await conformImages(new Float32Array(28 * 28).fill(0.4), 1, [1, 28, 28], [1, 32, 40]);
  assert.equal(flat.length, 32 * 40);
  assert.ok(flat.every((v) => Math.abs(v - 0.4) < 1 / 255));
  assert.equal(await conformImages(x, 2, [1, 4, 4], [1, 4, 4]), x); // no copy when it fits
});

describe('a colour 32x32 run, through every command', () => {
  let dir: string;
  let run: string;
  before(async () => {
    // 40x40 colour PNGs, trained at 32x32: the reader stretches them.
    dir = await writeImageFolder(join(root, 'colour'), { n: 40, width: 40, height: 40 });
    run = join(root, 'run32');
    const r = runCli(['train', '--images', dir, '--preset', 'cnn', '--image-size', '32', '--channels', '3', '--epochs', '2', '--out', run, '--no-progress', '--workers', '1']);
    assert.equal(r.code, 0, r.err);
  });

  test('config.json records [3, 32, 32]; reconstruct draws colour 32x32 tiles', () => {
    assert.deepEqual(config(run).model.inputShape, [3, 32, 32]);
    const fig = join(root, 'fig.png');
    const r = runCli(['reconstruct', run, '--count', '4', '-o', fig]);
    assert.equal(r.code, 0, r.err);
    const png = readPng(fig);
    // 4 columns and 2 rows of 32x32 tiles at scale 3, with 2-pixel gaps.
    assert.deepEqual([png.width, png.height], [4 * 96 + 5 * 2, 2 * 96 + 3 * 2]);
    assert.ok(colourPixels(png) > 4 * 96 * 96 * 0.5, 'the originals are in colour');
  });

  test('reconstruct --image reads a file of another size and format into the run\'s shape', async () => {
    const other = await writeImageFolder(join(root, 'other'), { n: 1, width: 50, height: 20, format: 'webp' });
    const fig = join(root, 'mine.png');
    const r = runCli(['reconstruct', run, '--image', join(other, 'img0000.webp'), '-o', fig, '--scale', '1']);
    assert.equal(r.code, 0, r.err);
    const png = readPng(fig);
    assert.deepEqual([png.width, png.height], [32 + 2 * 2, 2 * 32 + 3 * 2]); // one 32x32 column at scale 1
    assert.ok(colourPixels(png) > 0);
  });

  test('eval gives MSE, PSNR and SSIM per channel', () => {
    const out = join(root, 'eval.json');
    const r = runCli(['eval', run, '-o', out]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^valid MSE [\d.]+ {2}PSNR [\d.]+ dB {2}SSIM [-\d.]+ {2}\(4 images of \[3,32,32\]\)\n {2}R: MSE .*\n {2}G: MSE .*\n {2}B: MSE /);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(j.channels.length, 3);
    // The overall MSE is the mean of the channels' (equal-sized planes).
    const mean = j.channels.reduce((a: number, c: { mse: number }) => a + c.mse, 0) / 3;
    assert.ok(Math.abs(mean - j.mse) < 1e-9, `${mean} vs ${j.mse}`);
  });

  test('embed, anomaly (colour heat map), compress and export read the run at its shape', async () => {
    const e = await embedRun(run, { out: join(root, 'codes.parquet'), index: false });
    assert.equal(e.n, 4); // the held-out 10% of 40
    assert.equal((await readEmbeddingsParquet(e.parquet)).dim, 4);
    const heat = join(root, 'heat.png');
    const a = await anomalyRun(run, { fit: 'self', heatmap: heat, top: 3 });
    assert.equal(a.n, 4);
    const png = readPng(heat);
    assert.deepEqual([png.width, png.height], [3 * 96 + 4 * 2, 3 * 96 + 4 * 2]);
    assert.ok(colourPixels(png) > 0);
    const c = await compressRun(run, { out: join(root, 'c.lkc') });
    assert.equal(c.rawBytes, 4 * 3 * 32 * 32);
    assert.equal(c.roundTrip.channels?.length, 3);
    const d = await decompressFile(join(root, 'c.lkc'), { compare: true });
    assert.deepEqual(d.header.inputShape, [3, 32, 32]);
    assert.ok(Math.abs(d.quality!.mse - c.roundTrip.mse) < 1e-9);
    const x = runCli(['export', run, '-o', join(root, 'export')]);
    assert.equal(x.code, 0, x.err);
    assert.deepEqual(JSON.parse(readFileSync(join(root, 'export', 'manifest.json'), 'utf8')).input.shape, ['N', 3, 32, 32]);
  });

  test('the report shows the colour reconstructions and quality per channel', async () => {
    const r = await buildReport(run, {});
    for (const sec of ['reconstruction', 'quality', 'latent', 'anomaly']) assert.ok(r.sections.includes(sec), `section ${sec} missing: ${JSON.stringify(r.skipped)}`);
    assert.match(r.html, /4 held-out images of \[3, 32, 32\]/);
    assert.match(r.html, /<tr><th>all channels<\/th>.*<tr><th>R<\/th>.*<tr><th>G<\/th>.*<tr><th>B<\/th>/s);
    const uri = /<section id="reconstruction">.*?src="data:image\/png;base64,([^"]+)"/s.exec(r.html)![1]!;
    const png = PNG.sync.read(Buffer.from(uri, 'base64'));
    assert.ok(colourPixels(png) > 0, 'the reconstruction grid is gray');
  });

  test('serve: /health reports the shape, /reconstruct answers a colour PNG for a PNG of any size', async () => {
    const svc = await createService(run, { workers: 0, index: false });
    try {
      const url = await svc.app.listen({ port: 0, host: '127.0.0.1' });
      assert.deepEqual(((await (await fetch(url + '/health')).json()) as { inputShape: number[] }).inputShape, [3, 32, 32]);
      const body = readFileSync(join(dir, 'img0003.png'));
      const res = await fetch(url + '/reconstruct', { method: 'POST', headers: { 'content-type': 'image/png', accept: 'image/png' }, body });
      assert.equal(res.status, 200);
      const png = PNG.sync.read(Buffer.from(await res.arrayBuffer()));
      assert.deepEqual([png.width, png.height], [32, 32]);
      assert.ok(colourPixels(png) > 0);
      // The same numbers as the library path: one reader stretched the 40x40 file to 32x32.
      const raw = await fetch(url + '/reconstruct', { method: 'POST', headers: { 'content-type': 'image/png', accept: 'application/octet-stream' }, body });
      assert.equal(raw.headers.get('x-shape'), '1,3,32,32');
      const got = new Float32Array(await raw.arrayBuffer());
      const want = (await runAutoencoder(loadRun(run), await readImageFile(join(dir, 'img0003.png'), [3, 32, 32]), 1)).recon;
      assert.ok(got.every((v, i) => Math.abs(v - want[i]!) < 1e-5));
    } finally {
      await svc.close();
    }
  });
});

describe('grayscale and 64x64 folders; the shape comes from the images by default', () => {
  test('a gray 64x64 folder trains at [1, 64, 64] and reconstructs in gray', async () => {
    const dir = await writeImageFolder(join(root, 'gray64'), { n: 30, width: 64, height: 64, channels: 1 });
    const out = join(root, 'run-gray64');
    await trainImageAutoencoder({ images: dir, preset: 'cnn', epochs: 1, out, progress: false, workers: 1, log: () => {} });
    assert.deepEqual(config(out).model.inputShape, [1, 64, 64]);
    const fig = join(root, 'gray.png');
    const r = runCli(['reconstruct', out, '--count', '2', '-o', fig]);
    assert.equal(r.code, 0, r.err);
    const png = readPng(fig);
    assert.deepEqual([png.width, png.height], [2 * 64 + 3 * 2, 2 * 64 + 3 * 2]); // scale 1 at 64x64
    assert.equal(colourPixels(png), 0);
  });

  test('a colour 64x64 folder with --channels 1 trains in gray; --channels 2 is refused', async () => {
    const dir = await writeImageFolder(join(root, 'colour64'), { n: 20, width: 64, height: 48 });
    const out = join(root, 'run-c64');
    await trainImageAutoencoder({ images: dir, preset: 'cnn', channels: 1, imageSize: [64, 64], epochs: 1, out, progress: false, workers: 1, log: () => {} });
    assert.deepEqual(config(out).model.inputShape, [1, 64, 64]);
    const inferred = join(root, 'run-c64-default');
    await trainImageAutoencoder({ images: dir, preset: 'cnn', epochs: 1, out: inferred, progress: false, workers: 1, log: () => {}, limitTrain: 4 });
    assert.deepEqual(config(inferred).model.inputShape, [3, 48, 64]); // H x W of the first image, colour
    await assert.rejects(trainImageAutoencoder({ images: dir, preset: 'cnn', channels: 2, epochs: 1, out: join(root, 'x'), progress: false, log: () => {} }), /--channels: expected 1 or 3, got 2/);
    await assert.rejects(trainImageAutoencoder({ images: dir, preset: 'seed-cnn', imageSize: [64, 64], epochs: 1, out: join(root, 'y'), progress: false, log: () => {} }), /preset seed-cnn takes \[1,28,28\] only/);
  });
});

test('--resume keeps the shape the run was started with', async () => {
  const dir = await writeImageFolder(join(root, 'resume'), { n: 20, width: 40, height: 40 });
  const out = join(root, 'run-resume');
  const base = { images: dir, preset: 'cnn', out, progress: false, workers: 1 as const, log: () => {} };
  await trainImageAutoencoder({ ...base, imageSize: [24, 24], epochs: 1 });
  const lines: string[] = [];
  const r = await trainImageAutoencoder({ ...base, epochs: 2, resume: true, log: (l) => lines.push(l) });
  assert.match(lines.join('\n'), /resuming from/);
  assert.equal(r.history.length, 2);
  assert.deepEqual(config(out).model.inputShape, [3, 24, 24]); // not the images' 40x40
});

test('--stream (folders larger than memory): a uint8 cache read a batch at a time trains exactly like the in-memory path', async () => {
  const dir = await writeImageFolder(join(root, 'stream'), { n: 30, width: 20, height: 20, classes: 2 });
  writeFileSync(join(dir, 'class1', 'broken.png'), 'not a png');
  const base = { images: dir, preset: 'cnn', imageSize: [16, 16] as [number, number], channels: 3, classes: 'class1', skipBad: true, augment: 'flip', epochs: 2, seed: 2, progress: false, workers: 1 as const };
  const lines: string[] = [];
  const streamed = await trainImageAutoencoder({ ...base, stream: true, out: join(root, 'run-stream'), log: (l) => lines.push(l) });
  const inMemory = await trainImageAutoencoder({ ...base, stream: false, out: join(root, 'run-memory'), log: () => {} });
  assert.deepEqual(streamed.history.map((r) => [r.train.loss, r.valid.loss]), inMemory.history.map((r) => [r.train.loss, r.valid.loss]));
  assert.deepEqual(readFileSync(streamed.figure), readFileSync(inMemory.figure));
  const log = lines.join('\n');
  assert.match(log, /decoded 31 of 31 images into .*run-stream\/cache\/ \(uint8, read a batch at a time\)/);
  assert.match(log, /skipped 1 unreadable image \(--skip-bad\), e\.g\. .*broken\.png: /);
  assert.ok(!existsSync(join(root, 'run-stream', 'cache', 'images-u8.bin')), 'the cache is removed after training');
});

describe('one class at a time', () => {
  test('--classes on Fashion-MNIST takes names; the run records the indices', async () => {
    const out = join(root, 'run-sneaker');
    const lines: string[] = [];
    await trainImageAutoencoder({ preset: 'cnn', dataDir: testDataDir(), classes: 'sneaker,7', limitTrain: 64, limitValid: 32, epochs: 1, out, progress: false, workers: 1, log: (l) => lines.push(l) });
    assert.deepEqual(config(out).classes, [7]);
    assert.match(lines.join('\n'), /on 64 images of classes Sneaker, validating on 32/);
    // eval reads the held-out images of the run's class only; anomaly scores every class.
    const loaded = loadRun(out);
    const held = await loadRunImages(loaded.config, loaded.inputShape, { split: 'test', dataDir: testDataDir(), limit: 50 });
    assert.ok(held.n > 0 && held.labels.every((l) => l === 7));
    const all = await loadRunImages(loaded.config, loaded.inputShape, { split: 'test', dataDir: testDataDir(), limit: 50, classes: 'all' });
    assert.ok(new Set(all.labels).size > 1);
  });


  test('--classes on a class folder; anomaly defaults to the run\'s classes and warns on an every-class run', async () => {
    const dir = await writeImageFolder(join(root, 'classes'), { n: 60, width: 16, height: 16, classes: 3 });
    const one = join(root, 'run-class1');
    await trainImageAutoencoder({ images: dir, preset: 'cnn', classes: 'class1', epochs: 2, out: one, progress: false, workers: 1, log: () => {} });
    assert.deepEqual(config(one).classes, [1]);
    const a = await anomalyRun(one, { fit: 'self' });
    assert.deepEqual(a.normal, [1]);
    assert.deepEqual(a.warnings, []);
    assert.ok(a.auroc! >= 0 && a.auroc! <= 1);
    assert.equal(a.n, 6); // every class of the held-out 10% is scored
    const all = join(root, 'run-all');
    await trainImageAutoencoder({ images: dir, preset: 'cnn', epochs: 1, out: all, progress: false, workers: 1, log: () => {} });
    const b = await anomalyRun(all, { fit: 'self', normal: 'class1' });
    assert.match(b.warnings.join(), /trained on every class/);
    const c = runCli(['anomaly', all, '--fit', 'self', '--normal', 'class1']);
    assert.equal(c.code, 0, c.err);
    assert.match(c.err, /warning: the run was trained on every class/);
    await assert.rejects(trainImageAutoencoder({ images: dir, preset: 'cnn', classes: 'dog', epochs: 1, out: join(root, 'z'), progress: false, log: () => {} }), /no class "dog"; the classes are 0 class0, 1 class1, 2 class2/);
  });

  test('--augment flip,crop is recorded and seeded: the same seed gives the same losses', async () => {
    const dir = join(root, 'classes');
    const train = async (out: string, augment?: string) =>
      (await trainImageAutoencoder({ images: dir, preset: 'cnn', augment, epochs: 2, seed: 1, out: join(root, out), progress: false, workers: 1, log: () => {} })).history.map((r) => r.train.loss);
    const a = await train('aug-a', 'flip,crop');
    assert.deepEqual(await train('aug-b', 'flip,crop'), a);
    assert.notDeepEqual(await train('aug-none'), a);
    assert.deepEqual(config(join(root, 'aug-a')).augment, ['flip', 'crop']);
  });

  test('quality per channel: a perfect channel scores MSE 0 and SSIM 1', () => {
    const [c, h, w] = [3, 12, 12];
    const a = Float32Array.from({ length: c * h * w }, (_, i) => (i % 13) / 13);
    const b = a.slice();
    for (let i = 2 * h * w; i < 3 * h * w; i++) b[i] = 1 - a[i]!; // only blue differs
    const q = imageQuality(a, b, 1, h, w, c);
    assert.equal(q.channels![0]!.mse, 0);
    assert.ok(Math.abs(q.channels![1]!.ssim - 1) < 1e-9);
    assert.ok(q.channels![2]!.mse > 0);
    assert.ok(Math.abs(q.mse - q.channels![2]!.mse / 3) < 1e-9);
  });
});
