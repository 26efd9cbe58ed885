// AveragePool gradient timed in isolation at the chapter's AvgPool2d(9) ([N,4,9,9] -> [N,4,1,1],
// one window covering the whole input): the depthwise ConvTranspose of 1/81 kernels against
// dY/81 expanded over the window. Best of many runs, alternating.
//   node --import tsx bench/avgpool-grad.ts [batch=32] [rounds=40] [runsPerRound=20]
import { Graph } from '../src/graph/ir.js';
import { Tensor } from '../src/graph/tensor.js';
import '../src/graph/ops/index.js';
import { emitModel } from '../src/onnx/emit.js';
import { createSession, floatTensor } from '../src/runtime/ort.js';
import { Rng } from '../src/util/random.js';

const [batchArg = '32', roundsArg = '40', runsArg = '20'] = process.argv.slice(2);
const N = Number(batchArg), C = 4, H = 9;
const rng = new Rng(3);
const feeds = { d: floatTensor(new Float32Array(N * C).map(() => rng.uniform() - 0.5), [N, C, 1, 1]), x: floatTensor(new Float32Array(N * C * H * H), [N, C, H, H]) };
const VARIANTS: Record<string, (d: Tensor, x: Tensor) => Tensor> = {
  'ConvTranspose of 1/81 (current)': (d) => d.convTranspose(d.constant({ dtype: 'float32', dims: [C, 1, H, H], data: new Float32Array(C * H * H).fill(1 / (H * H)) }, 'ones'), undefined, { strides: [H, H], group: C }),
  'Mul 1/81, Expand to Shape(X)': (d, x) => d.mul(1 / (H * H)).expand(x.shapeOf()),
  'Mul 1/81, Expand to [1,C,H,W] (adopted)': (d) => d.mul(1 / (H * H)).expand(d.ints([1, C, H, H])),
};
const cands: { name: string; sess: Awaited<ReturnType<typeof createSession>>; out: Float32Array; best: number; bestCpu: number }[] = [];
for (const [name, f] of Object.entries(VARIANTS)) {
  const g = new Graph();
  const d = new Tensor(g, g.input('d', 'float32', ['N', C, 1, 1]));
  const x = new Tensor(g, g.input('x', 'float32', ['N', C, H, H]));
  g.outputs = [f(d, x).v];
  const sess = await createSession(emitModel(g));
  const used = Object.fromEntries(Object.entries(feeds).filter(([k]) => sess.inputNames.includes(k)));
  const out = (await sess.run(used))[g.outputs[0]!.name]!.data as Float32Array;
  cands.push({ name, sess: Object.assign(sess, { used }), out, best: Infinity, bestCpu: Infinity });
}
for (const c of cands) {
  const err = c.out.reduce((m, v, i) => Math.max(m, Math.abs(v - cands[0]!.out[i]!)), 0);
  if (err > 1e-6) throw new Error(`${c.name} differs by ${err}`);
}
for (let r = 0; r < Number(roundsArg); r++)
  for (const c of cands) {
    const used = (c.sess as unknown as { used: typeof feeds }).used;
    const t0 = performance.now(), cpu0 = process.cpuUsage();
    for (let i = 0; i < Number(runsArg); i++) await c.sess.run(used);
    const cpu = process.cpuUsage(cpu0);
    c.best = Math.min(c.best, (performance.now() - t0) / Number(runsArg));
    c.bestCpu = Math.min(c.bestCpu, (cpu.user + cpu.system) / 1000 / Number(runsArg));
  }
console.log(`AvgPool2d(9) gradient, dY [${N},${C},1,1] -> [${N},${C},${H},${H}]; best of ${roundsArg}x${runsArg}`);
for (const c of cands) console.log(`  ${c.name.padEnd(34)} ${c.best.toFixed(3)} ms wall, ${c.bestCpu.toFixed(3)} ms CPU`);
