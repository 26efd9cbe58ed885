// ONNX export (run by onnxruntime-node at two batch sizes against ForwardGraph, validated by
// onnx.checker where Python's onnx is installed) and safetensors reading/writing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import onnxProto from 'onnx-proto';
import { Tensor } from '../../src/graph/tensor.js';
import { mseLoss } from '../../src/losses/index.js';
import { ConvAutoencoder } from '../../src/models/conv-autoencoder.js';
import { BatchNorm1d, ConvTranspose2d, Dropout, Linear, manualSeed, Module, ReLU, Sequential, Sigmoid, type StateDict } from '../../src/nn/index.js';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from '../../src/nn/safetensors.js';
import { exportOnnx, saveOnnx } from '../../src/onnx/export.js';
import { Adam } from '../../src/optim/optimizer.js';
import { ForwardGraph, ParamStore, TrainingStep, type StepFn } from '../../src/runtime/compile.js';
import { ort } from '../../src/runtime/ort.js';
import { Rng } from '../../src/util/random.js';
import { tempDir } from '../helpers/tmp.js';
import { LstmAE } from '../helpers/models.js';

const { onnx } = onnxProto;
const FIX = new URL('../fixtures/parity/', import.meta.url).pathname;
const TMP = tempDir('latentkit-export-');
after(() => rmSync(TMP, { recursive: true, force: true }));

/** A plain Uint8Array copy (exportOnnx may hand back a Node Buffer). */
const u8 = (b: Uint8Array) => new Uint8Array(b);
const rand = (n: number, seed: number, lo = 0, hi = 1) => new Rng(seed).fillUniform(new Float32Array(n), lo, hi);

// ---------------- models ----------------

class MlpBn extends Module {
  net = new Sequential(new Linear(12, 16), new BatchNorm1d(16), new ReLU(), new Dropout(0.3), new Linear(16, 12), new Sigmoid());
  forward(x: Tensor) {
    return this.net.call(x);
  }
}


interface ExportCase {
  name: string;
  make: () => Promise<{ model: Module; store: ParamStore }>;
  shape: number[];
}

const CASES: ExportCase[] = [
  {
    name: 'ConvAutoencoder (chapter)',
    shape: [1, 28, 28],
    make: async () => {
      const model = new ConvAutoencoder();
      model.loadStateDict(loadSafetensors(`${FIX}conv.init.safetensors`).tensors);
      return { model, store: new ParamStore(model) };
    },
  },
  {
    name: 'MLP with BatchNorm1d and Dropout (trained, running stats synced)',
    shape: [12],
    make: async () => {
      manualSeed(3);
      const model = new MlpBn();
      const step = await TrainingStep.create(model, [{ name: 'x', shape: [12] }], (m, [x]) => ({ loss: mseLoss(m.call(x!), x!) }), { optimizer: new Adam({ lr: 0.01 }) });
      for (let k = 0; k < 3; k++) await step.run([rand(8 * 12, k, -1, 3)], 8);
      step.store.sync(); // the export reads the module's host arrays
      const rm = (model.net.at(1) as BatchNorm1d).running_mean.data as Float32Array;
      assert.ok(rm.some((v) => Math.abs(v) > 1e-3), 'running stats should have moved');
      return { model, store: step.store };
    },
  },
  {
    name: 'LSTM autoencoder (2 layers, initial state from the encoder)',
    shape: [6, 3],
    make: async () => {
      manualSeed(4);
      const model = new LstmAE(3, 8, 2);
      return { model, store: new ParamStore(model) };
    },
  },
];

const predict: StepFn = (m, [x]) => ({ loss: x!.sum(), outputs: { y: m.call(x!) } });

function pythonOnnx(): boolean {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' });
  return r.status === 0;
}

function assertStandardOpset17(bytes: Uint8Array, what: string): onnxProto.onnx.ModelProto {
  const model = onnx.ModelProto.decode(bytes);
  assert.equal(Number(model.irVersion), 8, `${what}: IR version`);
  assert.deepEqual(model.opsetImport.map((o) => [o.domain ?? '', Number(o.version)]), [['', 17]], `${what}: opset imports`);
  const nodes = model.graph?.node ?? [];
  assert.ok(nodes.length > 0);
  for (const n of nodes) assert.ok(!n.domain || n.domain === 'ai.onnx', `${what}: node ${n.name} (${n.opType}) is in domain '${n.domain}'`);
  // Ops with no place in an inference model.
  for (const n of nodes) assert.ok(!['RandomUniformLike', 'RandomNormalLike', 'Dropout'].includes(n.opType ?? ''), `${what}: ${n.opType}`);
  return model;
}

for (const c of CASES) {
  test(`exportOnnx: ${c.name} runs in onnxruntime at batch 1 and 5, matching ForwardGraph`, async (t) => {
    const { model, store } = await c.make();
    const bytes = exportOnnx(model, { inputs: [{ name: 'x', shape: c.shape }] });
    assert.ok(model.training, 'export must restore training mode');
    const proto = assertStandardOpset17(bytes, c.name);
    const inputs = proto.graph?.input ?? [], outputs = proto.graph?.output ?? [];
    assert.deepEqual(inputs.map((i) => i.name), ['x'], 'only the data input: weights are initializers');
    assert.deepEqual(outputs.map((o) => o.name), ['output']);
    const inDims = inputs[0]?.type?.tensorType?.shape?.dim ?? [];
    assert.equal(inDims[0]!.dimParam, 'N', 'batch dimension is symbolic');
    assert.deepEqual(inDims.slice(1).map((d) => Number(d.dimValue)), c.shape);
    assert.deepEqual(u8(exportOnnx(model, { inputs: [{ name: 'x', shape: c.shape }] })), u8(bytes), 'export is deterministic');

    const session = await ort.InferenceSession.create(bytes);
    const fg = await ForwardGraph.create(model, [{ name: 'x', shape: c.shape }], predict, store);
    const per = c.shape.reduce((a, b) => a * b, 1);
    for (const n of [1, 5]) {
      const x = rand(n * per, 40 + n);
      const got = await session.run({ x: new ort.Tensor('float32', x, [n, ...c.shape]) });
      const want = await fg.run([x], n);
      const y = got.output!;
      assert.deepEqual([...y.dims], want.dims.y, `batch ${n}: output dims`);
      const a = y.data as Float32Array, b = want.outputs.y!;
      for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-5, `batch ${n}: output[${i}] ${a[i]} vs ForwardGraph ${b[i]}`);
      assert.ok(a.every(Number.isFinite));
    }
    await session.release();
    await fg.release();

    if (!pythonOnnx()) {
      t.skip('/usr/bin/python3 with the onnx package is not available: onnx.checker not run');
      return;
    }
    const path = join(TMP, `${c.name.split(' ')[0]}.onnx`);
    saveOnnx(path, model, { inputs: [{ name: 'x', shape: c.shape }] });
    assert.deepEqual(u8(readFileSync(path)), u8(bytes));
    const r = spawnSync('/usr/bin/python3', ['-c', 'import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print(m.opset_import[0].version)', path], { encoding: 'utf8' });
    assert.equal(r.status, 0, `onnx.checker.check_model(full_check=True) failed:\n${r.stderr}`);
    assert.equal(r.stdout.trim(), '17');
  });
}

test('exportOnnx in eval mode: BatchNorm uses running stats, Dropout is gone (differs from a training-mode run)', async () => {
  manualSeed(8);
  const model = new MlpBn();
  const bn = model.net.at(1) as BatchNorm1d;
  (bn.running_mean.data as Float32Array).set(rand(16, 1, -1, 1));
  (bn.running_var.data as Float32Array).set(rand(16, 2, 0.5, 2));
  const bytes = exportOnnx(model, { inputs: [{ name: 'x', shape: [12] }] });
  const session = await ort.InferenceSession.create(bytes);
  const x = rand(4 * 12, 3);
  const y = (await session.run({ x: new ort.Tensor('float32', x, [4, 12]) })).output!.data as Float32Array;
  const train = await ForwardGraph.create(model, [{ name: 'x', shape: [12] }], predict, new ParamStore(model), { training: true, seed: 1 });
  const yTrain = (await train.run([x], 4)).outputs.y!;
  assert.ok(y.some((v, i) => Math.abs(v - yTrain[i]!) > 1e-3), 'the export looks like training mode');
});

test('exportOnnx with several named outputs (code and reconstruction)', async () => {
  const model = new ConvAutoencoder();
  const bytes = exportOnnx(model, {
    inputs: [{ name: 'image', shape: [1, 28, 28] }],
    outputNames: ['code', 'reconstruction'],
    fn: (m, [x]) => {
      const ae = m as ConvAutoencoder;
      const z = ae.encode(x!);
      return [z, ae.decode(z)];
    },
  });
  assertStandardOpset17(bytes, 'two outputs');
  const session = await ort.InferenceSession.create(bytes);
  assert.deepEqual([...session.outputNames], ['code', 'reconstruction']);
  const r = await session.run({ image: new ort.Tensor('float32', rand(2 * 784, 5), [2, 1, 28, 28]) });
  assert.deepEqual([...r.code!.dims], [2, 4, 1, 1]);
  assert.deepEqual([...r.reconstruction!.dims], [2, 1, 28, 28]);
});

test('exportOnnx refuses a graph that would draw random numbers', () => {
  class Noisy extends Module {
    forward(x: Tensor) {
      return x.add(this.ctx(x.g).random(x.shape, 'normal'));
    }
  }
  assert.throws(() => exportOnnx(new Noisy(), { inputs: [{ name: 'x', shape: [3] }] }), /random/);
});

// ---------------- safetensors ----------------

function bytesOf(d: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

function assertSameState(got: StateDict, want: StateDict): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [k, e] of want) {
    const g = got.get(k)!;
    assert.equal(g.dtype, e.dtype, `${k}: dtype`);
    assert.deepEqual(g.shape, e.shape, `${k}: shape`);
    assert.deepEqual(bytesOf(g.data), bytesOf(e.data), `${k}: bits`);
  }
}

test('safetensors save/load round trip preserves names, shapes, dtypes, bits and metadata', () => {
  manualSeed(6);
  const model = new Sequential(new Linear(5, 3), new BatchNorm1d(3));
  const sd = model.stateDict();
  // Bit patterns that a lossy path (JSON, float64, NaN canonicalisation) would change.
  const w = sd.get('0.weight')!.data as Float32Array;
  new Uint32Array(w.buffer, w.byteOffset, 4).set([0x7fc00123, 0x80000000, 0x00000001, 0x7f800000]); // NaN payload, -0, denormal, +Inf
  (sd.get('1.num_batches_tracked')!.data as BigInt64Array)[0] = 2n ** 40n + 7n;
  const path = join(TMP, 'roundtrip.safetensors');
  saveSafetensors(path, sd, { format: 'pt', note: 'latentkit test' });
  const raw = readFileSync(path);
  const headerLen = Number(raw.readBigUInt64LE(0));
  assert.equal((8 + headerLen) % 8, 0, 'data starts 8-byte aligned');
  const header = JSON.parse(raw.subarray(8, 8 + headerLen).toString('utf8'));
  assert.deepEqual(header['1.num_batches_tracked'].dtype, 'I64');
  assert.deepEqual(header['0.weight'].dtype, 'F32');
  const { tensors, metadata } = loadSafetensors(path);
  assertSameState(tensors, sd);
  assert.deepEqual(metadata, { format: 'pt', note: 'latentkit test' });
  // Loading the file back into a fresh model reproduces the state exactly.
  const fresh = new Sequential(new Linear(5, 3), new BatchNorm1d(3));
  fresh.loadStateDict(tensors);
  assertSameState(fresh.stateDict(), sd);
  // encode/decode in memory agree with the file.
  assert.deepEqual(new Uint8Array(encodeSafetensors(sd, { format: 'pt', note: 'latentkit test' })), new Uint8Array(raw));
});

test('a safetensors file written by PyTorch loads into ConvAutoencoder', () => {
  const path = `${FIX}conv.init.safetensors`;
  const { tensors } = loadSafetensors(path);
  const model = new ConvAutoencoder();
  model.loadStateDict(tensors);
  assertSameState(model.stateDict(), tensors);
  // Independent check of one value: parse the file by hand.
  const raw = readFileSync(path);
  const n = Number(raw.readBigUInt64LE(0));
  const h = JSON.parse(raw.subarray(8, 8 + n).toString('utf8'));
  const [b] = h['decoder.4.bias'].data_offsets as [number, number];
  assert.equal((model.decoder.at(4) as ConvTranspose2d).bias!.data[0], raw.readFloatLE(8 + n + b));
});

function writeTmp(name: string, data: Uint8Array): string {
  const p = join(TMP, name);
  writeFileSync(p, data);
  return p;
}

/** A well-formed file around an arbitrary header string and data bytes. */
function withHeader(header: string, data = new Uint8Array(0)): Buffer {
  const h = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + h.length + data.length);
  out.writeBigUInt64LE(BigInt(h.length), 0);
  h.copy(out, 8);
  out.set(data, 8 + h.length);
  return out;
}

test('truncated safetensors files give an error naming the file', () => {
  const good = readFileSync(`${FIX}conv.init.safetensors`);
  const n = Number(good.readBigUInt64LE(0));
  const cuts: [string, number, RegExp][] = [
    ['empty', 0, /shorter than/],
    ['4 bytes', 4, /shorter than/],
    ['inside the header', 8 + Math.floor(n / 2), /header length/],
    ['inside the data', good.length - 100, /outside the file/],
    ['one byte short', good.length - 1, /outside the file/],
  ];
  for (const [what, len, why] of cuts) {
    const p = writeTmp(`trunc-${len}.safetensors`, good.subarray(0, len));
    assert.throws(() => loadSafetensors(p), (e: Error) => {
      assert.ok(e.message.includes(p), `${what}: message does not name the file: ${e.message}`);
      assert.match(e.message, why, what);
      return true;
    });
  }
});

test('garbage safetensors files give an error naming the file', () => {
  const garbage: [string, Uint8Array][] = [
    ['random bytes', new Uint8Array(new Rng(1).fillUniform(new Float32Array(64), 0, 1).buffer)],
    ['an ONNX model', exportOnnx(new Linear(2, 2), { inputs: [{ name: 'x', shape: [2] }] })],
    ['header not JSON', withHeader('{"w": {"dtype": "F32", ')],
    ['unsupported dtype', withHeader('{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', new Uint8Array(4))],
    ['shape and data disagree', withHeader('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', new Uint8Array(8))],
    ['reversed offsets', withHeader('{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', new Uint8Array(8))],
    ['negative offsets (would read the header as data)', withHeader('{"w":{"dtype":"F32","shape":[2],"data_offsets":[-4,4]}}', new Uint8Array(8))],
    ['JSON null header', withHeader('null')],
    ['JSON array header', withHeader('[1, 2]')],
    ['non-integer shape', withHeader('{"w":{"dtype":"F32","shape":[0.5, 4],"data_offsets":[0,8]}}', new Uint8Array(8))],
    ['entry without data_offsets', withHeader('{"w":{"dtype":"F32","shape":[2]}}', new Uint8Array(8))],
    ['data length not a multiple of the element size', withHeader('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,6]}}', new Uint8Array(8))],
  ];
  const problems: string[] = [];
  for (const [what, data] of garbage) {
    const p = writeTmp(`garbage-${what.replace(/\W+/g, '_')}.safetensors`, data);
    try {
      loadSafetensors(p);
      problems.push(`${what}: no error`);
    } catch (e) {
      if (!(e as Error).message.includes(p)) problems.push(`${what}: message does not name the file: ${(e as Error).message}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('a missing safetensors file gives an error naming the file', () => {
  const p = join(TMP, 'does-not-exist.safetensors');
  assert.throws(() => loadSafetensors(p), (e: Error) => e.message.includes(p));
});

test('decodeSafetensors without a file name still says what is wrong', () => {
  assert.throws(() => decodeSafetensors(Buffer.from([1, 2, 3])), /<buffer>: not a valid safetensors file/);
});
