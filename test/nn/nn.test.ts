// Module behaviour: PyTorch state_dict names and order, default initialisation, train/eval
// propagation, build-time shape errors that name the layer, and loadStateDict checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Tensor } from '../../src/graph/tensor.js';
import { mseLoss } from '../../src/losses/index.js';
import { ConvAutoencoder, DeepConvAutoencoder } from '../../src/models/conv-autoencoder.js';
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv1d,
  Conv2d,
  ConvTranspose2d,
  Dropout,
  Embedding,
  LayerNorm,
  Linear,
  LSTM,
  manualSeed,
  Module,
  ModuleList,
  ReLU,
  Sequential,
  type StateDict,
  Buffer as NnBuffer,
  Parameter,
} from '../../src/nn/index.js';
import { loadSafetensors } from '../../src/nn/safetensors.js';
import { SGD } from '../../src/optim/optimizer.js';
import { TrainingStep, type InputSpec } from '../../src/runtime/compile.js';

const FIX = new URL('../fixtures/parity/', import.meta.url).pathname;

// ---------------- state_dict names ----------------

test('ConvAutoencoder state_dict names, order and shapes match PyTorch', () => {
  const sd = new ConvAutoencoder().stateDict();
  assert.deepEqual(
    [...sd.keys()],
    [
      'encoder.0.weight', 'encoder.0.bias', 'encoder.3.weight', 'encoder.3.bias',
      'decoder.0.weight', 'decoder.0.bias', 'decoder.2.weight', 'decoder.2.bias', 'decoder.4.weight', 'decoder.4.bias',
    ],
  );
  // The same names and shapes as the file PyTorch wrote for the chapter's model.
  const torch = loadSafetensors(`${FIX}conv.init.safetensors`).tensors;
  assert.deepEqual([...sd.keys()].sort(), [...torch.keys()].sort());
  for (const [k, e] of sd) assert.deepEqual(e.shape, torch.get(k)!.shape, k);
  assert.deepEqual(sd.get('encoder.3.weight')!.shape, [4, 16, 4, 4]);
  assert.deepEqual(sd.get('decoder.0.weight')!.shape, [4, 16, 5, 5]); // ConvTranspose: [in, out, k, k]
});

test('ConvAutoencoder bottleneck width flows into the names\' shapes', () => {
  const sd = new ConvAutoencoder(8).stateDict();
  assert.deepEqual(sd.get('encoder.3.weight')!.shape, [8, 16, 4, 4]);
  assert.deepEqual(sd.get('decoder.0.weight')!.shape, [8, 16, 5, 5]);
});

test('BatchNorm state_dict: weight, bias, running_mean, running_var, num_batches_tracked', () => {
  const m = new Sequential(new Linear(4, 3), new BatchNorm1d(3), new ReLU(), new BatchNorm2d(2, 1e-5, 0.1, false));
  const sd = m.stateDict();
  assert.deepEqual([...sd.keys()], [
    '0.weight', '0.bias',
    '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked',
    '3.running_mean', '3.running_var', '3.num_batches_tracked',
  ]);
  const nbt = sd.get('1.num_batches_tracked')!;
  assert.equal(nbt.dtype, 'int64');
  assert.deepEqual(nbt.shape, []);
  assert.equal((nbt.data as BigInt64Array)[0], 0n);
  assert.deepEqual(Array.from(sd.get('1.running_mean')!.data as Float32Array), [0, 0, 0]);
  assert.deepEqual(Array.from(sd.get('1.running_var')!.data as Float32Array), [1, 1, 1]);
  assert.deepEqual(Array.from(sd.get('1.weight')!.data as Float32Array), [1, 1, 1]);
  assert.deepEqual(Array.from(sd.get('1.bias')!.data as Float32Array), [0, 0, 0]);
  // Buffers are not parameters.
  assert.deepEqual(m.namedParameters().map(([n]) => n), ['0.weight', '0.bias', '1.weight', '1.bias']);
  assert.deepEqual(m.namedBuffers().map(([n]) => n), ['1.running_mean', '1.running_var', '1.num_batches_tracked', '3.running_mean', '3.running_var', '3.num_batches_tracked']);
});

test('DeepConvAutoencoder names are <part>.<index of the owning layer>.<tensor>, as PyTorch', () => {
  const m = new DeepConvAutoencoder();
  const want: string[] = [];
  for (const part of ['encoder', 'decoder'] as const) {
    const seq = m[part];
    for (let i = 0; i < seq.length; i++) {
      const layer = seq.at(i);
      for (const [k, v] of Object.entries(layer)) if (v instanceof Parameter || v instanceof NnBuffer) want.push(`${part}.${i}.${k}`);
    }
  }
  assert.ok(want.length >= 4);
  assert.deepEqual([...m.stateDict().keys()], want);
});

test('LSTM state_dict names and shapes match PyTorch (weight_ih_l0, weight_hh_l1, ...)', () => {
  const lstm = new LSTM(3, 5, 2);
  const sd = lstm.stateDict();
  assert.deepEqual([...sd.keys()], [
    'weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0',
    'weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1',
  ]);
  assert.deepEqual(sd.get('weight_ih_l0')!.shape, [20, 3]);
  assert.deepEqual(sd.get('weight_ih_l1')!.shape, [20, 5]);
  assert.deepEqual(sd.get('weight_hh_l1')!.shape, [20, 5]);
  assert.deepEqual(sd.get('bias_hh_l1')!.shape, [20]);
  assert.deepEqual([...new LSTM(3, 5, 1, false).stateDict().keys()], ['weight_ih_l0', 'weight_hh_l0']);
});

test('nested LSTM names match the PyTorch-written LSTM fixture', () => {
  class LstmAE extends Module {
    encoder = new LSTM(3, 16, 1, true, true);
    decoder = new LSTM(3, 16, 1, true, true);
    head = new Linear(16, 3);
    forward(x: Tensor) {
      return x;
    }
  }
  const sd = new LstmAE().stateDict();
  const torch = loadSafetensors(`${FIX}lstm.init.safetensors`).tensors;
  assert.deepEqual([...sd.keys()].sort(), [...torch.keys()].sort());
  for (const [k, e] of sd) assert.deepEqual(e.shape, torch.get(k)!.shape, k);
});

test('ModuleList and Sequential name children by index; stateDict shares data', () => {
  const ml = new ModuleList([new Linear(2, 2), new Sequential(new ReLU(), new Linear(2, 1))]);
  assert.deepEqual([...ml.stateDict().keys()], ['0.weight', '0.bias', '1.1.weight', '1.1.bias']);
  const lin = ml.at(0) as Linear;
  const sd = ml.stateDict();
  assert.equal(sd.get('0.weight')!.data, lin.weight.data, 'stateDict should alias the parameter data, as PyTorch does');
  assert.equal(ml.numParameters(), 2 * 2 + 2 + 2 + 1);
});

// ---------------- default initialisation ----------------

function maxAbs(d: Float32Array): number {
  return d.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

/** All values within ±bound, and spread over most of the range (a tighter bound would fail). */
function assertUniformWithin(d: Float32Array, bound: number, what: string): void {
  const m = maxAbs(d);
  assert.ok(m <= bound * (1 + 1e-6), `${what}: |value| ${m} exceeds bound ${bound}`);
  // With >= 64 draws, max |U(±b)| < 0.8·b has probability < 1e-6: a smaller bound (wrong fan-in) is caught.
  if (d.length >= 64) assert.ok(m > bound * 0.8, `${what}: max |value| ${m} is far below bound ${bound} (wrong fan-in?)`);
  const mean = d.reduce((a, v) => a + v, 0) / d.length;
  assert.ok(Math.abs(mean) < bound * 0.25, `${what}: mean ${mean} not centred`);
  assert.ok(new Set(d).size > d.length * 0.9, `${what}: values not random`);
}

test('Linear default init: weight and bias within ±1/sqrt(in_features)', () => {
  manualSeed(1);
  const l = new Linear(50, 40);
  assertUniformWithin(l.weight.data, 1 / Math.sqrt(50), 'Linear.weight');
  assertUniformWithin(l.bias!.data, 1 / Math.sqrt(50), 'Linear.bias');
  assert.deepEqual(l.weight.shape, [40, 50]);
});

test('Conv init: fan_in = in_channels/groups * k * k', () => {
  manualSeed(2);
  const c = new Conv2d(8, 16, 3);
  assertUniformWithin(c.weight.data, 1 / Math.sqrt(8 * 9), 'Conv2d.weight');
  assertUniformWithin(c.bias!.data, 1 / Math.sqrt(8 * 9), 'Conv2d.bias');
  const g = new Conv2d(8, 16, 3, { groups: 4 });
  assert.deepEqual(g.weight.shape, [16, 2, 3, 3]);
  assertUniformWithin(g.weight.data, 1 / Math.sqrt(2 * 9), 'grouped Conv2d.weight');
  const c1 = new Conv1d(6, 30, 5);
  assertUniformWithin(c1.weight.data, 1 / Math.sqrt(6 * 5), 'Conv1d.weight');
});

test('ConvTranspose2d init: fan_in uses weight.shape[1]*k*k (out_channels/groups), as PyTorch', () => {
  manualSeed(3);
  const t = new ConvTranspose2d(16, 4, 5, { stride: 2 });
  assert.deepEqual(t.weight.shape, [16, 4, 5, 5]);
  const bound = 1 / Math.sqrt(4 * 25); // 0.1; an in_channels-based fan-in would give 0.05
  assertUniformWithin(t.weight.data, bound, 'ConvTranspose2d.weight');
  assertUniformWithin(t.bias!.data, bound, 'ConvTranspose2d.bias');
  const g = new ConvTranspose2d(4, 6, 3, { groups: 2 });
  assert.deepEqual(g.weight.shape, [4, 3, 3, 3]);
  assertUniformWithin(g.weight.data, 1 / Math.sqrt(3 * 9), 'grouped ConvTranspose2d.weight');
});

test('LSTM init within ±1/sqrt(hidden_size); Embedding ~ N(0, 1); LayerNorm ones/zeros', () => {
  manualSeed(4);
  const lstm = new LSTM(3, 16, 2);
  for (const [n, p] of lstm.namedParameters()) assertUniformWithin(p.data, 1 / Math.sqrt(16), `LSTM.${n}`);
  const e = new Embedding(100, 20);
  const d = e.weight.data;
  const mean = d.reduce((a, v) => a + v, 0) / d.length;
  const std = Math.sqrt(d.reduce((a, v) => a + (v - mean) ** 2, 0) / d.length);
  assert.ok(Math.abs(mean) < 0.1 && Math.abs(std - 1) < 0.1, `Embedding mean ${mean} std ${std}`);
  const ln = new LayerNorm([2, 3]);
  assert.deepEqual(ln.weight!.shape, [2, 3]);
  assert.ok(ln.weight!.data.every((v) => v === 1) && ln.bias!.data.every((v) => v === 0));
});

test('manualSeed makes default initialisation reproducible', () => {
  manualSeed(42);
  const a = new ConvAutoencoder().stateDict();
  manualSeed(42);
  const b = new ConvAutoencoder().stateDict();
  const c = new ConvAutoencoder().stateDict();
  for (const [k, e] of a) assert.deepEqual(e.data, b.get(k)!.data, k);
  assert.notDeepEqual(a.get('encoder.0.weight')!.data, c.get('encoder.0.weight')!.data);
});

// ---------------- train / eval ----------------

test('train() and eval() propagate to every submodule and return the module', () => {
  const m = new ConvAutoencoder();
  const all = () => m.namedModules().map(([, x]) => x.training);
  assert.ok(all().length >= 14);
  assert.ok(all().every((t) => t));
  assert.equal(m.eval(), m);
  assert.ok(all().every((t) => !t), 'eval() must reach nested layers');
  assert.equal(m.train(), m);
  assert.ok(all().every((t) => t));
  m.train(false);
  assert.ok(all().every((t) => !t), 'train(false) is eval()');
  // Switching a subtree leaves the rest alone.
  m.train();
  m.decoder.eval();
  assert.ok(m.encoder.training && (m.encoder.at(0) as Module).training);
  assert.ok(!m.decoder.training && !(m.decoder.at(5) as Module).training);
});

// ---------------- build-time shape errors ----------------

const sgd = () => ({ optimizer: new SGD({ lr: 0.1 }) });
const imageSpec: InputSpec[] = [{ name: 'x', shape: [1, 28, 28] }];

test('mismatched channels fail at build time naming the layer path and both channel counts', async () => {
  const m = new Sequential(new Conv2d(1, 16, 4), new Conv2d(8, 4, 3));
  await assert.rejects(
    TrainingStep.create(m, imageSpec, (mm, [x]) => ({ loss: mm.call(x!).mean() }), sgd()),
    (e: Error) => {
      assert.match(e.message, /1 \(Conv2d\)/);
      assert.match(e.message, /\b16\b/);
      assert.match(e.message, /\b8\b/);
      return true;
    },
  );
});

test('nested layer errors carry the full dotted path', async () => {
  class Bad extends Module {
    encoder = new Sequential(new Conv2d(1, 16, 4), new ReLU(), new Conv2d(16, 4, 3));
    decoder = new Sequential(new ConvTranspose2d(5, 1, 3));
    forward(x: Tensor) {
      return this.decoder.call(this.encoder.call(x));
    }
  }
  await assert.rejects(
    TrainingStep.create(new Bad(), imageSpec, (mm, [x]) => ({ loss: mseLoss(mm.call(x!), x!) }), sgd()),
    (e: Error) => {
      assert.match(e.message, /decoder\.0 \(ConvTranspose2d\)/);
      assert.match(e.message, /\b5\b/);
      assert.match(e.message, /\b4\b/);
      return true;
    },
  );
});

test('a kernel larger than the input fails at build time naming the layer', async () => {
  const m = new Sequential(new Conv2d(1, 2, 3), new Conv2d(2, 2, 30));
  await assert.rejects(
    TrainingStep.create(m, imageSpec, (mm, [x]) => ({ loss: mm.call(x!).mean() }), sgd()),
    /1 \(Conv2d\).*too small/,
  );
});

test('Linear with the wrong in_features names the layer and both sizes', async () => {
  const m = new Sequential(new Linear(3, 4), new ReLU(), new Linear(5, 2));
  await assert.rejects(
    TrainingStep.create(m, [{ name: 'x', shape: [3] }], (mm, [x]) => ({ loss: mm.call(x!).mean() }), sgd()),
    (e: Error) => {
      assert.match(e.message, /\b2 \(Linear\)/, `message does not name the layer: ${e.message}`);
      assert.match(e.message, /\b5\b/);
      assert.match(e.message, /\b4\b/);
      return true;
    },
  );
});

test('BatchNorm with the wrong channel count names the layer', async () => {
  const m = new Sequential(new Linear(3, 4), new BatchNorm1d(6));
  await assert.rejects(
    TrainingStep.create(m, [{ name: 'x', shape: [3] }], (mm, [x]) => ({ loss: mm.call(x!).mean() }), sgd()),
    (e: Error) => {
      assert.match(e.message, /\b1 \(BatchNorm1d\)/, `message does not name the layer: ${e.message}`);
      assert.match(e.message, /\b6\b/);
      return true;
    },
  );
});

test('a non-scalar loss is rejected at build time', async () => {
  await assert.rejects(
    TrainingStep.create(new Linear(3, 2), [{ name: 'x', shape: [3] }], (mm, [x]) => ({ loss: mm.call(x!) }), sgd()),
    /loss must be a scalar/,
  );
});

test('Dropout rejects p outside [0, 1)', () => {
  assert.throws(() => new Dropout(1), /\[0, 1\)/);
  assert.throws(() => new Dropout(-0.1), /\[0, 1\)/);
  assert.throws(() => new Conv2d(3, 4, 3, { groups: 2 }), /groups/);
});

// ---------------- loadStateDict ----------------

function clone(sd: StateDict): StateDict {
  return new Map([...sd].map(([k, e]) => [k, { ...e, data: e.data.slice() as Float32Array | BigInt64Array, shape: [...e.shape] }]));
}

test('loadStateDict copies values in (no aliasing) and round-trips', () => {
  manualSeed(7);
  const a = new Sequential(new Linear(3, 4), new BatchNorm1d(4));
  const b = new Sequential(new Linear(3, 4), new BatchNorm1d(4));
  (a.at(1) as BatchNorm1d).running_mean.data = Float32Array.of(1, 2, 3, 4);
  (a.at(1) as BatchNorm1d).num_batches_tracked.data = BigInt64Array.of(9n);
  const sd = a.stateDict();
  b.loadStateDict(sd);
  for (const [k, e] of b.stateDict()) {
    assert.deepEqual(e.data, sd.get(k)!.data, k);
    assert.notEqual(e.data, sd.get(k)!.data, `${k} must be copied`);
  }
  (sd.get('0.weight')!.data as Float32Array)[0] = 123;
  assert.notEqual((b.at(0) as Linear).weight.data[0], 123);
});

test('loadStateDict with a wrong shape throws naming the key and both shapes', () => {
  const m = new ConvAutoencoder();
  const sd = clone(m.stateDict());
  sd.set('encoder.3.weight', { data: new Float32Array(8 * 16 * 16), shape: [8, 16, 4, 4], dtype: 'float32' });
  assert.throws(() => m.loadStateDict(sd), (e: Error) => {
    assert.match(e.message, /encoder\.3\.weight/);
    assert.match(e.message, /8,16,4,4/);
    assert.match(e.message, /4,16,4,4/);
    return true;
  });
});

test('loadStateDict with a missing or unexpected key throws naming it; strict=false tolerates both', () => {
  const m = new ConvAutoencoder();
  const sd = clone(m.stateDict());
  sd.delete('decoder.2.bias');
  assert.throws(() => m.loadStateDict(sd), /missing \[decoder\.2\.bias\]/);
  const extra = clone(m.stateDict());
  extra.set('decoder.9.weight', { data: new Float32Array(1), shape: [1], dtype: 'float32' });
  assert.throws(() => m.loadStateDict(extra), /unexpected \[decoder\.9\.weight\]/);
  const conv0 = () => m.encoder.at(0) as Conv2d;
  const before = Float32Array.from(conv0().weight.data);
  (sd.get('encoder.0.weight')!.data as Float32Array).fill(0.5);
  m.loadStateDict(sd, false);
  assert.ok(conv0().weight.data.every((v) => v === 0.5));
  assert.notDeepEqual(before, conv0().weight.data);
});

test('loadStateDict accepts a PyTorch state dict without num_batches_tracked (older checkpoints)', () => {
  const m = new BatchNorm1d(3);
  const sd = clone(m.stateDict());
  sd.delete('num_batches_tracked');
  (sd.get('running_var')!.data as Float32Array).fill(2);
  m.loadStateDict(sd);
  assert.deepEqual(Array.from(m.running_var.data as Float32Array), [2, 2, 2]);
});
