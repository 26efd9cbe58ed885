// Conv bias gradient (dB = sum of dY over batch and space) timed in isolation, at the chapter
// model's largest conv output (encoder.0: dY [N,16,25,25]) and its decoder output
// ([N,1,28,28]). One ReduceSum over axes [0,2,3] against two-stage forms. Best of many runs.
//   node --import tsx bench/conv-db.ts [batch=32] [rounds=40] [runsPerRound=20]
import { Graph } from '../src/graph/ir.js';
import { Tensor } from '../src/graph/tensor.js';
import '../src/graph/ops/index.js';
import { emitModel } from '../src/onnx/emit.js';
import { createSession, floatTensor } from '../src/runtime/ort.js';
import { Rng } from '../src/util/random.js';
import { timeBestOf } from './best-of.js';

const [batchArg = '32', roundsArg = '40', runsArg = '20'] = process.argv.slice(2);
const N = Number(batchArg);
const rng = new Rng(3);
const VARIANTS: Record<string, (d: Tensor, c: number, p: number) => Tensor> = {
  'ReduceSum [0,2,3] (current)': (d) => d.sum([0, 2, 3]),
  'ReduceSum spatial, then batch': (d, c, p) => d.reshape(['N', c, p]).sum([2]).sum([0]),
  'ReduceSum batch, then spatial': (d) => d.sum([0]).sum([1, 2]),
  'MatMul with ones, ReduceSum batch': (d, c, p) => d.reshape(['N', c, p]).matmul(d.constant({ dtype: 'float32', dims: [p, 1], data: new Float32Array(p).fill(1) }, 'ones')).sum([0]).reshape([c]),
};
for (const [c, h] of [[16, 25], [1, 28], [4, 13]] as const) {
  const feeds = { d: floatTensor(new Float32Array(N * c * h * h).map(() => rng.uniform() - 0.5), [N, c, h, h]) };
  const cands: { name: string; sess: Awaited<ReturnType<typeof createSession>>; out: Float32Array; best: number; bestCpu: number }[] = [];
  for (const [name, f] of Object.entries(VARIANTS)) {
    const g = new Graph();
    const d = new Tensor(g, g.input('d', 'float32', ['N', c, h, h]));
    g.outputs = [f(d, c, h * h).v];
    const sess = await createSession(emitModel(g));
    const out = (await sess.run(feeds))[g.outputs[0]!.name]!.data as Float32Array;
    cands.push({ name, sess, out, best: Infinity, bestCpu: Infinity });
  }
  for (const x of cands) {
    const err = x.out.reduce((m, v, i) => Math.max(m, Math.abs(v - cands[0]!.out[i]!)), 0);
    if (x.out.length !== c || err > 1e-2) throw new Error(`${x.name} differs by ${err}`);
  }
  await timeBestOf(cands, Number(roundsArg), Number(runsArg), (x) => x.sess.run(feeds));
  console.log(`dB of dY [${N},${c},${h},${h}]; best of ${roundsArg}x${runsArg}`);
  for (const x of cands) console.log(`  ${x.name.padEnd(36)} ${x.best.toFixed(3)} ms wall, ${x.bestCpu.toFixed(3)} ms CPU`);
}
