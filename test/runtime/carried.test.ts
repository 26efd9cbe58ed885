// Preallocated carried outputs (TrainingOptions.preallocateOutputs): the same training as with
// onnxruntime's fresh outputs, and ParamStore.snapshot() survives the steps that reuse buffers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor } from '../../src/graph/tensor.js';
import { mseLoss } from '../../src/losses/index.js';
import { BatchNorm1d, Linear, manualSeed, Module, ReLU, Sequential } from '../../src/nn/index.js';
import { Adam } from '../../src/optim/optimizer.js';
import { NonFiniteError, TrainingStep } from '../../src/runtime/compile.js';
import { Rng } from '../../src/util/random.js';

// BatchNorm brings float and int64 running buffers into the carried set.
class Net extends Module {
  body = new Sequential(new Linear(6, 12), new BatchNorm1d(12), new ReLU(), new Linear(12, 6));
  forward(x: Tensor) {
    return this.body.call(x);
  }
}
const recon = (m: Module, [x]: Tensor[]) => ({ loss: mseLoss(m.call(x!), x!) });

// The in-graph update, so parameters and Adam state are carried outputs too (the host update
// writes them in place instead: test/runtime/host-update.test.ts).
async function make(preallocateOutputs: boolean) {
  manualSeed(5);
  return TrainingStep.create(new Net(), [{ name: 'x', shape: [6] }], recon, { optimizer: new Adam({ lr: 0.05 }), preallocateOutputs, hostUpdate: false });
}
const batches = (() => {
  const rng = new Rng(7);
  return Array.from({ length: 4 }, () => rng.fillUniform(new Float32Array(8 * 6)));
})();
const values = (s: TrainingStep) => new Map([...s.store.values].map(([k, t]) => [k, Array.from(t.data as Float32Array, Number)]));

test('preallocated outputs train exactly as fresh outputs (losses, parameters, Adam state, running stats)', async () => {
  const [fresh, pre] = [await make(false), await make(true)];
  for (const x of batches) assert.equal((await pre.run([x], 8)).loss, (await fresh.run([x], 8)).loss);
  assert.deepEqual(values(pre), values(fresh));
  assert.ok(pre.store.values.has('body.1.num_batches_tracked'));
  await Promise.all([fresh.release(), pre.release()]);
});

test('a snapshot is not aliased by later steps; a raw reference is (two buffer sets in turn)', async () => {
  const step = await make(true);
  await step.run([batches[0]!], 8);
  const raw = step.store.values.get('body.0.weight')!;
  const snap = step.store.snapshot();
  const before = Float32Array.from(raw.data as Float32Array);
  await step.run([batches[1]!], 8);
  // The next step wrote the other set: the raw tensor is still step 1's (inputs never aliased).
  assert.deepEqual(raw.data, before);
  assert.notEqual(step.store.values.get('body.0.weight'), raw);
  await step.run([batches[2]!], 8);
  assert.equal(step.store.values.get('body.0.weight'), raw, 'step 3 reuses step 1 buffers');
  assert.notDeepEqual(raw.data, before);
  assert.deepEqual(snap.get('body.0.weight')!.data, before);
  await step.release();
});

test('a failed step (NaN loss) leaves the current values in place with preallocated outputs', async () => {
  const step = await make(true);
  await step.run([batches[0]!], 8);
  const snap = values(step);
  const bad = batches[1]!.slice();
  bad[3] = 1e38;
  await assert.rejects(step.run([bad], 8), NonFiniteError);
  assert.deepEqual(values(step), snap);
  assert.equal((await step.run([batches[1]!], 8)).loss > 0, true);
  await step.release();
});
