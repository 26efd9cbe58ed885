// The variational autoencoder: gradients of its objective, PyTorch parity of the MLP VAE, KL
// warm-up, training on Fashion-MNIST, and the generate / interpolate / manifold / latent-plot
// commands and their figures.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { test } from 'node:test';
import { fashionDataDir } from '../helpers/fashion-data.js';
import { PNG } from 'pngjs';
import { pca, pcaTransform } from '../../src/numerics/pca.js';
import { trainImageAutoencoder } from '../../src/tasks/image/train.js';
import { generateSamples, latentManifold, latentPoints, latentScatterSvg, loadVaeRun, normalQuantile, samplesPng } from '../../src/tasks/vae/vae.js';
import { klWeight, vaeFeeds, vaeInputs, vaeStep, VariationalAutoencoder } from '../../src/models/vae.js';
import { buildModel, getPreset } from '../../src/models/presets.js';
import { manualSeed } from '../../src/nn/init.js';
import { loadSafetensors } from '../../src/nn/safetensors.js';
import { Adam } from '../../src/optim/optimizer.js';
import { exportOnnx } from '../../src/onnx/export.js';
import { ParamStore, TrainingStep } from '../../src/runtime/compile.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { Rng } from '../../src/util/random.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { tempDir } from '../helpers/tmp.js';

const FIX = new URL('../fixtures/parity/', import.meta.url).pathname;
const FMNIST = '/usr/share/datasets/fashion-mnist';
const HAVE_FMNIST = existsSync(join(FMNIST, 'train-images-idx3-ubyte.gz'));
const tmp = () => tempDir('latentkit-vae-');

function randomize(m: VariationalAutoencoder, seed: number): VariationalAutoencoder {
  const rng = new Rng(seed);
  for (const [, p] of m.namedParameters()) rng.fillUniform(p.data, -0.5, 0.5);
  return m;
}

// ---------------- the model ----------------

test('MLP VAE: PyTorch state_dict names, code = mu, eval forward is deterministic and exports', () => {
  const m = new VariationalAutoencoder({ kind: 'mlp', inputShape: [20], hidden: [16], latent: 2 });
  assert.deepEqual([...m.stateDict().keys()], [
    'encoder.0.weight', 'encoder.0.bias', 'mu.weight', 'mu.bias', 'logvar.weight', 'logvar.bias',
    'decoder.0.weight', 'decoder.0.bias', 'decoder.2.weight', 'decoder.2.bias',
  ]);
  assert.deepEqual(m.codeShape(), [2]);
  // The exported autoencoder decodes mu: no random inputs.
  const bytes = exportOnnx(m, { inputs: [{ name: 'input', shape: [20] }] });
  assert.ok(bytes.length > 0);
  const conv = new VariationalAutoencoder({ kind: 'conv', latent: 3, width: 4 });
  assert.ok(conv.stateDict().has('mu.weight') && conv.stateDict().has('decoder.0.weight'));
  assert.deepEqual(conv.stateDict().get('mu.weight')!.shape, [3, 8 * 49]);
});

// ---------------- gradients ----------------

async function checkVaeGrad(m: VariationalAutoencoder, inputShape: number[], recon: 'bce' | 'mse', batch: number): Promise<void> {
  const size = inputShape.reduce((a, b) => a * b, 1);
  const rng = new Rng(21);
  const x = rng.fillUniform(new Float32Array(batch * size), 0.1, 0.9);
  const eps = rng.fillNormal(new Float32Array(batch * m.latent));
  const beta = Float32Array.from({ length: batch }, (_, i) => 0.25 + 0.5 * i);
  const r = await gradCheck(
    [{ shape: ['N', ...inputShape], data: x }, { shape: ['N', m.latent], data: eps }, { shape: ['N', 1], data: beta }],
    ([xt, et, bt]) => vaeStep({ recon, noiseInput: true, betaInput: true })(m, [xt!, et!, bt!]).loss,
    { module: m, batch },
  );
  assert.ok(Math.abs(r.analytic) > 1e-3, `degenerate check: ${JSON.stringify(r)}`);
  assert.ok(r.relError < 1e-2, `${recon}: analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relError.toExponential(2)})`);
}

test('gradient check: MLP VAE loss (BCE and MSE, fed eps and per-sample beta) w.r.t. inputs and parameters', async () => {
  const m = randomize(new VariationalAutoencoder({ kind: 'mlp', inputShape: [6], hidden: [5, 4], latent: 3 }), 3);
  await checkVaeGrad(m, [6], 'bce', 3);
  await checkVaeGrad(m, [6], 'mse', 3);
});

test('gradient check: convolutional VAE loss', async () => {
  manualSeed(4);
  const m = new VariationalAutoencoder({ kind: 'conv', latent: 2, width: 2 });
  await checkVaeGrad(m, [1, 28, 28], 'bce', 2);
});

test('gradient check: VAE loss with noise drawn by the runtime (in-graph random input)', async () => {
  const m = randomize(new VariationalAutoencoder({ kind: 'mlp', inputShape: [5], hidden: [4], latent: 2 }), 8);
  const x = new Rng(2).fillUniform(new Float32Array(3 * 5), 0.1, 0.9);
  const r = await gradCheck([{ shape: ['N', 5], data: x }], ([xt]) => vaeStep({ beta: 0.7 })(m, [xt!]).loss, { module: m, batch: 3, seed: 3 });
  assert.ok(Math.abs(r.analytic) > 1e-2, `degenerate check: ${JSON.stringify(r)}`);
  assert.ok(r.relError < 1e-2, `analytic ${r.analytic} vs numeric ${r.numeric}`);
});

test('saturated decoder (Sigmoid rounds to exactly 0 or 1): loss and gradients stay finite', async () => {
  const m = new VariationalAutoencoder({ kind: 'mlp', inputShape: [4], hidden: [3], latent: 2 });
  const last = m.decoder.at(2) as unknown as { bias: { data: Float32Array } };
  last.bias.data.set([40, -120, 40, -120]);
  const step = await TrainingStep.create(m, vaeInputs([4], 2), vaeStep({ recon: 'bce' }), { optimizer: new Adam({ lr: 1e-3 }), exposeGradients: true });
  // Targets opposite to the saturated outputs: BCE is large but finite, gradients are finite.
  const r = await step.run([Float32Array.of(0, 1, 0, 1, 1, 1, 0, 0)], 2);
  assert.ok(Number.isFinite(r.loss) && r.loss > 100, `loss ${r.loss}`);
  for (const [name, g] of r.gradients!) assert.ok(g.every(Number.isFinite), `${name} gradient is not finite`);
  await step.release();
});

// ---------------- PyTorch parity ----------------

test('PyTorch parity: VariationalAutoencoder (MLP) reproduces the vae fixture, eps from the shared stream', async () => {
  const fx = JSON.parse(readFileSync(`${FIX}vae.json`, 'utf8'));
  const model = new VariationalAutoencoder({ kind: 'mlp', inputShape: [20], hidden: [16], latent: fx.latent });
  model.loadStateDict(loadSafetensors(`${FIX}vae.init.safetensors`).tensors);
  const step = await TrainingStep.create(model, vaeInputs([20], fx.latent, { noiseInput: true }), vaeStep({ recon: 'bce', noiseInput: true }), {
    optimizer: new Adam({ lr: fx.lr, betas: fx.betas, eps: fx.eps }),
    exposeGradients: true,
  });
  const rng = new Rng(fx.data_seed);
  const B = fx.batch as number;
  const grads1 = loadSafetensors(`${FIX}vae.grads1.safetensors`).tensors;
  for (let k = 0; k < 10; k++) {
    const x = rng.fillUniform(new Float32Array(B * 20));
    const eps = rng.fillNormal(new Float32Array(B * fx.latent));
    if (k === 0) {
      assert.deepEqual(Array.from(x.slice(0, 5)), fx.data_check.x0_first5);
      assert.deepEqual(Array.from(eps.slice(0, 5)), fx.data_check.eps0_first5);
    }
    const r = await step.run([x, eps], B);
    const want = fx.losses[k] as number;
    assert.ok(Math.abs(r.loss - want) / Math.abs(want) < 1e-4, `step ${k}: loss ${r.loss} vs PyTorch ${want}`);
    assert.ok(Math.abs(r.metrics.recon! + r.metrics.kl! - r.loss) < 1e-3 * Math.abs(want), 'recon + kl = loss at beta 1');
    assert.ok(Math.abs(r.metrics.elbo! + r.loss) < 1e-6 * Math.abs(want) + 1e-5, 'elbo = -loss at beta 1');
    if (k === 0) {
      assert.equal(r.gradients!.size, grads1.size);
      for (const [name, g] of r.gradients!) {
        const ref = grads1.get(name)!.data as Float32Array;
        const scale = ref.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
        ref.forEach((v, i) => assert.ok(Math.abs(g[i]! - v) <= 1e-4 * Math.max(scale, Math.abs(v)), `${name}[${i}]: ${g[i]} vs PyTorch ${v}`));
      }
    }
  }
  await step.release();
});

// ---------------- KL warm-up ----------------

test('KL warm-up: beta is 0 at epoch 0 and ramps linearly to beta over W epochs; evaluation uses the full beta', () => {
  assert.equal(klWeight(0, 1, 4), 0);
  assert.equal(klWeight(1, 1, 4), 0.25);
  assert.equal(klWeight(2, 2, 4), 1);
  assert.equal(klWeight(4, 1, 4), 1);
  assert.equal(klWeight(9, 0.5, 4), 0.5);
  assert.equal(klWeight(0, 0.5, 0), 0.5);
  const feeds = vaeFeeds(1, 3);
  const batch = { x: new Float32Array(4 * 784), n: 4, indices: new Int32Array(4) };
  assert.deepEqual(Array.from(feeds(batch, undefined, { epoch: 0, training: true })[1]!), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(feeds(batch, undefined, { epoch: 0, training: false })[1]!), [1, 1, 1, 1]);
  assert.deepEqual(Array.from(feeds(batch, undefined, { epoch: 6, training: true })[1]!), [1, 1, 1, 1]);
  // The presets feed beta as a graph input: [x, beta].
  const p = getPreset('vae-mlp');
  assert.deepEqual(p.inputs!({ preset: 'vae-mlp', latent: 2 }).map((s) => s.name), ['x', 'beta']);
});

// ---------------- small numerics ----------------

test('normal quantiles and PCA by power iteration', () => {
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959963984540054) < 1e-8);
  assert.ok(Math.abs(normalQuantile(0.05) + 1.6448536269514729) < 1e-8);
  assert.ok(Math.abs(normalQuantile(0.5)) < 1e-12);
  assert.ok(Math.abs(normalQuantile(0.001) + 3.090232306167813) < 1e-7);
  // Data with variances 9, 4, 1 along a rotated basis.
  const rng = new Rng(1);
  const n = 4000, d = 3;
  const c = Math.cos(0.6), s = Math.sin(0.6);
  const basis = [[c, s, 0], [-s, c, 0], [0, 0, 1]];
  const data = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const a = [3 * rng.normal(), 2 * rng.normal(), rng.normal()];
    for (let j = 0; j < d; j++) data[i * d + j] = 5 + a[0]! * basis[0]![j]! + a[1]! * basis[1]![j]! + a[2]! * basis[2]![j]!;
  }
  const p = pca(data, n, d, 2);
  assert.ok(Math.abs(p.explainedVariance[0]! - 9) < 0.6 && Math.abs(p.explainedVariance[1]! - 4) < 0.4, `variances ${p.explainedVariance}`);
  const dot = (k: number, b: number[]) => Math.abs(b.reduce((sum, v, j) => sum + v * p.components[k * d + j]!, 0));
  assert.ok(dot(0, basis[0]!) > 0.99 && dot(1, basis[1]!) > 0.99, 'principal axes');
  assert.ok(Math.abs(p.explainedVarianceRatio[0]! + p.explainedVarianceRatio[1]! - 13 / 14) < 0.03);
  const proj = pcaTransform(p, data, n);
  let mean0 = 0;
  for (let i = 0; i < n; i++) mean0 += proj[i * 2]! / n;
  assert.ok(Math.abs(mean0) < 1e-9, 'projections are centred');
  // Codes of 2 numbers are plotted as they are.
  const pts = latentPoints(Float32Array.of(1, 2, 3, 4), 2, 2);
  assert.deepEqual(Array.from(pts.xy), [1, 2, 3, 4]);
  assert.equal(pts.xLabel, 'z1');
});

// ---------------- figures ----------------

test('generate and manifold decode to PNGs of the expected size; the scatter plot names every class', async () => {
  manualSeed(1);
  const m = new VariationalAutoencoder({ kind: 'mlp', inputShape: [1, 28, 28], hidden: [32], latent: 2 });
  const g = await generateSamples(m, { n: 12, seed: 3 });
  assert.equal(g.images.length, 12 * 784);
  const again = await generateSamples(m, { n: 12, seed: 3 });
  assert.deepEqual(again.codes, g.codes, 'same seed, same samples');
  const grid = PNG.sync.read(samplesPng(m, g.images, 12, { cols: 4, scale: 2 }));
  // 4 x 3 cells of 56 px with 2 px gaps around and between.
  assert.equal(grid.width, 4 * 56 + 5 * 2);
  assert.equal(grid.height, 3 * 56 + 4 * 2);
  const man = await latentManifold(m, { size: 5 });
  assert.equal(man.n, 25);
  assert.ok(Math.abs(man.axis[0]! + 1.6448536) < 1e-6 && Math.abs(man.axis[4]! - 1.6448536) < 1e-6);
  // Top-left cell: smallest z1, largest z2.
  assert.deepEqual([man.codes[0], man.codes[1]], [Math.fround(man.axis[0]!), Math.fround(man.axis[4]!)]);
  const mp = PNG.sync.read(samplesPng(m, man.images, man.n, { cols: 5, scale: 1, pad: 0 }));
  assert.deepEqual([mp.width, mp.height], [140, 140]);
  await assert.rejects(latentManifold(new VariationalAutoencoder({ kind: 'mlp', inputShape: [4], hidden: [3], latent: 3 })), /2-number latent/);
  const svg = latentScatterSvg(latentPoints(g.codes, 12, 2), Uint8Array.from({ length: 12 }, (_, i) => i % 10));
  assert.equal((svg.match(/<circle /g) ?? []).length, 12 + 10);
  assert.match(svg, /Ankle boot/);
});

// ---------------- training and the commands ----------------

const dataDir = () => fashionDataDir(600, 200);

test('vae-mlp on a few hundred Fashion-MNIST images: the ELBO rises; warm-up feeds beta 0 in epoch 1', { skip: HAVE_FMNIST ? false : `no Fashion-MNIST in ${FMNIST}` }, async () => {
  const dir = tmp();
  const cfg = join(dir, 'vae.json');
  writeFileSync(cfg, JSON.stringify({ preset: 'vae-mlp', latent: 4, hidden: [128], warmup: 2 }));
  const r = await trainImageAutoencoder({ configFile: cfg, dataDir: FMNIST, limitTrain: 640, limitValid: 200, epochs: 4, out: join(dir, 'run'), progress: false, log: () => {} });
  const h = r.history;
  assert.deepEqual(h.map((e) => e.train.beta), [0, 0.5, 1, 1]);
  assert.ok(h.every((e) => e.valid.beta === 1), 'evaluation uses the full beta');
  for (const e of h) assert.ok(Math.abs(e.valid.elbo! + e.valid.recon! + e.valid.kl!) < 1e-2 && Math.abs(e.valid.loss! + e.valid.elbo!) < 1e-2);
  assert.ok(h[3]!.valid.elbo! > h[0]!.valid.elbo! + 20, `valid ELBO did not rise: ${h.map((e) => e.valid.elbo)}`);
  const run = loadVaeRun(r.outDir);
  assert.equal(run.model.latent, 4);
});

test('a VAE run resumed after epoch 1 ends with the same train and valid metrics as an uninterrupted one', async () => {
  const data = dataDir();
  const dir = tmp();
  const cfg = join(dir, 'vae.json');
  writeFileSync(cfg, JSON.stringify({ preset: 'vae-mlp', latent: 3, hidden: [32], warmup: 1 }));
  const base = { configFile: cfg, dataDir: data, limitTrain: 256, limitValid: 64, progress: false, seed: 5, log: () => {} };
  const full = await trainImageAutoencoder({ ...base, epochs: 2, out: join(dir, 'full') });
  await trainImageAutoencoder({ ...base, epochs: 1, out: join(dir, 'cut') });
  const resumed = await trainImageAutoencoder({ ...base, epochs: 2, out: join(dir, 'cut'), resume: true });
  assert.deepEqual(resumed.last!.train, full.last!.train);
  assert.deepEqual(resumed.last!.valid, full.last!.valid);
});

const cli = (args: string[]) => runCli(args);

test('latentkit train (vae-conv, --bottleneck 2), then generate, interpolate, manifold and latent-plot', async () => {
  const data = dataDir();
  const dir = tmp();
  const run = join(dir, 'run');
  const cfg = join(dir, 'small.json');
  writeFileSync(cfg, JSON.stringify({ preset: 'vae-conv', width: 8 }));
  const t = cli(['train', '--config', cfg, '--bottleneck', '2', '--data-dir', data, '--limit-train', '384', '--limit-valid', '100', '--epochs', '1', '--out', run, '--no-progress']);
  assert.equal(t.code, 0, t.err);
  const metrics = JSON.parse(readFileSync(join(run, '_metrics.json'), 'utf8'));
  for (const k of ['loss', 'recon', 'kl', 'elbo']) assert.ok(Number.isFinite(metrics.last.valid[k]), `valid ${k}`);

  const gen = join(dir, 'grid.png');
  let c = cli(['generate', run, '-o', gen, '--count', '16', '--seed', '2']);
  assert.equal(c.code, 0, c.err);
  let png = PNG.sync.read(readFileSync(gen));
  assert.deepEqual([png.width, png.height], [4 * 56 + 5 * 2, 4 * 56 + 5 * 2]);

  const man = join(dir, 'manifold.png');
  c = cli(['manifold', run, '-o', man, '--size', '6']);
  assert.equal(c.code, 0, c.err);
  png = PNG.sync.read(readFileSync(man));
  assert.deepEqual([png.width, png.height], [6 * 28, 6 * 28]);

  const strip = join(dir, 'strip.png');
  c = cli(['interpolate', run, '-o', strip, '--from', '0', '--to', '1', '--steps', '5', '--data-dir', data]);
  assert.equal(c.code, 0, c.err);
  png = PNG.sync.read(readFileSync(strip));
  assert.deepEqual([png.width, png.height], [7 * 56 + 8 * 2, 56 + 2 * 2]);

  const svg = join(dir, 'latent.svg');
  c = cli(['latent-plot', run, '-o', svg, '--limit', '50', '--data-dir', data]);
  assert.equal(c.code, 0, c.err);
  assert.match(readFileSync(svg, 'utf8'), /<svg[\s\S]*z1[\s\S]*<\/svg>/);

  c = cli(['manifold', run, '-o', man, '--size', '1']);
  assert.notEqual(c.code, 0);
  assert.match(c.err, /size must be an integer >= 2/);
  c = cli(['generate', '--help']);
  assert.match(c.out, /Examples:/);
});

test('a non-VAE run is refused by the VAE commands with a helpful message', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model: { preset: 'cnn' } }));
  const store = new ParamStore(buildModel({ preset: 'cnn' }));
  saveCheckpoint(join(dir, 'checkpoints', 'best.safetensors'), store, undefined, { epoch: 1, step: 1 });
  assert.throws(() => loadVaeRun(dir), /preset cnn, which is not a variational autoencoder/);
});
