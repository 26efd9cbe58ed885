// Seeded augmentation: flips and shifts are exact pixel moves, driven by the seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { augmentBatch, parseAugment } from '../../src/data/augment.js';
import { Rng } from '../../src/util/random.js';

const shape = [2, 4, 5];
const size = 2 * 4 * 5;
const img = (n: number) => Float32Array.from({ length: n * size }, (_, i) => i + 1);
/** An Rng whose uniform() and int() answers are scripted. */
const scripted = (uniform: number[], ints: number[]) => ({ uniform: () => uniform.shift()!, int: () => ints.shift()! }) as unknown as Rng;

test('parseAugment', () => {
  assert.deepEqual(parseAugment('flip,crop'), ['flip', 'crop']);
  assert.deepEqual(parseAugment('crop, crop'), ['crop']);
  assert.throws(() => parseAugment('rotate'), /--augment: expected a list of flip, crop, got "rotate"/);
});

test('flip mirrors every row of every channel; no flip leaves the image as is', () => {
  const x = img(2);
  const y = augmentBatch(x, 2, shape, ['flip'], scripted([0.2, 0.9], []));
  for (let ch = 0; ch < 2; ch++)
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < 5; c++) assert.equal(y[ch * 20 + r * 5 + c], x[ch * 20 + r * 5 + (4 - c)]);
  assert.deepEqual(y.subarray(size), x.subarray(size));
});

test('crop shifts by (dy, dx) with zeros coming in', () => {
  const x = img(1);
  // p = max(1, round(4/8)) = 1 rows, max(1, round(5/8)) = 1 column; int(3) - 1: 2 -> +1, 0 -> -1.
  const y = augmentBatch(x, 1, shape, ['crop'], scripted([], [2, 0]));
  for (let ch = 0; ch < 2; ch++)
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < 5; c++) {
        const sr = r + 1, sc = c - 1;
        const want = sr < 4 && sc >= 0 ? x[ch * 20 + sr * 5 + sc] : 0;
        assert.equal(y[ch * 20 + r * 5 + c], want, `ch ${ch} (${r}, ${c})`);
      }
});

test('the seed decides: same seed same batch, another seed another', () => {
  const x = img(8);
  const a = augmentBatch(x, 8, shape, ['flip', 'crop'], new Rng(3));
  assert.deepEqual(a, augmentBatch(x, 8, shape, ['flip', 'crop'], new Rng(3)));
  assert.notDeepEqual(a, augmentBatch(x, 8, shape, ['flip', 'crop'], new Rng(4)));
  assert.notDeepEqual(a, x);
});
