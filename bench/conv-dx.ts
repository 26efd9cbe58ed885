// Conv input gradient (dX) timed in isolation: the encoder.3 layer of the chapter's model
// (Conv2d(16, 4, 4): X [N,16,12,12], dY [N,4,9,9]). onnxruntime's ConvTranspose (GEMM + col2im)
// against a full Conv of the zero-padded dY with the flipped, transposed kernel (a forward Conv,
// which onnxruntime's layout pass can run as an NCHWc kernel). Best of many runs, alternating.
//   node --import tsx bench/conv-dx.ts [batch=32] [rounds=40] [runsPerRound=20]
import { Graph } from '../src/graph/ir.js';
import { Tensor } from '../src/graph/tensor.js';
import '../src/graph/ops/index.js';
import { emitModel } from '../src/onnx/emit.js';
import { createSession, floatTensor } from '../src/runtime/ort.js';
import { Rng } from '../src/util/random.js';
import { timeBestOf } from './best-of.js';

const [batchArg = '32', roundsArg = '40', runsArg = '20'] = process.argv.slice(2);
const N = Number(batchArg), CI = 16, CO = 4, K = 4, H = 12, HO = H - K + 1;
const rng = new Rng(3);
const rand = (shape: number[]) => floatTensor(new Float32Array(shape.reduce((a, b) => a * b)).map(() => rng.uniform() - 0.5), shape);
const feeds = { d: rand([N, CO, HO, HO]), w: rand([CO, CI, K, K]) };

/** W[co, ci, K-1-u, K-1-v] as [ci, co, u, v]: a Gather over the flattened kernel positions. */
function flipped(w: Tensor): Tensor {
  const idx = BigInt64Array.from({ length: K * K }, (_, i) => BigInt(K * K - 1 - i));
  return w.reshape([CO, CI, K * K]).gather(w.constant({ dtype: 'int64', dims: [K * K], data: idx }, 'flip'), 2).reshape([CO, CI, K, K]).transpose([1, 0, 2, 3]);
}
const VARIANTS: Record<string, (d: Tensor, w: Tensor) => Tensor> = {
  'ConvTranspose (current)': (d, w) => d.convTranspose(w, undefined, {}),
  'Conv, pads K-1, flipped kernel': (d, w) => d.conv(flipped(w), undefined, { pads: [K - 1, K - 1, K - 1, K - 1] }),
};
const cands: { name: string; sess: Awaited<ReturnType<typeof createSession>>; out: Float32Array; best: number; bestCpu: number }[] = [];
for (const [name, f] of Object.entries(VARIANTS)) {
  const g = new Graph();
  const d = new Tensor(g, g.input('d', 'float32', ['N', CO, HO, HO]));
  const w = new Tensor(g, g.input('w', 'float32', [CO, CI, K, K]));
  g.outputs = [f(d, w).v];
  const sess = await createSession(emitModel(g));
  const out = (await sess.run(feeds))[g.outputs[0]!.name]!.data as Float32Array;
  cands.push({ name, sess, out, best: Infinity, bestCpu: Infinity });
}
const err = cands[1]!.out.reduce((m, v, i) => Math.max(m, Math.abs(v - cands[0]!.out[i]!)), 0);
if (err > 1e-4) throw new Error(`variants differ by ${err}`);
await timeBestOf(cands, Number(roundsArg), Number(runsArg), (c) => c.sess.run(feeds));
console.log(`encoder.3 dX, dY [${N},${CO},${HO},${HO}] -> [${N},${CI},${H},${H}]; best of ${roundsArg}x${runsArg}`);
for (const c of cands) console.log(`  ${c.name.padEnd(34)} ${c.best.toFixed(3)} ms wall, ${c.bestCpu.toFixed(3)} ms CPU`);
