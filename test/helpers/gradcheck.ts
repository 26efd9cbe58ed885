// Numerical gradient check through onnxruntime, the JAX way: for a random direction t and a
// random cotangent c, <c, (f(x+εt) - f(x-εt)) / 2ε> must match <vjp(c), t>.
import { gradients } from '../../src/autodiff/grad.js';
import type { Dim, Value } from '../../src/graph/ir.js';
import { Tensor } from '../../src/graph/tensor.js';
import { beginTrace, Module } from '../../src/nn/module.js';
import { emitModel } from '../../src/onnx/emit.js';
import { createSession, tensor, type Feeds } from '../../src/runtime/ort.js';
import { Rng } from '../../src/util/random.js';

export interface GradInput {
  shape: Dim[];
  /** Keep values away from 0 (kinks of ReLU, Abs...): |x| in [0.2, 1.2] with random sign. */
  awayFromZero?: boolean;
  positive?: boolean;
  /** Distinct values spaced well beyond ε (a shuffled grid), so max/argmax cannot switch. */
  distinct?: boolean;
  data?: Float32Array;
  /** Integer input (indices); not differentiated. */
  int64?: BigInt64Array;
}

export interface GradCheckResult {
  analytic: number;
  numeric: number;
  relError: number;
}

export interface GradCheckOptions {
  eps?: number;
  seed?: number;
  /** Concrete size for symbolic dims. */
  batch?: number;
  module?: Module;
}

/** Evaluate symbolic dims such as 'N' or 'N*2' for a concrete batch size. */
function concrete(shape: Dim[], batch: number): number[] {
  return shape.map((d) => (typeof d === 'number' ? d : d.split('*').reduce((a, f) => a * (/^\d+$/.test(f) ? Number(f) : batch), 1)));
}

export async function gradCheck(inputs: GradInput[], build: (xs: Tensor[]) => Tensor, opts: GradCheckOptions = {}): Promise<GradCheckResult> {
  const rng = new Rng(opts.seed ?? 7);
  const batch = opts.batch ?? 3;
  const eps = opts.eps ?? 1e-3;
  const { g, ctx } = beginTrace(opts.module ?? new NoModule(), 'train');
  opts.module?.train(true);
  const xs = inputs.map((inp, i) => g.input(`x${i}`, inp.int64 ? 'int64' : 'float32', inp.shape));
  const y = build(xs.map((v) => new Tensor(g, v)));
  const cot = g.input('cot', 'float32', y.shape);
  const loss = y.mul(new Tensor(g, cot)).sum();
  const paramVals: [Value, Float32Array][] = [...ctx.params].map(([p, v]) => [v, p.data]);
  const wrt: [Value, Float32Array][] = [];
  const feedsData = new Map<Value, Float32Array | BigInt64Array>();
  inputs.forEach((inp, i) => {
    if (inp.int64) return feedsData.set(xs[i]!, inp.int64);
    const n = concrete(inp.shape, batch).reduce((a, b) => a * b, 1);
    const perm = rng.permutation(n);
    const data = inp.data ?? new Float32Array(n).map((_, k) => {
      if (inp.distinct) return (2 * perm[k]!) / n - 1;
      if (inp.positive) return 0.5 + rng.uniform();
      if (inp.awayFromZero) return (rng.uniform() < 0.5 ? -1 : 1) * (0.2 + rng.uniform());
      return rng.uniform() * 2 - 1;
    });
    feedsData.set(xs[i]!, data);
    wrt.push([xs[i]!, data]);
  });
  // Buffers (BatchNorm running statistics) are graph inputs in 'train' binding: feed their values.
  for (const [b, v] of ctx.buffers) feedsData.set(v, b.data);
  for (const [v, d] of paramVals) {
    feedsData.set(v, d);
    wrt.push([v, d]);
  }
  const grads = gradients(g, loss.v, wrt.map(([v]) => v));
  g.outputs = [loss.v, ...grads];
  const session = await createSession(emitModel(g, { keepUnusedInputs: true }));
  const yDims = concrete(y.shape, batch);
  const cotData = new Float32Array(yDims.reduce((a, b) => a * b, 1)).map(() => rng.uniform() * 2 - 1);
  for (const r of ctx.randoms) feedsData.set(r.value, new Rng(3).fillUniform(new Float32Array(concrete(r.value.shape, batch).reduce((a, b) => a * b, 1))));

  const run = async (shift: number, dirs: Float32Array[]) => {
    const feeds: Feeds = { cot: tensor('float32', cotData, yDims) };
    for (const [v, d] of feedsData) {
      const j = wrt.findIndex(([w]) => w === v);
      let data = d;
      if (j >= 0 && shift !== 0) data = (d as Float32Array).map((x, k) => x + shift * dirs[j]![k]!);
      feeds[v.name] = tensor(v.dtype, data, concrete(v.shape, batch));
    }
    return session.run(feeds, g.outputs.map((v) => v.name));
  };
  const dirs = wrt.map(([, d]) => d.map(() => rng.uniform() * 2 - 1));
  const base = await run(0, dirs);
  let analytic = 0;
  grads.forEach((gv, j) => {
    const gd = base[gv.name]!.data as Float32Array;
    for (let k = 0; k < gd.length; k++) analytic += gd[k]! * dirs[j]![k]!;
  });
  const plus = (await run(eps, dirs))[loss.v.name]!.data as Float32Array;
  const minus = (await run(-eps, dirs))[loss.v.name]!.data as Float32Array;
  const numeric = (plus[0]! - minus[0]!) / (2 * eps);
  await session.release();
  const relError = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), 1e-2);
  return { analytic, numeric, relError };
}

/** Stand-in root module for checks of bare ops. */
class NoModule extends Module {
  forward(): never {
    throw new Error('unused');
  }
}
