// Denoising corruptions: rates and statistics, swap noise drawn from the same column,
// one-hot groups corrupted as a unit, reproducibility from the seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyNoise, noiseFeeds, parseNoise, validateNoise } from '../../src/data/noise.js';
import { Rng } from '../../src/util/random.js';

const N = 400, W = 25;
/** Cell (i, j) = 1000·j + i: every value names its column and row. */
const grid = () => Float32Array.from({ length: N * W }, (_, k) => 1000 * (k % W) + Math.floor(k / W));
const within3Sigma = (count: number, trials: number, p: number) => Math.abs(count - trials * p) <= 3 * Math.sqrt(trials * p * (1 - p));

test('swap noise replaces the requested share of cells, each with a value from the same column of another row', () => {
  for (const p of [0.05, 0.15, 0.5]) {
    const x = grid();
    const mask = new Uint8Array(N * W);
    const out = applyNoise(x, N, W, { kind: 'swap', p }, new Rng(11), { mask });
    let swapped = 0;
    for (let k = 0; k < N * W; k++) {
      const j = k % W, i = Math.floor(k / W);
      const col = Math.floor(out[k]! / 1000), row = out[k]! % 1000;
      assert.equal(col, j, 'value from the same column');
      if (mask[k]) {
        swapped++;
        assert.notEqual(row, i, 'from another row');
      } else assert.equal(out[k], x[k]);
    }
    assert.ok(within3Sigma(swapped, N * W, p), `p=${p}: ${swapped} of ${N * W} cells swapped`);
    assert.deepEqual(x, grid(), 'the clean batch is left as it is');
  }
});

test('swap noise from the dataset draws other dataset rows; groups move as a unit', () => {
  const data = grid();
  const batchIdx = [5, 17, 300];
  const batch = new Float32Array(batchIdx.length * W);
  batchIdx.forEach((r, k) => batch.set(data.subarray(r * W, (r + 1) * W), k * W));
  const mask = new Uint8Array(batch.length);
  const groups = [{ offset: 10, size: 5 }];
  const out = applyNoise(batch, 3, W, { kind: 'swap', p: 0.6, from: 'dataset' }, new Rng(2), { dataset: data, rowIndex: batchIdx, groups, mask });
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < W; j++) if (mask[i * W + j]) assert.notEqual(out[i * W + j]! % 1000, batchIdx[i]);
    const rows = new Set(Array.from({ length: 5 }, (_, j) => out[i * W + 10 + j]! % 1000));
    assert.equal(rows.size, 1, 'a one-hot group comes from a single source row');
  }
  assert.throws(() => applyNoise(batch, 3, W, { kind: 'swap', p: 0.5, from: 'dataset' }, new Rng(1)), /needs the dataset rows/);
});

test('masking zeroes the requested share; Gaussian noise has mean 0 and the requested sigma, clipped on request', () => {
  const ones = new Float32Array(N * W).fill(1);
  for (const p of [0.1, 0.3]) {
    const out = applyNoise(ones, N, W, { kind: 'masking', p }, new Rng(5));
    const zeros = out.filter((v) => v === 0).length;
    assert.ok(within3Sigma(zeros, N * W, p), `masking p=${p}: ${zeros} zeros`);
  }
  const masked = applyNoise(ones, N, W, { kind: 'masking', p: 0.3, value: -1 }, new Rng(5), { groups: [{ offset: 0, size: 5 }] });
  for (let i = 0; i < N; i++) {
    const g = Array.from(masked.subarray(i * W, i * W + 5));
    assert.ok(g.every((v) => v === g[0]), 'a group is masked whole');
  }
  const sigma = 0.3;
  const g = applyNoise(ones, N, W, { kind: 'gaussian', sigma }, new Rng(6));
  const d = Array.from(g, (v) => v - 1);
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
  assert.ok(Math.abs(mean) < (3 * sigma) / Math.sqrt(d.length), `mean ${mean}`);
  assert.ok(Math.abs(sd - sigma) < 0.02 * sigma + (3 * sigma) / Math.sqrt(2 * d.length), `sd ${sd}`);
  const clipped = applyNoise(ones.map(() => 0.5), N, W, { kind: 'gaussian', sigma: 1, clip: [0, 1] }, new Rng(6));
  assert.ok(clipped.every((v) => v >= 0 && v <= 1));
  assert.ok(clipped.filter((v) => v === 0).length > 0.2 * N * W, 'about 31% sit on each bound');
});

test('salt-and-pepper sets the requested share to low or high, half each', () => {
  const half = new Float32Array(N * W).fill(0.5);
  const p = 0.2;
  const out = applyNoise(half, N, W, { kind: 'salt-pepper', p, low: -1, high: 2 }, new Rng(8));
  const lo = out.filter((v) => v === -1).length, hi = out.filter((v) => v === 2).length;
  assert.ok(within3Sigma(lo + hi, N * W, p), `${lo + hi} cells`);
  assert.ok(within3Sigma(lo, lo + hi, 0.5), `${lo} low of ${lo + hi}`);
  assert.equal(out.filter((v) => v !== -1 && v !== 2 && v !== 0.5).length, 0);
});

test('noise is reproducible from the seed and fresh for each batch', () => {
  const x = grid();
  const specs = parseNoise('swap:0.1+gaussian:0.05');
  const a = applyNoise(x, N, W, specs, new Rng(3));
  const b = applyNoise(x, N, W, specs, new Rng(3));
  assert.deepEqual(a, b);
  const rng = new Rng(3);
  const feeds = noiseFeeds(specs, W);
  const batch = { x, n: N, indices: Int32Array.from({ length: N }, (_, i) => i) };
  const [n1, c1] = feeds(batch, rng);
  const [n2] = feeds(batch, rng);
  assert.equal(c1, x, 'the clean batch is the target');
  assert.notDeepEqual(n1, n2, 'the next batch draws new noise');
});

test('noise specs are validated with clear messages', () => {
  assert.deepEqual(parseNoise('swap:0.15'), [{ kind: 'swap', p: 0.15, from: 'batch' }]);
  assert.deepEqual(parseNoise('gaussian:0.1:0:1'), [{ kind: 'gaussian', sigma: 0.1, clip: [0, 1] }]);
  assert.deepEqual(parseNoise('masking:0.2'), [{ kind: 'masking', p: 0.2 }]);
  assert.throws(() => parseNoise('swap:1.5'), /probability p must be a number in \[0, 1\]/);
  assert.throws(() => parseNoise('blur:3'), /unknown kind "blur"/);
  assert.throws(() => validateNoise({ kind: 'swap', p: 0.1, sigma: 2 }), /unknown key "sigma" for swap noise/);
});
