// The Trainer's loop and its callbacks (checkpoints, metrics log, step log, early stopping, user
// callbacks), on a tiny autoencoder so each behaviour is checked in seconds.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { arrayDataset } from '../../src/data/dataset.js';
import { DataLoader } from '../../src/data/loader.js';
import { mseLoss } from '../../src/losses/index.js';
import { manualSeed } from '../../src/nn/init.js';
import { Linear, ReLU, Sequential, Sigmoid } from '../../src/nn/layers.js';
import { Adam } from '../../src/optim/optimizer.js';
import type { Callback, EpochRecord } from '../../src/train/trainer.js';
import { Trainer, type TrainerOptions } from '../../src/train/trainer.js';
import { tempDir } from '../helpers/tmp.js';

function setup(over: Partial<TrainerOptions> = {}) {
  manualSeed(3);
  const model = new Sequential(new Linear(8, 3), new ReLU(), new Linear(3, 8), new Sigmoid());
  const x = Float32Array.from({ length: 64 * 8 }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.37));
  const v = Float32Array.from({ length: 16 * 8 }, (_, i) => 0.5 + 0.4 * Math.cos(i * 0.21));
  return new Trainer({
    model,
    inputs: [{ name: 'x', shape: [8] }],
    step: (m, [xx]) => ({ loss: mseLoss(m.call(xx!), xx!) }),
    optimizer: new Adam({ lr: 0.01 }),
    train: new DataLoader({ dataset: arrayDataset(x, [8]), batchSize: 16, seed: 1 }),
    valid: new DataLoader({ dataset: arrayDataset(v, [8]), batchSize: 16, shuffle: false }),
    epochs: 4,
    outDir: join(tempDir('latentkit-cb-'), 'run'),
    progress: false,
    log: () => {},
    ...over,
  });
}

test('callbacks see every event in order; metrics, steps.csv and checkpoints are written', async () => {
  const events: string[] = [];
  const spy: Callback = {
    onTrainStart: () => void events.push('start'),
    onEpochStart: (e) => void events.push(`epoch${e}`),
    onBatchEnd: (b) => void events.push(`b${b.step}:${b.seen}`),
    onEpochEnd: (r) => void events.push(`end${r.epoch}`),
    onTrainEnd: (h) => void events.push(`done${h.length}`),
  };
  const t = setup({ callbacks: [spy], epochs: 2, logEvery: 3 });
  const r = await t.fit();
  await t.release();
  assert.deepEqual(events, ['start', 'epoch0', 'b1:16', 'b2:32', 'b3:48', 'b4:64', 'end1', 'epoch1', 'b5:16', 'b6:32', 'b7:48', 'b8:64', 'end2', 'done2']);
  assert.equal(r.stoppedBy, 'epochs');
  const dir = t.opts.outDir;
  const steps = readFileSync(join(dir, 'steps.csv'), 'utf8').trim().split('\n');
  assert.equal(steps.length, 3, steps.join('|'));
  assert.equal(steps[0], 'step,epoch,loss');
  assert.deepEqual(steps.slice(1).map((l) => l.split(',').slice(0, 2).join(',')), ['3,0', '6,1']);
  assert.ok(steps.slice(1).every((l) => Number(l.split(',')[2]) > 0), steps.join('|'));
  const lines = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochRecord);
  assert.equal(lines.length, 2);
  const m = JSON.parse(readFileSync(join(dir, '_metrics.json'), 'utf8'));
  const best = lines.reduce((a, b) => (b.valid.loss! < a.valid.loss! ? b : a));
  assert.equal(m.best.epoch, best.epoch);
  assert.equal(m.best._score_, best.valid.loss);
  assert.equal(m.last.epoch, 2);
  assert.ok(existsSync(join(dir, 'checkpoints/best.safetensors')) && existsSync(join(dir, 'checkpoints/last.safetensors')));
});

test('early stopping stops after `patience` epochs without improvement and says why', async () => {
  // lr 0 never improves: epoch 1 is the best, so patience 2 stops after epoch 3.
  const t = setup({ optimizer: new Adam({ lr: 0 }), epochs: 10, earlyStopping: { patience: 2 } });
  const r = await t.fit();
  await t.release();
  assert.equal(r.stoppedBy, 'early-stopping');
  assert.equal(r.history.length, 3);
  assert.equal(r.best?.epoch, 1);
});

test('a user callback stops training by returning "stop" or calling requestStop; maxSteps stops mid-epoch', async () => {
  const byReturn = setup({ callbacks: [{ onEpochEnd: (rec) => (rec.epoch === 2 ? 'stop' : undefined) }] });
  const a = await byReturn.fit();
  await byReturn.release();
  assert.deepEqual([a.stoppedBy, a.history.length], ['callback', 2]);
  const byRequest = setup({ callbacks: [{ onBatchEnd: (b, t) => (b.step === 5 ? t.requestStop() : undefined) }] });
  const b = await byRequest.fit();
  await byRequest.release();
  assert.deepEqual([b.stoppedBy, b.history.length], ['callback', 2]);
  const bySteps = setup({ maxSteps: 6 });
  const c = await bySteps.fit();
  await bySteps.release();
  assert.deepEqual([c.stoppedBy, c.history.length, c.history[1]!.steps], ['steps', 2, 6]);
});

test('the best weights are loaded back at the end', async () => {
  // The learning rate grows 1000x per epoch, so training diverges after the first epoch or two
  // and the last epoch is not the best: the model must end with the best epoch's weights.
  const t = setup({ epochs: 4, schedule: { kind: 'step', stepSize: 1, gamma: 1000 } });
  const r = await t.fit();
  const atEnd = await t.evaluate(t.opts.valid!);
  await t.release();
  assert.ok(r.best && r.last && r.best.epoch < r.last.epoch, `best epoch ${r.best?.epoch}, last ${r.last?.epoch}: the setup did not make the last epoch worse`);
  assert.ok(Math.abs(atEnd.loss! - r.best.valid.loss!) < 1e-6, `model holds valid loss ${atEnd.loss}, best epoch had ${r.best.valid.loss}`);
});

test('validation runs on as many intra-op threads as training has data-parallel threads (the CLI passes --threads 1)', async () => {
  const cases: [Partial<TrainerOptions>, number][] = [
    [{ workers: 2, session: { intraOpThreads: 1 } }, 2],
    [{ workers: 2 }, 2],
    [{ workers: 1, session: { intraOpThreads: 1 } }, 1],
    [{ workers: 2, session: { intraOpThreads: 3 } }, 3],
  ];
  for (const [over, want] of cases) {
    const trainer = setup(over);
    try {
      await trainer.compile();
      const opts = (trainer as unknown as { evalSession(): { intraOpThreads?: number } | undefined }).evalSession();
      assert.equal(opts?.intraOpThreads ?? 1, want, JSON.stringify(over));
    } finally {
      await trainer.release(); // data-parallel worker threads would keep the process alive
    }
  }
});
