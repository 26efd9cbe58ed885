// Config values that latentkit does not understand are errors listing the accepted ones, and a
// model too large for this machine is refused before its training graph is built, with numbers.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConvAutoencoder } from '../../src/models/conv-autoencoder.js';
import { readModelConfig } from '../../src/models/index.js';
import { reconstructionStep } from '../../src/tasks/image/train.js';
import { checkTrainingMemory, trainingMemoryEstimate } from '../../src/train/memory-check.js';
import { runCli } from '../helpers/cli.js';
import { fashionDataDir } from '../helpers/fashion-data.js';
import { tempDir } from '../helpers/tmp.js';

const DATA = fashionDataDir();

function configFile(cfg: Record<string, unknown>): string {
  const p = join(tempDir('latentkit-cfg-'), 'model.json');
  writeFileSync(p, JSON.stringify(cfg));
  return p;
}

test('unsupported config values are errors that list the accepted values', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ preset: 'seed-cnn', loss: 'hinge' }, /"loss": "hinge" is not supported; use one of: mse, bce/],
    [{ preset: 'seed-cnn', optimizer: 'rmsprop' }, /"optimizer": "rmsprop" is not supported; use one of: adam, adamw, sgd/],
    [{ preset: 'seed-cnn', lr: -1 }, /"lr": -1.*positive number/],
    [{ preset: 'seed-cnn', lr: 'fast' }, /"lr": "fast".*positive number/],
    [{ preset: 'seed-cnn', batchSize: 2.5 }, /"batchSize": 2\.5.*positive integer/],
    [{ preset: 'seed-cnn', epochs: 0 }, /"epochs": 0.*positive integer/],
    [{ preset: 'seed-cnn', schedule: 'exp' }, /unknown LR schedule "exp"/],
    [{ preset: 'seed-cnn', bottleneck: -3 }, /"bottleneck": -3.*positive integer/],
    [{ preset: 'seed-cnn', bottleneck: 'x'.repeat(5000) }, /"bottleneck": "x{10,40}\.\.\. \(5002 chars\) must be a positive integer/],
    [{ preset: 'nope' }, /unknown preset "nope"; choose one of: seed-cnn, cnn/],
  ];
  for (const [cfg, want] of cases) {
    const p = configFile(cfg);
    assert.throws(() => readModelConfig(p), (e: Error) => {
      assert.match(e.message, want);
      assert.ok(e.message.startsWith(p), `names the file: ${e.message}`);
      assert.ok(e.message.length < 400, `short: ${e.message.length} chars`);
      return true;
    });
  }
  // What is accepted still reads.
  assert.deepEqual(readModelConfig(configFile({ preset: 'seed-cnn', loss: 'bce', optimizer: 'sgd', lr: 0.1, bottleneck: 10 })).train, { loss: 'bce', optimizer: 'sgd', lr: 0.1 });
});

test('memory estimate: parameters x 4 bytes x (weights, gradients, 2 Adam moments) plus activations of a batch', () => {
  const model = new ConvAutoencoder(10);
  const est = trainingMemoryEstimate(model, [{ name: 'x', shape: [1, 28, 28] }], reconstructionStep('mse'), 32);
  assert.equal(est.parameters, model.numParameters());
  assert.equal(est.parameterBytes, model.numParameters() * 4 * 4);
  // At least the input batch and the reconstruction, each 32 x 784 floats.
  assert.ok(est.activationBytes > 2 * 32 * 784 * 4, `activations ${est.activationBytes}`);
  const bigger = trainingMemoryEstimate(model, [{ name: 'x', shape: [1, 28, 28] }], reconstructionStep('mse'), 64);
  assert.ok(Math.abs(bigger.activationBytes / est.activationBytes - 2) < 0.01, 'activations scale with the batch');
  assert.throws(() => checkTrainingMemory(est, 1e6), /needs about .* MB to train.*parameters.*batch of 32.*more than/);
  checkTrainingMemory(est, 16 * 2 ** 30);
});

test('train --bottleneck 100000 is refused before the training graph is built, with the numbers', () => {
  const t0 = Date.now();
  const r = runCli(['train', '--data-dir', DATA, '--limit-train', '64', '--limit-valid', '32', '--bottleneck', '100000', '--out', join(tempDir(), 'big'), '--no-progress'], {
    env: { LATENTKIT_MEMORY_LIMIT: '4G' },
    timeoutMs: 120_000,
  });
  assert.notEqual(r.code, 0);
  assert.match(r.err, /65[.,]\d+M parameters/);
  assert.match(r.err, /needs about [\d.]+ GB to train.*more than the 4\.0 GB/);
  assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`);
});
