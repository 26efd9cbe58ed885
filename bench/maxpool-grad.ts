// MaxPool gradient rewrites timed in isolation (DESIGN.md: "Measure ops in isolation"): each
// candidate is the gradient subgraph alone (inputs X, Y = MaxPool(X), dY; output dX) as a small
// ONNX graph, best of many runs, rounds alternating between candidates. CPU time (the process's,
// one intra-op thread) is reported beside wall time: it inflates less when the machine is shared.
// Usage:
//   node --import tsx bench/maxpool-grad.ts [batch=32] [rounds=40] [runsPerRound=20]
// Shapes are the chapter's: [N,16,25,25] -> 12x12, kernel 2, stride 2.
import { Graph, type Value } from '../src/graph/ir.js';
import { Tensor } from '../src/graph/tensor.js';
import '../src/graph/ops/index.js';
import { firstMaxGrad, repeatWindows, windowPriority } from '../src/graph/ops/conv.js';
import { emitModel } from '../src/onnx/emit.js';
import { createSession, floatTensor } from '../src/runtime/ort.js';
import { Rng } from '../src/util/random.js';

const [batchArg = '32', roundsArg = '40', runsArg = '20'] = process.argv.slice(2);
const N = Number(batchArg), C = 16, H = 25, K = 2, HO = 12;
const extra: [number, number] = [H - HO * K, H - HO * K];
const pool = (t: Tensor) => t.maxPool([K, K], [K, K], [0, 0, 0, 0]);

function up(t: Tensor): Tensor {
  const ones = t.constant({ dtype: 'float32', dims: [C, 1, K, K], data: new Float32Array(C * K * K).fill(1) }, 'ones');
  return t.convTranspose(ones, undefined, { strides: [K, K], group: C, output_padding: extra });
}

/** Row-major priority of each position inside its window: K*K for the first, 1 for the last. */
function priority(t: Tensor): Tensor {
  const data = new Float32Array(H * H).map((_, i) => K * K - (((Math.floor(i / H) % K) * K) + ((i % H) % K)));
  return t.constant({ dtype: 'float32', dims: [1, 1, H, H], data }, 'prio');
}

type Variant = (x: Tensor, y: Tensor, d: Tensor) => Tensor;
const VARIANTS: Record<string, Variant> = {
  // before: every tied maximum gets dY (not PyTorch's rule)
  'all ties get dY (before)': (x, y, d) => Tensor.where(x.equal(up(y)), up(d), 0),
  // first maximum, routed at full resolution: the window's highest priority among its maxima
  'first: priority, 2nd up + Equal': (x, y, d) => {
    const p = Tensor.where(x.equal(up(y)), priority(x), 0);
    return Tensor.where(p.equal(up(pool(p))), up(d), 0);
  },
  // first maximum, routed at pooled resolution into slots + grouped ConvTranspose, with the
  // ConvTranspose upsampler for up(Y) (first version)
  'first: slots, ConvT up(Y)': (x, y, d) => {
    const kk = K * K;
    const p = Tensor.where(x.equal(up(y)), priority(x), 0);
    const slots = x.constant({ dtype: 'float32', dims: [1, 1, kk, 1, 1], data: Float32Array.from({ length: kk }, (_, i) => kk - i) }, 'slots');
    const routed = Tensor.where(pool(p).unsqueeze([2]).equal(slots), d.unsqueeze([2]), 0).reshape([d.shape[0]!, C * kk, HO, HO]);
    const w = new Float32Array(C * kk * kk).map((_, i) => (i % kk === Math.floor(i / kk) % kk ? 1 : 0));
    const onehot = x.constant({ dtype: 'float32', dims: [C * kk, 1, K, K], data: w }, 'onehot');
    return routed.convTranspose(onehot, undefined, { strides: [K, K], group: C, output_padding: extra });
  },
  // the same with X's covered part (Slice) against a nearest Resize of Y (adopted before Cast+Mul)
  'first: slots, Resize up(Y)': (x, y, d) => {
    const kk = K * K;
    const covered = x.slice([0, 0], [HO * K, HO * K], [2, 3]);
    const tied = Tensor.where(covered.equal(repeatWindows(y, K, K)), windowPriority(x, K, K, HO * K, HO * K), 0);
    const winner = tied.maxPool([K, K], [K, K], [0, 0, 0, 0]).unsqueeze([2]);
    const slots = x.constant({ dtype: 'float32', dims: [1, 1, kk, 1, 1], data: Float32Array.from({ length: kk }, (_, i) => kk - i) }, 'slots');
    const routed = Tensor.where(winner.equal(slots), d.unsqueeze([2]), 0).reshape([d.shape[0]!, C * kk, HO, HO]);
    const w = new Float32Array(C * kk * kk).map((_, i) => (i % kk === Math.floor(i / kk) % kk ? 1 : 0));
    const onehot = x.constant({ dtype: 'float32', dims: [C * kk, 1, K, K], data: w }, 'onehot');
    return routed.convTranspose(onehot, undefined, { strides: [K, K], group: C, output_padding: extra });
  },
  // the adopted rule (src/graph/ops/conv.ts firstMaxGrad): Cast + Mul in place of the two broadcasting Wheres
  'first: slots, Cast+Mul (adopted)': (x, y, d) => firstMaxGrad(x, y, d, K, K),
  // forward MaxPool with Indices (the forward is included here) + ScatterElements
  'first: Indices fwd + Scatter': (x, _y, d) => {
    const g = x.g;
    const node = { op: 'MaxPool', inputs: [x.v], outputs: [] as Value[], attrs: { kernel_shape: [K, K], strides: [K, K] }, scope: '' };
    node.outputs = [g.newValue('float32', [x.shape[0]!, C, HO, HO]), g.newValue('int64', [x.shape[0]!, C, HO, HO])];
    g.nodes.push(node);
    const idx = new Tensor(g, node.outputs[1]!);
    return x.zerosLike().reshape([-1]).op('ScatterElements', [idx.reshape([-1]), d.reshape([-1])], { axis: 0 }).op('Reshape', [x.shapeOf()]);
  },
  // the adopted rule with its forward MaxPool, to compare with the Indices variant
  'plain fwd + first: slots': (x, _y, d) => firstMaxGrad(x, pool(x), d, K, K),
};

const rng = new Rng(3);
// ReLU-like data: about half exact zeros, so tied windows are common (as on Fashion-MNIST).
const xData = new Float32Array(N * C * H * H).map(() => Math.max(0, rng.uniform() - 0.5));
const yData = new Float32Array(N * C * HO * HO);
for (let i = 0; i < N * C; i++)
  for (let a = 0; a < HO; a++)
    for (let b = 0; b < HO; b++) {
      let m = -Infinity;
      for (let u = 0; u < K; u++) for (let v = 0; v < K; v++) m = Math.max(m, xData[i * H * H + (a * K + u) * H + b * K + v]!);
      yData[i * HO * HO + a * HO + b] = m;
    }
const dData = new Float32Array(N * C * HO * HO).map(() => rng.uniform() - 0.5);
const feeds = { x: floatTensor(xData, [N, C, H, H]), y: floatTensor(yData, [N, C, HO, HO]), d: floatTensor(dData, [N, C, HO, HO]) };

const candidates = [];
for (const [name, f] of Object.entries(VARIANTS)) {
  const g = new Graph();
  const x = new Tensor(g, g.input('x', 'float32', ['N', C, H, H]));
  const y = new Tensor(g, g.input('y', 'float32', ['N', C, HO, HO]));
  const d = new Tensor(g, g.input('d', 'float32', ['N', C, HO, HO]));
  g.outputs = [f(x, y, d).v];
  const model = emitModel(g);
  const s = await createSession(model);
  const usedFeeds = Object.fromEntries(Object.entries(feeds).filter(([k]) => s.inputNames.includes(k)));
  const out = (await s.run(usedFeeds))[g.outputs[0]!.name]!.data as Float32Array;
  const routed = out.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0);
  candidates.push({ name, s, usedFeeds, routed, nodes: g.nodes.length, best: Infinity, bestCpu: Infinity, out });
}
// Every first-maximum variant must give the adopted rule's dX exactly.
const adopted = candidates.find((c) => c.name === 'first: slots, Cast+Mul (adopted)')!.out;
for (const c of candidates.filter((c) => c.name.startsWith('first')))
  if (c.out.some((v, i) => v !== adopted[i])) throw new Error(`${c.name} differs from the adopted rule`);
for (let r = 0; r < Number(roundsArg); r++)
  for (const c of candidates) {
    const t0 = performance.now(), cpu0 = process.cpuUsage();
    for (let i = 0; i < Number(runsArg); i++) await c.s.run(c.usedFeeds);
    const cpu = process.cpuUsage(cpu0);
    c.best = Math.min(c.best, (performance.now() - t0) / Number(runsArg));
    c.bestCpu = Math.min(c.bestCpu, (cpu.user + cpu.system) / 1000 / Number(runsArg));
  }
console.log(`MaxPool gradient subgraph, [${N},${C},${H},${H}] -> ${HO}x${HO}, k=${K} s=${K}; best of ${roundsArg}x${runsArg} runs`);
for (const c of candidates) console.log(`${c.name.padEnd(32)} ${c.best.toFixed(3)} ms wall, ${c.bestCpu.toFixed(3)} ms CPU  (${c.nodes} nodes, ${c.routed} nonzero dX of ${N * C * HO * HO} windows)`);
