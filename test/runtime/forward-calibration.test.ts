// ForwardGraph's layout calibration: whichever onnxruntime session it keeps, the outputs are
// those of the plain graph; small batches do not trigger it; concurrent first runs are safe.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConvAutoencoder } from '../../src/models/conv-autoencoder.js';
import { manualSeed } from '../../src/nn/init.js';
import { ForwardGraph, ParamStore, type StepFn } from '../../src/runtime/compile.js';
import { Rng } from '../../src/util/random.js';

const fn: StepFn = (m, [x]) => ({ loss: x!.sum(), outputs: { y: m.call(x!) } });

async function graphs() {
  manualSeed(3);
  const model = new ConvAutoencoder();
  const store = new ParamStore(model);
  const specs = [{ name: 'x', shape: [1, 28, 28] }];
  const plain = await ForwardGraph.create(model, specs, fn, store, { withLoss: false });
  const calibrated = await ForwardGraph.create(model, specs, fn, store, { withLoss: false, calibrateLayout: true });
  return { plain, calibrated };
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

test('a calibrated graph gives the plain graph\'s outputs, before and after it picks a layout', async () => {
  const { plain, calibrated } = await graphs();
  const x = new Rng(1).fillUniform(new Float32Array(100 * 784));
  const small = x.subarray(0, 8 * 784);
  // 8 samples (< 16): too few to calibrate on; the default layout is kept for now.
  assert.ok(maxDiff((await calibrated.run([small], 8)).outputs.y!, (await plain.run([small], 8)).outputs.y!) < 1e-5);
  assert.equal(calibrated.layoutOptimizations, true);
  // Two concurrent first runs of a large batch: one calibrates, the other waits for it.
  const [a, b] = await Promise.all([calibrated.run([x], 100), calibrated.run([x], 100)]);
  const want = (await plain.run([x], 100)).outputs.y!;
  assert.ok(maxDiff(a.outputs.y!, want) < 1e-5);
  assert.ok(maxDiff(b.outputs.y!, want) < 1e-5);
  assert.equal(typeof calibrated.layoutOptimizations, 'boolean');
  // And after the choice, the graph still answers correctly.
  assert.ok(maxDiff((await calibrated.run([small], 8)).outputs.y!, (await plain.run([small], 8)).outputs.y!) < 1e-5);
  await plain.release();
  await calibrated.release();
});

test('both layouts give the same outputs (so calibration can only change speed)', async () => {
  manualSeed(4);
  const model = new ConvAutoencoder();
  const store = new ParamStore(model);
  const specs = [{ name: 'x', shape: [1, 28, 28] }];
  const withPass = await ForwardGraph.create(model, specs, fn, store, { withLoss: false, layoutOptimizations: true });
  const without = await ForwardGraph.create(model, specs, fn, store, { withLoss: false, layoutOptimizations: false });
  assert.equal(without.layoutOptimizations, false);
  const x = new Rng(2).fillUniform(new Float32Array(70 * 784));
  assert.ok(maxDiff((await withPass.run([x], 70)).outputs.y!, (await without.run([x], 70)).outputs.y!) < 1e-5);
  await withPass.release();
  await without.release();
});
