// Conv / ConvTranspose weight gradients timed in isolation (DESIGN.md: "Measure ops in
// isolation"): for each of the chapter model's layers, the weight-gradient subgraph alone (inputs
// the signal and the cotangent/activation acting as kernel; output dW) as a small ONNX graph, best
// of many runs, rounds alternating between candidates. CPU time is reported beside wall time.
// Usage:
//   node --import tsx bench/conv-wgrad.ts [batch=32] [rounds=40] [runsPerRound=20] [layers=all]
import { Graph } from '../src/graph/ir.js';
import { Tensor } from '../src/graph/tensor.js';
import '../src/graph/ops/index.js';
import { type Geometry, patchWeightGrad, weightGrad } from '../src/graph/ops/conv.js';
import { emitModel } from '../src/onnx/emit.js';
import { createSession, floatTensor } from '../src/runtime/ort.js';
import { Rng } from '../src/util/random.js';

const [batchArg = '32', roundsArg = '40', runsArg = '20', layersArg = ''] = process.argv.slice(2);
const N = Number(batchArg);
const geo = (k: number, s = 1): Geometry => ({ k: [k, k], s: [s, s], d: [1, 1], pb: [0, 0], pe: [0, 0], group: 1 });
// sig: the signal whose patches are taken (Conv: X; ConvTranspose: dY); kern: the other operand.
const LAYERS: Record<string, { sig: number[]; kern: number[]; g: Geometry }> = {
  'encoder.0 Conv dW': { sig: [1, 28, 28], kern: [16, 25, 25], g: geo(4) },
  'encoder.3 Conv dW': { sig: [16, 12, 12], kern: [4, 9, 9], g: geo(4) },
  'decoder.0 ConvT dW': { sig: [16, 5, 5], kern: [4, 1, 1], g: geo(5, 2) },
  'decoder.2 ConvT dW': { sig: [4, 13, 13], kern: [16, 5, 5], g: geo(5, 2) },
  'decoder.4 ConvT dW': { sig: [1, 28, 28], kern: [4, 13, 13], g: geo(4, 2) },
};
type Variant = (sig: Tensor, kern: Tensor, g: Geometry) => Tensor;
const VARIANTS: Record<string, Variant> = {
  'Conv, batch<->channels (before)': (s, k, g) => weightGrad(s, k, g, g.k),
  'Gather patches + MatMul': (s, k, g) => patchWeightGrad(s, k, g, g.k, 'gather'),
  'one-hot Conv patches + MatMul': (s, k, g) => patchWeightGrad(s, k, g, g.k, 'conv'),
};
const rng = new Rng(3);
const only = layersArg ? layersArg.split(',') : undefined;
for (const [layer, { sig, kern, g }] of Object.entries(LAYERS)) {
  if (only && !only.some((o) => layer.startsWith(o))) continue;
  const feeds = {
    s: floatTensor(new Float32Array(N * sig.reduce((a, b) => a * b)).map(() => rng.uniform() - 0.5), [N, ...sig]),
    k: floatTensor(new Float32Array(N * kern.reduce((a, b) => a * b)).map(() => rng.uniform() - 0.5), [N, ...kern]),
  };
  const cands = [];
  for (const [name, f] of Object.entries(VARIANTS)) {
    const gr = new Graph();
    const s = new Tensor(gr, gr.input('s', 'float32', ['N', ...sig]));
    const k = new Tensor(gr, gr.input('k', 'float32', ['N', ...kern]));
    gr.outputs = [f(s, k, g).v];
    const sess = await createSession(emitModel(gr));
    const out = (await sess.run(feeds))[gr.outputs[0]!.name]!.data as Float32Array;
    cands.push({ name, sess, out, nodes: gr.nodes.length, best: Infinity, bestCpu: Infinity });
  }
  const ref = cands[0]!.out;
  for (const c of cands) {
    const err = c.out.reduce((m, v, i) => Math.max(m, Math.abs(v - ref[i]!)), 0);
    if (c.out.length !== ref.length || err > 1e-3 * Math.max(1, ...ref.map(Math.abs))) throw new Error(`${layer}: ${c.name} differs (${err})`);
  }
  for (let r = 0; r < Number(roundsArg); r++)
    for (const c of cands) {
      const t0 = performance.now(), cpu0 = process.cpuUsage();
      for (let i = 0; i < Number(runsArg); i++) await c.sess.run(feeds);
      const cpu = process.cpuUsage(cpu0);
      c.best = Math.min(c.best, (performance.now() - t0) / Number(runsArg));
      c.bestCpu = Math.min(c.bestCpu, (cpu.user + cpu.system) / 1000 / Number(runsArg));
    }
  console.log(`${layer}: signal [${N},${sig}], kernel operand [${N},${kern}], k=${g.k[0]} s=${g.s[0]}; best of ${roundsArg}x${runsArg}`);
  for (const c of cands) console.log(`  ${c.name.padEnd(34)} ${c.best.toFixed(3)} ms wall, ${c.bestCpu.toFixed(3)} ms CPU (${c.nodes} nodes)`);
}
