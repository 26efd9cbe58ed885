// Conv / ConvTranspose weight gradients timed in isolation (DESIGN.md: "Measure ops in
// isolation", "Conv weight gradients"): for each of the chapter model's layers, the
// weight-gradient subgraph alone (inputs: the signal and the cotangent/activation acting as
// kernel; output dW) as a small ONNX graph, best of many runs, rounds alternating between
// candidates. CPU time is reported beside wall time. Candidates that are not in src/ (measured,
// rejected) are written out here.
// Usage:
//   node --import tsx bench/conv-wgrad.ts [batch=32] [rounds=40] [runsPerRound=20] [layers=all]
import { Graph } from '../src/graph/ir.js';
import { Tensor } from '../src/graph/tensor.js';
import '../src/graph/ops/index.js';
import { type Geometry, patchWeightGrad, sliceWeightGrad, weightGrad, weightGradForm } from '../src/graph/ops/conv.js';
import { emitModel } from '../src/onnx/emit.js';
import { createSession, floatTensor } from '../src/runtime/ort.js';
import { Rng } from '../src/util/random.js';
import { timeBestOf } from './best-of.js';

const [batchArg = '32', roundsArg = '40', runsArg = '20', layersArg = ''] = process.argv.slice(2);
const N = Number(batchArg);
const geo = (k: number, s = 1, p = 0): Geometry => ({ k: [k, k], s: [s, s], d: [1, 1], pb: [p, p], pe: [p, p], group: 1 });
// sig: the signal whose patches are taken (Conv: X; ConvTranspose: dY); kern: the other operand.
const LAYERS: Record<string, { sig: number[]; kern: number[]; g: Geometry }> = {
  'encoder.0 Conv dW': { sig: [1, 28, 28], kern: [16, 25, 25], g: geo(4) },
  'encoder.3 Conv dW': { sig: [16, 12, 12], kern: [4, 9, 9], g: geo(4) },
  'decoder.0 ConvT dW': { sig: [16, 5, 5], kern: [4, 1, 1], g: geo(5, 2) },
  'decoder.2 ConvT dW': { sig: [4, 13, 13], kern: [16, 5, 5], g: geo(5, 2) },
  'decoder.4 ConvT dW': { sig: [1, 28, 28], kern: [4, 13, 13], g: geo(4, 2) },
  // the cnn preset at 28x28 (DeepConvAutoencoder: k3 s2 p1 convs, k4 s2 p1 transposed convs)
  'cnn encoder.0 Conv dW': { sig: [1, 28, 28], kern: [16, 14, 14], g: geo(3, 2, 1) },
  'cnn encoder.2 Conv dW': { sig: [16, 14, 14], kern: [32, 7, 7], g: geo(3, 2, 1) },
  'cnn decoder.3 ConvT dW': { sig: [16, 14, 14], kern: [32, 7, 7], g: geo(4, 2, 1) },
  'cnn decoder.5 ConvT dW': { sig: [1, 28, 28], kern: [16, 14, 14], g: geo(4, 2, 1) },
  // a padded stride-1 conv ('same' 3x3, 16 -> 16 channels at 14x14; not in a preset)
  'same 3x3 Conv dW': { sig: [16, 14, 14], kern: [16, 14, 14], g: geo(3, 1, 1) },
  'same 7x7 Conv dW': { sig: [8, 14, 14], kern: [8, 14, 14], g: geo(7, 1, 3) },
  'valid 7x7 Conv dW': { sig: [4, 28, 28], kern: [8, 22, 22], g: geo(7, 1, 0) },
  'valid 7x7 1-channel Conv dW': { sig: [1, 28, 28], kern: [8, 22, 22], g: geo(7, 1, 0) },
  'same 5x5 1-channel Conv dW': { sig: [1, 28, 28], kern: [32, 28, 28], g: geo(5, 1, 2) },
};
const prod = (xs: number[]) => xs.reduce((p, q) => p * q, 1);
const spatial = (t: Tensor) => t.shape.slice(2) as number[];
const kernelOffsets = (k: number[]) => Array.from({ length: prod(k) }, (_, i) => [Math.floor(i / k[1]!), i % k[1]!]);

/** Rejected: Gather patches (constant indices, channels last: [N, P, K*B]) + batched MatMul + sum. */
const padded = (t: Tensor, g: Geometry) => ([...g.pb, ...g.pe].some((p) => p !== 0) ? t.op('Pad', [t.ints([0, 0, ...g.pb, 0, 0, ...g.pe])]) : t);

function gatherPatches(unpadded: Tensor, kern: Tensor, g: Geometry): Tensor {
  const sig = padded(unpadded, g);
  const [a, b] = [kern.shape[1] as number, sig.shape[1] as number];
  const sp = spatial(sig), pk = spatial(kern), P = prod(pk), K = prod(g.k);
  const idx = new BigInt64Array(P * K);
  const offs = kernelOffsets(g.k);
  for (let p = 0; p < P; p++)
    for (let k = 0; k < K; k++) idx[p * K + k] = BigInt((Math.floor(p / pk[1]!) * g.s[0]! + offs[k]![0]!) * sp[1]! + (p % pk[1]!) * g.s[1]! + offs[k]![1]!);
  const flat = b === 1 ? sig.reshape(['N', prod(sp)]) : sig.reshape(['N', b, prod(sp)]).transpose([0, 2, 1]);
  const patches = flat.gather(sig.constant({ dtype: 'int64', dims: [P, K], data: idx }, 'idx'), 1).reshape(['N', P, K * b]);
  const dw = kern.reshape(['N', a, P]).matmul(patches).sum([0]);
  return dw.reshape([a, ...g.k, b]).transpose([0, 3, 1, 2]);
}

/** Rejected for B > 1: a grouped Conv with one-hot kernels per signal channel as patches. */
function groupedOneHot(unpadded: Tensor, kern: Tensor, g: Geometry): Tensor {
  const sig = padded(unpadded, g);
  const [a, b] = [kern.shape[1] as number, sig.shape[1] as number];
  const K = prod(g.k), P = prod(spatial(kern));
  const onehot = new Float32Array(b * K * K);
  for (let c = 0; c < b * K; c++) onehot[c * K + (c % K)] = 1;
  const w = sig.constant({ dtype: 'float32', dims: [b * K, 1, ...g.k], data: onehot }, 'onehot');
  const patches = sig.conv(w, undefined, { strides: g.s, group: b }).reshape(['N', b * K, P]);
  return kern.reshape(['N', a, P]).matmul(patches.transpose([0, 2, 1])).sum([0]).reshape([a, b, ...g.k]);
}

/** Rejected: slices as sliceWeightGrad, each GEMM as Gemm(slice, kern channels-last, transA): [B, A] per offset. */
function slicesTransA(sig: Tensor, kern: Tensor, g: Geometry): Tensor {
  const [a, b] = [kern.shape[1] as number, sig.shape[1] as number];
  const pk = spatial(kern);
  const last = padded(sig, g).transpose([0, 2, 3, 1]);
  const kernLast = kern.transpose([0, 2, 3, 1]).reshape([-1, a]); // [N*P, A]
  const parts = kernelOffsets(g.k).map(([u, v]) => {
    const sl = last.slice([u!, v!], [u! + (pk[0]! - 1) * g.s[0]! + 1, v! + (pk[1]! - 1) * g.s[1]! + 1], [1, 2], g.s[0] === 1 && g.s[1] === 1 ? undefined : g.s);
    return sl.reshape([-1, b]).gemm(kernLast, undefined, { transA: 1 }); // [B, A]
  });
  return Tensor.concat(parts, 0).reshape([...g.k, b, a]).transpose([3, 2, 0, 1]);
}

type Variant = (sig: Tensor, kern: Tensor, g: Geometry) => Tensor;
const VARIANTS: Record<string, Variant> = {
  'swapped Conv': (s, k, g) => weightGrad(s, k, g, g.k),
  'one-hot Conv patches + MatMul': (s, k, g) => (s.shape[1] === 1 ? patchWeightGrad(s, k, g, g.k) : groupedOneHot(s, k, g)),
  'Gather patches + MatMul': gatherPatches,
  'channels-last Slice + GEMM per offset': (s, k, g) => sliceWeightGrad(s, k, g, g.k),
  'slices, Gemm transA (rejected)': slicesTransA,
};
const rng = new Rng(3);
const only = layersArg ? layersArg.split(',') : undefined;
for (const [layer, { sig, kern, g }] of Object.entries(LAYERS)) {
  if (only && !only.some((o) => layer.startsWith(o))) continue;
  const feeds = {
    s: floatTensor(new Float32Array(N * prod(sig)).map(() => rng.uniform() - 0.5), [N, ...sig]),
    k: floatTensor(new Float32Array(N * prod(kern)).map(() => rng.uniform() - 0.5), [N, ...kern]),
  };
  const cands = [];
  for (const [name, f] of Object.entries(VARIANTS)) {
    const gr = new Graph();
    const s = new Tensor(gr, gr.input('s', 'float32', ['N', ...sig]));
    const k = new Tensor(gr, gr.input('k', 'float32', ['N', ...kern]));
    let out: Tensor;
    try {
      out = f(s, k, g);
    } catch (e) {
      console.log(`  (${layer}: ${name} not built: ${(e as Error).message.slice(0, 80)})`);
      continue;
    }
    gr.outputs = [out.v];
    const sess = await createSession(emitModel(gr));
    const data = (await sess.run(feeds))[gr.outputs[0]!.name]!.data as Float32Array;
    cands.push({ name, sess, data, nodes: gr.nodes.length, best: Infinity, bestCpu: Infinity });
  }
  const ref = cands[0]!.data;
  for (const c of cands) {
    const err = c.data.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i]!)), 0);
    if (c.data.length !== ref.length || err > 1e-3 * Math.max(1, ...ref.map(Math.abs))) throw new Error(`${layer}: ${c.name} differs (${err})`);
  }
  await timeBestOf(cands, Number(roundsArg), Number(runsArg), (c) => c.sess.run(feeds));
  const probe = new Graph();
  const form = weightGradForm(probe.input('s', 'float32', ['N', ...sig]), probe.input('k', 'float32', ['N', ...kern]), g);
  console.log(`${layer}: signal [${N},${sig}], kernel operand [${N},${kern}], k=${g.k[0]} s=${g.s[0]}; best of ${roundsArg}x${runsArg}; src/ emits '${form}'`);
  for (const c of cands) console.log(`  ${c.name.padEnd(34)} ${c.best.toFixed(3)} ms wall, ${c.bestCpu.toFixed(3)} ms CPU (${c.nodes} nodes)`);
}
