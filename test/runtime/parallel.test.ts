// Data-parallel training (worker threads sharing each batch) against one thread.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor } from '../../src/graph/tensor.js';
import { mseLoss } from '../../src/losses/index.js';
import { ConvAutoencoder } from '../../src/models/conv-autoencoder.js';
import { BatchNorm1d, Dropout, Linear, Module, ReLU, Sequential } from '../../src/nn/index.js';
import { manualSeed } from '../../src/nn/init.js';
import { Adam, SGD } from '../../src/optim/optimizer.js';
import { TrainingStep } from '../../src/runtime/compile.js';
import { createTrainingStep, DataParallelStep } from '../../src/runtime/parallel.js';
import { Rng } from '../../src/util/random.js';
import { LstmAE } from '../helpers/models.js';

const recon = (m: Module, [x]: Tensor[]) => ({ loss: mseLoss(m.call(x!), x!) });

async function losses(workers: number, sizes: number[]) {
  manualSeed(0);
  const model = new ConvAutoencoder();
  const step = await createTrainingStep(model, [{ name: 'x', shape: [1, 28, 28] }], recon, { optimizer: new Adam({ lr: 0.02 }), workers, clipGradNorm: 5 });
  const rng = new Rng(1);
  const out: number[] = [];
  for (const n of sizes) out.push((await step.run([rng.fillUniform(new Float32Array(n * 784))], n)).loss);
  step.store.sync();
  await step.release();
  return { out, weights: model.stateDict().get('decoder.4.weight')!.data as Float32Array, step };
}

test('two workers give the same losses and weights as one thread, including odd and tiny final batches', async () => {
  const sizes = [32, 32, 17, 32, 1, 32];
  const one = await losses(1, sizes);
  const two = await losses(2, sizes);
  assert.ok(two.step instanceof DataParallelStep);
  assert.ok(one.step instanceof TrainingStep);
  one.out.forEach((l, i) => assert.ok(Math.abs(l - two.out[i]!) / l < 1e-5, `step ${i}: ${l} vs ${two.out[i]}`));
  let maxDiff = 0;
  one.weights.forEach((w, i) => (maxDiff = Math.max(maxDiff, Math.abs(w - two.weights[i]!))));
  assert.ok(maxDiff < 1e-5, `weights differ by ${maxDiff}`);
});

test('data-parallel dropout draws one seeded stream: same seed, same losses', async () => {
  class Net extends Module {
    body = new Sequential(new Linear(8, 16), new ReLU(), new Dropout(0.3), new Linear(16, 8));
    forward(x: Tensor) {
      return this.body.call(x);
    }
  }
  const run = async (spinMs?: number) => {
    manualSeed(3);
    const step = await createTrainingStep(new Net(), [{ name: 'x', shape: [8] }], recon, { optimizer: new Adam({ lr: 0.01 }), workers: 2, seed: 9, spinMs });
    const rng = new Rng(2);
    const ls: number[] = [];
    for (let i = 0; i < 5; i++) ls.push((await step.run([rng.fillUniform(new Float32Array(16 * 8))], 16)).loss);
    await step.release();
    return ls;
  };
  const [a, b] = [await run(), await run()];
  assert.deepEqual(a, b);
  assert.ok(new Set(a).size > 1);
  // Polling for replies (spinMs) or waiting for the event loop: the same steps.
  assert.deepEqual(await run(0), a);
  assert.deepEqual(await run(5), a);
});

test("'auto' keeps one thread for models with BatchNorm (per-share statistics would differ)", async () => {
  class Bn extends Module {
    body = new Sequential(new Linear(4, 4), new BatchNorm1d(4));
    forward(x: Tensor) {
      return this.body.call(x);
    }
  }
  const step = await createTrainingStep(new Bn(), [{ name: 'x', shape: [4] }], recon, { optimizer: new Adam(), workers: 'auto' });
  assert.ok(step instanceof TrainingStep);
  await step.release();
  await assert.rejects(DataParallelStep.create(new Bn(), [{ name: 'x', shape: [4] }], recon, { optimizer: new Adam(), workers: 2 }), /BatchNorm/);
});

test('LSTM: two workers take the same gradient step as one thread (biases sharing a gradient value counted once)', async () => {
  // SGD, so each parameter's change is -lr x its gradient; a double-counted gradient would double it.
  const change = async (workers: number) => {
    manualSeed(4);
    const model = new LstmAE(5, 6, 2);
    const before = new Map([...model.stateDict()].map(([k, t]) => [k, Float32Array.from(t.data as Float32Array)]));
    const step = await createTrainingStep(model, [{ name: 'x', shape: [7, 5] }], recon, { optimizer: new SGD({ lr: 1 }), workers });
    await step.run([new Rng(8).fillUniform(new Float32Array(9 * 7 * 5))], 9);
    step.store.sync();
    await step.release();
    return new Map([...model.stateDict()].map(([k, t]) => [k, (t.data as Float32Array).map((v, i) => before.get(k)![i]! - v)]));
  };
  const [one, two] = [await change(1), await change(2)];
  for (const [k, d1] of one) {
    const d2 = two.get(k)!;
    const norm = Math.hypot(...d1);
    const diff = Math.hypot(...d1.map((v, i) => v - d2[i]!));
    // (The decoder's input weights see only zeros: no gradient on either path.)
    if (k.includes('bias')) assert.ok(norm > 0, `${k}: no gradient`);
    assert.ok(diff <= 1e-4 * norm, `${k}: gradient differs by ${diff} (norm ${norm})`);
  }
  assert.ok(one.has('encoder.bias_hh_l1'));
});
