// Without a browser: the emitted training-step model (what the playground runs on
// onnxruntime-web) matches TrainingStep step for step; the playground server stays inside its
// folders; the report degrades to what a run folder has.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startPlaygroundServer } from '../../src/tasks/playground/server.js';
import { mseLoss } from '../../src/losses/index.js';
import { MLPAutoencoder } from '../../src/models/mlp-autoencoder.js';
import { Adam } from '../../src/optim/optimizer.js';
import { TrainingStep, type StepFn } from '../../src/runtime/compile.js';
import { createSession, ort, type Feeds } from '../../src/runtime/ort.js';
import { emitTrainingModel } from '../../src/runtime/training-model.js';
import { Rng } from '../../src/util/random.js';
import { buildReport, histogram } from '../../src/tasks/report/report.js';
import { tempDir } from '../helpers/tmp.js';

test('emitTrainingModel: feeding outputs back reproduces TrainingStep losses', async () => {
  const model = new MLPAutoencoder([12, 6, 3]);
  const stepFn: StepFn = (m, [x]) => ({ loss: mseLoss(m.call(x!), x!) });
  const emitted = emitTrainingModel(model, [{ name: 'x', shape: [12] }], stepFn, { optimizer: new Adam({ lr: 0.01 }) });
  const step = await TrainingStep.create(model, [{ name: 'x', shape: [12] }], stepFn, { optimizer: new Adam({ lr: 0.01 }) });
  const roles = new Set(emitted.inputs.map((i) => i.role));
  assert.deepEqual([...roles].sort(), ['data', 'param', 'scalar', 'state']);
  const session = await createSession(emitted.model);
  const state: Feeds = {};
  for (const [name, v] of emitted.initial) state[name] = new ort.Tensor('float32', Float32Array.from(v.data as Float32Array), v.shape);
  const rng = new Rng(3);
  for (let t = 1; t <= 4; t++) {
    const x = new Float32Array(8 * 12);
    rng.fillUniform(x);
    const ref = await step.run([x], 8);
    const feeds: Feeds = { ...state, x: new ort.Tensor('float32', x, [8, 12]) };
    for (const [k, v] of Object.entries(emitted.scalars(t))) feeds[k] = new ort.Tensor('float32', Float32Array.of(v), []);
    const out = await session.run(feeds);
    const loss = (out[emitted.loss]!.data as Float32Array)[0]!;
    assert.ok(Math.abs(loss - ref.loss) < 1e-6, `step ${t}: ${loss} vs ${ref.loss}`);
    for (const [o, i] of emitted.feedback) state[i] = out[o]!;
  }
  await session.release();
  await step.release();
});

test('playground server: serves the app and model/, refuses paths outside them', async () => {
  const dir = tempDir('latentkit-pgs-');
  const dist = join(dir, 'dist');
  const model = join(dir, 'model');
  mkdirSync(dist);
  mkdirSync(model);
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(model, 'manifest.json'), '{}');
  writeFileSync(join(dir, 'secret.txt'), 'no');
  const s = await startPlaygroundServer({ modelDir: model, distDir: dist, port: 0 });
  try {
    const get = (p: string) => fetch(new URL(p, s.url));
    assert.equal((await get('/')).status, 200);
    const m = await get('/model/manifest.json');
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /application\/json/);
    assert.equal((await get('/model/..%2fsecret.txt')).status, 404);
    assert.equal((await get('/..%2fsecret.txt')).status, 404);
    assert.equal((await get('/missing.js')).status, 404);
  } finally {
    await s.close();
  }
  await assert.rejects(startPlaygroundServer({ modelDir: model, distDir: join(dir, 'nope'), port: 0 }), /build:web/);
});

test('report: a run folder without checkpoints still gives config, metrics and loss curves', async () => {
  const dir = tempDir('latentkit-report-');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model: { preset: 'seed-cnn' }, lr: 0.02, epochs: 2 }));
  const rec = (epoch: number, t: number, v: number) => JSON.stringify({ epoch, lr: 0.02, train: { loss: t }, valid: { loss: v }, seconds: 1, imagesPerSecond: 100, steps: 10 });
  writeFileSync(join(dir, 'metrics.jsonl'), `${rec(1, 0.1, 0.08)}\n${rec(2, 0.06, 0.05)}\n`);
  const r = await buildReport(dir);
  assert.deepEqual(r.sections, ['config', 'metrics', 'loss']);
  assert.match(r.skipped.model ?? '', /could not be loaded/);
  assert.match(r.html, /new Chart\(/);
  assert.ok(!/<script[^>]+src=/i.test(r.html), 'the report must not load scripts from elsewhere');
  assert.ok(!/https?:\/\/(?!www\.w3\.org)[^"'\s)]*\.(js|css|png)/i.test(r.html), 'no remote assets');
  await assert.rejects(buildReport(join(dir, 'missing')), /not a latentkit run/);
});

test('histogram: equal-width bins count every finite value', () => {
  const h = histogram([0, 1, 2, 3, NaN, 4], 4);
  assert.deepEqual(h.counts, [1, 1, 1, 2]);
  assert.equal(h.edges.length, 5);
  assert.deepEqual(histogram([], 3), { edges: [], counts: [] });
});
