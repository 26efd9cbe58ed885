// PyTorch parity: identical initial weights (safetensors written by PyTorch) and identical
// batches (the shared mulberry32 stream) must give PyTorch's per-step losses, step-1 gradients
// and final weights. Fixtures: scripts/make_parity_fixtures.py (Debian python3-torch).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Tensor } from '../../src/graph/tensor.js';
import { bceLoss, gaussianKl, mseLoss } from '../../src/losses/index.js';
import { ConvAutoencoder } from '../../src/models/conv-autoencoder.js';
import { Linear, Module, ReLU, Sequential, Sigmoid } from '../../src/nn/index.js';
import { loadSafetensors } from '../../src/nn/safetensors.js';
import { Adam } from '../../src/optim/optimizer.js';
import { TrainingStep, type InputSpec, type StepFn } from '../../src/runtime/compile.js';
import { Rng } from '../../src/util/random.js';
import { dataSource, loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { FASHION_DIR, HAVE_FASHION } from '../helpers/fashion-data.js';
import { LstmAE } from '../helpers/models.js';

const FIX = new URL('../fixtures/parity/', import.meta.url).pathname;

class MlpAE extends Module {
  encoder = new Sequential(new Linear(20, 32), new ReLU(), new Linear(32, 4));
  decoder = new Sequential(new Linear(4, 32), new ReLU(), new Linear(32, 20), new Sigmoid());
  forward(x: Tensor) {
    return this.decoder.call(this.encoder.call(x));
  }
}


class SmallVae extends Module {
  encoder = new Sequential(new Linear(20, 16), new ReLU());
  mu = new Linear(16, 2);
  logvar = new Linear(16, 2);
  decoder = new Sequential(new Linear(2, 16), new ReLU(), new Linear(16, 20), new Sigmoid());
  forward(x: Tensor) {
    return this.encoder.call(x);
  }
}

interface ParityCase {
  model: () => Module;
  inputs: InputSpec[];
  step: StepFn;
  /** Draw one step's inputs from the shared stream. */
  draw: (rng: Rng, batch: number) => Float32Array[];
}

const uniform = (n: number) => (rng: Rng, b: number) => [rng.fillUniform(new Float32Array(b * n))];

const CASES: Record<string, ParityCase> = {
  conv: {
    model: () => new ConvAutoencoder(),
    inputs: [{ name: 'x', shape: [1, 28, 28] }],
    step: (m, [x]) => ({ loss: mseLoss(m.call(x!), x!) }),
    draw: uniform(784),
  },
  mlp: {
    model: () => new MlpAE(),
    inputs: [{ name: 'x', shape: [20] }],
    step: (m, [x]) => ({ loss: mseLoss(m.call(x!), x!) }),
    draw: uniform(20),
  },
  lstm: {
    model: () => new LstmAE(3, 16, 1),
    inputs: [{ name: 'x', shape: [10, 3] }],
    step: (m, [x]) => {
      const reversed = x!.gather(x!.ints([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]), 1);
      return { loss: mseLoss(m.call(x!), reversed) };
    },
    draw: uniform(30),
  },
  vae: {
    model: () => new SmallVae(),
    inputs: [{ name: 'x', shape: [20] }, { name: 'eps', shape: [2] }],
    step: (m, [x, eps]) => {
      const v = m as SmallVae;
      const h = v.encoder.call(x!);
      const mu = v.mu.call(h);
      const logvar = v.logvar.call(h);
      const z = mu.add(logvar.mul(0.5).exp().mul(eps!));
      const recon = v.decoder.call(z);
      const loss = bceLoss(recon, x!, 'none').sum([1]).add(gaussianKl(mu, logvar)).mean();
      return { loss };
    },
    draw: (rng, b) => [rng.fillUniform(new Float32Array(b * 20)), rng.fillNormal(new Float32Array(b * 2))],
  },
};

function relDiff(a: number, b: number, scale: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), scale, 1e-12);
}

/**
 * Train from the fixture's initial weights on `batches` and compare with PyTorch: every step's
 * loss within `lossTol` relative, the step-1 gradients, and the final weights.
 */
async function checkParity(name: string, c: ParityCase, batches: (k: number, batch: number) => Float32Array[], lossTol: number) {
  const fx = JSON.parse(readFileSync(`${FIX}${name}.json`, 'utf8'));
  const model = c.model();
  model.loadStateDict(loadSafetensors(`${FIX}${fx.init_from ?? name}.init.safetensors`).tensors);
  const step = await TrainingStep.create(model, c.inputs, c.step, {
    optimizer: new Adam({ lr: fx.lr, betas: fx.betas, eps: fx.eps }),
    exposeGradients: true,
  });
  const B = fx.batch as number;
  const expectGrads = loadSafetensors(`${FIX}${name}.grads1.safetensors`).tensors;
  for (let k = 0; k < fx.steps; k++) {
    const batch = batches(k, B);
    if (k === 0) assert.deepEqual(Array.from(batch[0]!.slice(0, 5)), fx.data_check.x0_first5, 'data stream differs from the fixture');
    if (k === 0) assert.ok(Math.abs(batch[0]!.reduce((a, v) => a + v, 0) - fx.data_check.x0_sum) < 1e-6 * fx.data_check.x0_sum, 'first batch differs from the fixture');
    const r = await step.run(batch, B);
    const want = fx.losses[k] as number;
    assert.ok(relDiff(r.loss, want, 0) < lossTol, `step ${k}: loss ${r.loss} vs PyTorch ${want} (rel ${relDiff(r.loss, want, 0).toExponential(2)})`);
    if (k === 0) {
      assert.equal(r.gradients!.size, expectGrads.size);
      for (const [pname, g] of r.gradients!) {
        const ref = expectGrads.get(pname)!.data as Float32Array;
        const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        for (let i = 0; i < ref.length; i++)
          assert.ok(relDiff(g[i]!, ref[i]!, scale) < 1e-4, `${pname}[${i}]: gradient ${g[i]} vs PyTorch ${ref[i]}`);
      }
    }
  }
  step.store.sync();
  const sd = model.stateDict();
  for (const [pname, first] of Object.entries(fx.final as Record<string, number[]>)) {
    const got = Array.from((sd.get(pname)!.data as Float32Array).slice(0, first.length));
    got.forEach((v, i) => assert.ok(Math.abs(v - first[i]!) < 1e-4, `${pname}[${i}] after 100 steps: ${v} vs PyTorch ${first[i]}`));
  }
}

for (const [name, c] of Object.entries(CASES)) {
  test(`PyTorch parity: ${name} autoencoder, 100 Adam steps`, async () => {
    const fx = JSON.parse(readFileSync(`${FIX}${name}.json`, 'utf8'));
    const rng = new Rng(fx.data_seed);
    await checkParity(name, c, (_k, b) => c.draw(rng, b), 1e-4);
  });
}

// Real images: black backgrounds give exactly tied MaxPool maxima, which random inputs never
// do, so this pins PyTorch's tie rule (the first maximum of each window gets dY).
test('PyTorch parity on the chapter\'s Fashion-MNIST images: conv autoencoder, 100 Adam steps at lr 0.002, loss within 1e-5', { skip: !HAVE_FASHION && 'dataset-fashion-mnist is not installed' }, async () => {
  const fx = JSON.parse(readFileSync(`${FIX}conv_fashion.json`, 'utf8'));
  const { images } = await loadFashionMnist('train', { ...dataSource(FASHION_DIR), limit: fx.steps * fx.batch });
  await checkParity('conv_fashion', CASES.conv!, (k, b) => [images.subarray(k * b * 784, (k + 1) * b * 784)], 1e-5);
});

test('BCE on saturated probabilities (exactly 0 and 1) has PyTorch’s value and finite gradients', async () => {
  const { Graph } = await import('../../src/graph/ir.js');
  const { Tensor } = await import('../../src/graph/tensor.js');
  const { gradients } = await import('../../src/autodiff/grad.js');
  const { emitModel } = await import('../../src/onnx/emit.js');
  const { createSession, tensor } = await import('../../src/runtime/ort.js');
  const g = new Graph();
  const p = new Tensor(g, g.input('p', 'float32', [4]));
  const t = new Tensor(g, g.input('t', 'float32', [4]));
  const loss = bceLoss(p, t, 'sum');
  const [dp] = gradients(g, loss.v, [p.v]);
  g.outputs = [loss.v, dp!];
  const s = await createSession(emitModel(g));
  const r = await s.run({ p: tensor('float32', Float32Array.of(0, 1, 0, 1), [4]), t: tensor('float32', Float32Array.of(1, 0, 0, 1), [4]) });
  // PyTorch: -(1*max(log 0, -100)) - (1*max(log(1-1), -100)) = 200 for the two wrong ones, 0 for the right ones.
  assert.equal((r[loss.v.name]!.data as Float32Array)[0], 200);
  assert.ok(Array.from(r[dp!.name]!.data as Float32Array).every(Number.isFinite));
});
