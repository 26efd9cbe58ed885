// The optimizer update on the host (WebAssembly kernels) against the in-graph update it
// replaces: the same float32 operations in the same order, so parameters and optimizer state
// must match bit for bit, step after step.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Tensor } from '../../src/graph/tensor.js';
import { mseLoss } from '../../src/losses/index.js';
import { Linear, Module, ReLU, Sequential } from '../../src/nn/index.js';
import { manualSeed } from '../../src/nn/init.js';
import { Adam, AdamW, SGD, type Optimizer } from '../../src/optim/optimizer.js';
import { TrainingStep, type ParamStore } from '../../src/runtime/compile.js';
import { createTrainingStep, DataParallelStep } from '../../src/runtime/parallel.js';
import { Rng } from '../../src/util/random.js';
import { kernelsModule } from '../../scripts/build-kernels.mjs';
import { LstmAE } from '../helpers/models.js';

const recon = (m: Module, [x]: Tensor[]) => ({ loss: mseLoss(m.call(x!), x!) });
// Sizes that are not multiples of the kernels' 4 lanes, so the padded tails are exercised.
const mlp = () => new Sequential(new Linear(13, 7), new ReLU(), new Linear(7, 13));

function values(store: ParamStore): Map<string, Float32Array> {
  return new Map([...store.values].map(([k, t]) => [k, Float32Array.from(t.data as Float32Array)]));
}

function assertSame(a: Map<string, Float32Array>, b: Map<string, Float32Array>, what: string) {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, v] of a) {
    const w = b.get(k)!;
    const i = v.findIndex((x, j) => !Object.is(x, w[j]));
    assert.equal(i, -1, `${what}: ${k}[${i}] ${v[i]} vs ${w[i]}`);
  }
}

async function train(opt: () => Optimizer, hostUpdate: boolean, o: { workers?: number; clip?: number; steps?: number } = {}) {
  manualSeed(3);
  const model = mlp();
  const step = await createTrainingStep(model, [{ name: 'x', shape: [13] }], recon, { optimizer: opt(), hostUpdate, workers: o.workers ?? 1, clipGradNorm: o.clip });
  const rng = new Rng(5);
  const losses: number[] = [];
  try {
    for (let i = 0; i < (o.steps ?? 6); i++) losses.push((await step.run([rng.fillNormal(new Float32Array(9 * 13))], 9)).loss);
    return { losses, values: values(step.store), step };
  } finally {
    await step.release();
  }
}

const optimizers: [string, () => Optimizer][] = [
  ['Adam', () => new Adam({ lr: 0.01 })],
  ['Adam with weight decay', () => new Adam({ lr: 0.01, weight_decay: 0.05 })],
  ['AdamW', () => new AdamW({ lr: 0.01 })],
  ['SGD', () => new SGD({ lr: 0.05 })],
  ['SGD with momentum and weight decay', () => new SGD({ lr: 0.05, momentum: 0.9, weight_decay: 0.01 })],
  ['SGD with Nesterov momentum', () => new SGD({ lr: 0.05, momentum: 0.9, nesterov: true })],
];

for (const [name, opt] of optimizers)
  test(`${name}: the host update equals the in-graph update bit for bit`, async () => {
    const graph = await train(opt, false);
    const host = await train(opt, true);
    assert.equal((graph.step as TrainingStep).hostUpdate, false);
    assert.equal((host.step as TrainingStep).hostUpdate, true);
    assert.deepEqual(host.losses, graph.losses);
    assertSame(host.values, graph.values, name);
    // Not vacuous: training moved the parameters.
    const first = await train(opt, true, { steps: 1 });
    assert.notDeepEqual([...first.values.get('0.weight')!], [...host.values.get('0.weight')!]);
  });

test('with gradient clipping and with two data-parallel workers, host and graph updates agree bit for bit', async () => {
  const opt = () => new Adam({ lr: 0.01 });
  // Data parallel with clipping keeps the optimizer graph (the global norm's summation order).
  const clippedDp = await train(opt, true, { workers: 2, clip: 0.5 });
  assert.equal((clippedDp.step as DataParallelStep).hostUpdate, false);
  assertSame((await train(opt, true, { clip: 0.5 })).values, (await train(opt, false, { clip: 0.5 })).values, 'clipped');
  const host = await train(opt, true, { workers: 2 });
  const graph = await train(opt, false, { workers: 2 });
  assert.ok(host.step instanceof DataParallelStep && graph.step instanceof DataParallelStep);
  assert.equal(host.step.hostUpdate, true);
  assert.equal(graph.step.hostUpdate, false);
  assert.deepEqual(host.losses, graph.losses);
  assertSame(host.values, graph.values, '2 workers');
});

test("an LSTM's two biases share one gradient value: the host update still updates both", async () => {
  const run = async (hostUpdate: boolean) => {
    manualSeed(1);
    const step = await TrainingStep.create(new LstmAE(3, 5, 1), [{ name: 'x', shape: [4, 3] }], recon, { optimizer: new Adam({ lr: 0.01 }), hostUpdate });
    const rng = new Rng(2);
    for (let i = 0; i < 3; i++) await step.run([rng.fillNormal(new Float32Array(2 * 12))], 2);
    await step.release();
    return values(step.store);
  };
  assertSame(await run(true), await run(false), 'LSTM');
});

test('values put into the store between steps (a restored checkpoint) are taken over by the host update', async () => {
  manualSeed(3);
  const model = mlp();
  const step = await TrainingStep.create(model, [{ name: 'x', shape: [13] }], recon, { optimizer: new Adam({ lr: 0.01 }) });
  const x = new Rng(5).fillNormal(new Float32Array(9 * 13));
  await step.run([x], 9);
  const before = values(step.store);
  await step.run([x], 9);
  // Put the first step's values back, as restoring a checkpoint does (new tensors in the map).
  const { tensor } = await import('../../src/runtime/ort.js');
  for (const [k, v] of before) step.store.values.set(k, tensor('float32', Float32Array.from(v), [...step.store.values.get(k)!.dims]));
  step.store.step = 1;
  await step.run([x], 9);
  const again = values(step.store);
  await step.release();

  manualSeed(3);
  const ref = await TrainingStep.create(mlp(), [{ name: 'x', shape: [13] }], recon, { optimizer: new Adam({ lr: 0.01 }) });
  await ref.run([x], 9);
  await ref.run([x], 9);
  const expected = values(ref.store);
  await ref.release();
  assertSame(again, expected, 'after restore');
});

test('src/optim/kernels-wasm.ts is kernels.wat compiled (run `node scripts/build-kernels.mjs` after editing the .wat)', async () => {
  assert.equal(readFileSync(new URL('../../src/optim/kernels-wasm.ts', import.meta.url), 'utf8'), await kernelsModule());
});
