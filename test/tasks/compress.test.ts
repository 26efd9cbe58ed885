// compress / decompress: float16 conversion, int8 quantization, the .lkc container, and the
// round trip's compression ratio and PSNR through the CLI and the API.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { PNG } from 'pngjs';
import { loadRun, runAutoencoder } from '../../src/train/run-folder.js';
import { compressRun, decodeLkc, decompressFile, dequantizeCodes, fromFloat16Bits, quantizeCodes, toFloat16Bits } from '../../src/tasks/compress/compress.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { readIdx } from '../../src/data/idx.js';
import { psnr } from '../../src/metrics/image-quality.js';
import { Rng } from '../../src/util/random.js';
import { runCli } from '../helpers/cli.js';
import { testDataDir, tinyRun, tmp } from '../helpers/tiny-run.js';

const cli = (args: string[]) => runCli(args);

let run: string;
before(async () => {
  run = await tinyRun();
});

test('float16: exact on representable values, round to nearest even, subnormals, Inf and NaN', () => {
  const exact = [0, 1, -2, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 3 * 2 ** -24, 1.5, 1023.5];
  for (const x of exact) assert.equal(fromFloat16Bits(toFloat16Bits(x)), x, String(x));
  assert.equal(toFloat16Bits(1), 0x3c00);
  assert.equal(toFloat16Bits(-0), 0x8000);
  assert.equal(fromFloat16Bits(toFloat16Bits(1 + 2 ** -11)), 1); // a tie rounds to even
  assert.equal(fromFloat16Bits(toFloat16Bits(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
  assert.equal(fromFloat16Bits(toFloat16Bits(1e6)), Infinity);
  assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN))));
  const rng = new Rng(2);
  for (let i = 0; i < 1000; i++) {
    const x = (rng.uniform() - 0.5) * 200;
    assert.ok(Math.abs(fromFloat16Bits(toFloat16Bits(x)) - x) <= Math.abs(x) * 2 ** -11 + 1e-12, String(x));
  }
});

test('int8 codes: per-dimension scale, error at most half a step; a constant dimension is exact', () => {
  const n = 500, dim = 3;
  const rng = new Rng(3);
  const codes = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    codes[i * dim] = rng.uniform() * 10;
    codes[i * dim + 1] = -5 + rng.uniform();
    codes[i * dim + 2] = 2.5;
  }
  const q = quantizeCodes(codes, n, dim, 'int8');
  assert.equal(q.bytes.length, n * dim);
  const back = dequantizeCodes(q, n, dim);
  for (let i = 0; i < n * dim; i++) {
    const j = i % dim;
    assert.ok(Math.abs(back[i]! - codes[i]!) <= q.scale![j]! / 2 + 1e-6, `value ${i}`);
  }
  for (let i = 0; i < n; i++) assert.equal(back[i * dim + 2], 2.5);
  assert.deepEqual(dequantizeCodes(quantizeCodes(codes, n, dim, 'float32'), n, dim), codes);
});

test('compress --dtype float32 / int8: ratio, round-trip PSNR, decompress to PNG and IDX', async () => {
  const dir = tmp();
  const limit = 500;
  const data = await loadFashionMnist('test', { dataDir: testDataDir(), searchSystem: false, download: false, limit });
  const ref = await runAutoencoder(loadRun(run), data.images, limit);
  let mse = 0;
  for (let i = 0; i < ref.recon.length; i++) mse += (ref.recon[i]! - data.images[i]!) ** 2;
  const results: Record<string, { ratio: number; codesRatio: number; psnr: number }> = {};
  for (const dtype of ['float32', 'int8'] as const) {
    const path = join(dir, `c-${dtype}.lkc`);
    const r = await compressRun(run, { out: path, dtype, limit, dataDir: testDataDir() });
    const bytes = readFileSync(path);
    assert.equal(r.fileBytes, bytes.length);
    assert.equal(r.rawBytes, limit * 784);
    assert.equal(r.codesBytes, limit * 4 * (dtype === 'float32' ? 4 : 1));
    assert.ok(Math.abs(r.ratio - (limit * 784) / bytes.length) < 1e-9);
    assert.equal(r.codesRatio, dtype === 'float32' ? 49 : 196);
    results[dtype] = { ratio: r.ratio, codesRatio: r.codesRatio, psnr: r.roundTrip.psnr };
    if (dtype === 'float32') {
      // float32 codes are lossless: the round trip is the model's own reconstruction.
      const f = decodeLkc(bytes);
      assert.deepEqual(f.codes, ref.codes);
      assert.ok(Math.abs(r.roundTrip.mse - mse / ref.recon.length) < 1e-7);
    }
    assert.ok(Math.abs(r.roundTrip.psnr - r.reference.psnr) < (dtype === 'int8' ? 0.5 : 1e-6), `${dtype}: ${r.roundTrip.psnr} vs ${r.reference.psnr}`);
  }
  // With few images the decoder's 13 kB dominate the file; the codes alone shrink 4x.
  assert.ok(results.int8!.ratio > results.float32!.ratio);
  assert.ok(results.float32!.psnr > 5, `PSNR ${results.float32!.psnr}`);

  // The CLI prints the same numbers; decompress works from the file alone.
  const c = cli(['compress', run, '-o', join(dir, 'cli.lkc'), '--dtype', 'int8', '--limit', String(limit), '--data-dir', testDataDir()]);
  assert.equal(c.code, 0, c.err);
  const m = /compression ratio: ([\d.]+)x with the decoder, ([\d.]+)x codes alone/.exec(c.out);
  assert.ok(m, c.out);
  assert.equal(Number(m[2]), 196);
  assert.match(c.out, /round trip: PSNR [\d.]+ dB\s+SSIM [\d.]+/);
  const png = join(dir, 'recon.png');
  const d = cli(['decompress', join(dir, 'cli.lkc'), '-o', png, '--count', '16', '--compare', '--data-dir', testDataDir()]);
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, /vs the originals: PSNR [\d.]+ dB/);
  const img = PNG.sync.read(readFileSync(png));
  assert.ok(img.width >= 4 * 28 && img.width <= 4 * 28 + 10, `width ${img.width}`);
  const idx = join(dir, 'recon-idx3-ubyte.gz');
  assert.equal(cli(['decompress', join(dir, 'cli.lkc'), '-o', idx]).code, 0);
  const arr = readIdx(idx);
  assert.deepEqual(arr.shape, [limit, 28, 28]);
  const back = await decompressFile(join(dir, 'cli.lkc'));
  let e = 0;
  for (let i = 0; i < back.recon.length; i++) e += (arr.data[i]! / 255 - back.recon[i]!) ** 2;
  assert.ok(psnr(e / back.recon.length) > 45, 'IDX holds the reconstructions to 8 bits');
});

test('decompress refuses a truncated or foreign file with a clear message', async () => {
  const dir = tmp();
  const path = join(dir, 'x.lkc');
  await compressRun(run, { out: path, dtype: 'float16', limit: 20, dataDir: testDataDir() });
  const bytes = readFileSync(path);
  writeFileSync(join(dir, 'cut.lkc'), bytes.subarray(0, bytes.length - 10));
  await assert.rejects(decompressFile(join(dir, 'cut.lkc')), /truncated or corrupt/);
  writeFileSync(join(dir, 'png.lkc'), Buffer.from('\x89PNG\r\n\x1a\n....'));
  await assert.rejects(decompressFile(join(dir, 'png.lkc')), /not a latentkit codes file/);
  const ok = await decompressFile(path);
  assert.equal(ok.header.dtype, 'float16');
  assert.equal(ok.recon.length, 20 * 784);
});
