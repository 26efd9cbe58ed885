import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { arrayDataset, imageSetDataset, subset } from '../../src/data/dataset.js';
import { DataLoader, epochSeed, randomSplit } from '../../src/data/loader.js';

// Sample i of shape [2, 3] holds i*10 + 0..5, so a batch reveals which samples it holds.
function numbered(n: number, labels = true) {
  const data = new Float32Array(n * 6).map((_, k) => Math.floor(k / 6) * 10 + (k % 6));
  return arrayDataset(data, [2, 3], labels ? Int32Array.from({ length: n }, (_, i) => i % 4) : undefined);
}

function collect(loader: DataLoader, e: number) {
  const out: { n: number; idx: number[]; x: number[]; y?: number[] }[] = [];
  for (const b of loader.epoch(e)) out.push({ n: b.n, idx: Array.from(b.indices), x: Array.from(b.x), y: b.y && Array.from(b.y) });
  return out;
}

describe('DataLoader', () => {
  test('every index exactly once per epoch; the last batch has its true size', () => {
    const ds = numbered(23);
    const loader = new DataLoader({ dataset: ds, batchSize: 5, shuffle: true, seed: 1 });
    assert.equal(loader.length, 5);
    const batches = collect(loader, 0);
    assert.deepEqual(batches.map((b) => b.n), [5, 5, 5, 5, 3]);
    const all = batches.flatMap((b) => b.idx);
    assert.deepEqual([...all].sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => i));
    assert.notDeepEqual(all, Array.from({ length: 23 }, (_, i) => i)); // it really shuffled
    // x holds exactly n samples, and they are the ones named by indices, in order.
    for (const b of batches) {
      assert.equal(b.x.length, b.n * 6);
      b.idx.forEach((i, j) => assert.deepEqual(b.x.slice(j * 6, j * 6 + 6), [0, 1, 2, 3, 4, 5].map((c) => i * 10 + c)));
      assert.deepEqual(b.y, b.idx.map((i) => i % 4));
    }
  });

  test('dropLast skips the partial batch', () => {
    const loader = new DataLoader({ dataset: numbered(23), batchSize: 5, seed: 1, dropLast: true });
    assert.equal(loader.length, 4);
    const batches = collect(loader, 0);
    assert.deepEqual(batches.map((b) => b.n), [5, 5, 5, 5]);
    assert.equal(new Set(batches.flatMap((b) => b.idx)).size, 20);
  });

  test('order is a function of (seed, epoch) only: resuming reproduces it', () => {
    const ds = numbered(50);
    const a = new DataLoader({ dataset: ds, batchSize: 8, seed: 42 });
    const first = [0, 1, 2, 3].map((e) => collect(a, e).flatMap((b) => b.idx));
    // A fresh loader that starts at epoch 3 (a resumed run) sees epoch 3's order.
    const resumed = new DataLoader({ dataset: ds, batchSize: 8, seed: 42 });
    assert.deepEqual(collect(resumed, 3).flatMap((b) => b.idx), first[3]);
    assert.deepEqual(collect(resumed, 0).flatMap((b) => b.idx), first[0]);
    // Different epochs and different seeds give different orders.
    assert.notDeepEqual(first[0], first[1]);
    assert.notDeepEqual(first[1], first[2]);
    const other = new DataLoader({ dataset: ds, batchSize: 8, seed: 43 });
    assert.notDeepEqual(collect(other, 0).flatMap((b) => b.idx), first[0]);
    assert.notEqual(epochSeed(42, 0), epochSeed(42, 1));
  });

  test('shuffle: false yields 0..n-1 every epoch', () => {
    const loader = new DataLoader({ dataset: numbered(7), batchSize: 3, shuffle: false });
    for (const e of [0, 5]) assert.deepEqual(collect(loader, e).flatMap((b) => b.idx), [0, 1, 2, 3, 4, 5, 6]);
  });

  test('two buffers alternate: batch k is intact while batch k+1 is in use', () => {
    const loader = new DataLoader({ dataset: numbered(12, false), batchSize: 3, shuffle: false });
    const seen: Float32Array[] = [];
    let prev: { x: Float32Array; copy: number[] } | undefined;
    for (const b of loader.epoch(0)) {
      assert.equal(b.y, undefined); // no labels in the dataset, none in the batch
      if (prev) assert.deepEqual(Array.from(prev.x), prev.copy); // previous batch not yet overwritten
      prev = { x: b.x, copy: Array.from(b.x) };
      seen.push(b.x);
    }
    assert.equal(seen.length, 4);
    assert.equal(seen[0]!.buffer, seen[2]!.buffer);
    assert.equal(seen[1]!.buffer, seen[3]!.buffer);
    assert.notEqual(seen[0]!.buffer, seen[1]!.buffer);
  });

  test('rejects a bad batch size', () => {
    assert.throws(() => new DataLoader({ dataset: numbered(3), batchSize: 0 }), /batchSize/);
  });
});

describe('randomSplit and subset', () => {
  test('fractions cover all indices disjointly with exact rounding', () => {
    const [tr, va, te] = randomSplit(101, [0.8, 0.1, 0.1], 7);
    assert.deepEqual([tr!.length, va!.length, te!.length], [81, 10, 10]);
    const all = [...tr!, ...va!, ...te!].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: 101 }, (_, i) => i));
    assert.deepEqual(randomSplit(101, [0.8, 0.1, 0.1], 7), [tr, va, te]); // same seed, same split
    assert.notDeepEqual(randomSplit(101, [0.8, 0.1, 0.1], 8)[1], va);
  });

  test('counts may leave samples out; too many is an error', () => {
    const [a, b] = randomSplit(60000, [1000, 200], 0);
    assert.equal(a!.length, 1000);
    assert.equal(b!.length, 200);
    assert.equal(new Set([...a!, ...b!]).size, 1200);
    assert.throws(() => randomSplit(10, [8, 5], 0), /sum to 13, more than n=10/);
    assert.throws(() => randomSplit(10, [0.5, 0.2], 0), /fractions summing to 1/);
  });

  test('subset maps indices and labels through to the base dataset', () => {
    const base = numbered(10);
    const sub = subset(base, [7, 2, 9]);
    assert.equal(sub.length, 3);
    assert.deepEqual(Array.from(sub.labels!), [3, 2, 1]);
    const out = new Float32Array(12);
    sub.gather([2, 0], out);
    assert.deepEqual(Array.from(out), [90, 91, 92, 93, 94, 95, 70, 71, 72, 73, 74, 75]);
    assert.throws(() => sub.gather([3], out), /out of range/);
    assert.throws(() => subset(base, [10]), /out of range/);
  });

  test('a loader over a split subset visits exactly that part', () => {
    const base = numbered(30);
    const [, valid] = randomSplit(30, [0.7, 0.3], 3);
    const loader = new DataLoader({ dataset: subset(base, valid!), batchSize: 4, seed: 0 });
    const firstValues: number[] = [];
    for (const b of loader.epoch(0)) for (let j = 0; j < b.n; j++) firstValues.push(b.x[j * 6]! / 10);
    assert.deepEqual(firstValues.sort((a, b) => a - b), Array.from(valid!).sort((a, b) => a - b));
  });

  test('imageSetDataset wraps a loader result', () => {
    const ds = imageSetDataset({
      images: new Float32Array(2 * 4).map((_, i) => i),
      labels: Uint8Array.from([3, 1]),
      n: 2,
      shape: [1, 2, 2],
      classNames: [],
    });
    assert.equal(ds.length, 2);
    assert.deepEqual(ds.sampleShape, [1, 2, 2]);
    const out = new Float32Array(4);
    ds.gather([1], out);
    assert.deepEqual(Array.from(out), [4, 5, 6, 7]);
    assert.throws(() => arrayDataset(new Float32Array(5), [2, 2]), /not a multiple/);
  });
});
