// The training-step ONNX model as bytes plus the names a foreign runtime needs to drive it
// (onnxruntime-web in the playground): which inputs are data, parameters, optimizer state,
// per-step scalars or random draws, and which outputs feed back into which inputs. The graph
// is built exactly as TrainingStep.create builds it (forward, gradients, optimizer update).
import { gradients } from '../autodiff/grad.js';
import type { Dim, DType, Value } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import type { Module } from '../nn/module.js';
import { emitModel, liveNodes } from '../onnx/emit.js';
import type { Optimizer } from '../optim/optimizer.js';
import { clipByGlobalNorm, ParamStore, traceStep, type InputSpec, type StepFn } from './compile.js';

export type TrainingInputRole = 'data' | 'param' | 'buffer' | 'state' | 'scalar' | 'random';

export interface TrainingModelInput {
  /** Graph input name. */
  name: string;
  role: TrainingInputRole;
  dtype: DType;
  /** Shape with the symbolic batch dimension as 'N'. */
  shape: Dim[];
  /** For 'random': the distribution to draw from each step. */
  dist?: 'uniform' | 'normal';
  /** For 'scalar': the optimizer scalar's key (opt.scalars(t)[key]). */
  scalar?: string;
}

export interface InitialValue {
  dtype: DType;
  shape: number[];
  data: Float32Array | BigInt64Array;
}

export interface EmittedTrainingModel {
  /** ONNX ModelProto bytes (opset 17). */
  model: Uint8Array;
  inputs: TrainingModelInput[];
  /** Output name of the scalar loss. */
  loss: string;
  /** Extra scalar metrics: metric name -> output name. */
  metrics: Record<string, string>;
  /** [output, input]: after each step feed this output as that input on the next step. */
  feedback: [string, string][];
  /** Starting values of every param, buffer and state input, by input name. */
  initial: Map<string, InitialValue>;
  /** Optimizer scalars for step t (1-based), by input name. */
  scalars(t: number): Record<string, number>;
}

export interface EmitTrainingOptions {
  optimizer: Optimizer;
  clipGradNorm?: number;
}

/** Trace `fn` on `model` and emit one training step as a standalone ONNX model. */
export function emitTrainingModel(model: Module, specs: InputSpec[], fn: StepFn, opts: EmitTrainingOptions): EmittedTrainingModel {
  const traced = traceStep(model, specs, fn, true);
  const { ctx, out } = traced;
  const g = ctx.g;
  const opt = opts.optimizer;
  const store = new ParamStore(model);
  store.ensureOptimizerState(opt);
  if (out.loss.rank !== 0) throw new Error(`the step's loss must be a scalar, got [${out.loss.shape}]`);

  const trained = store.params.filter(([, p]) => ctx.params.has(p));
  let grads = gradients(g, out.loss.v, trained.map(([, p]) => ctx.params.get(p)!)).map((v) => new Tensor(g, v));
  if (opts.clipGradNorm) grads = clipByGlobalNorm(grads, opts.clipGradNorm);
  const scalarKeys = Object.keys(opt.scalars(1));
  const scalars = Object.fromEntries(scalarKeys.map((k) => [k, new Tensor(g, g.input(`opt_${k}`, 'float32', []))]));
  const outputs: Value[] = [];
  const mark = (t: Tensor): string => {
    const v = g.inputs.includes(t.v) ? t.op('Identity').v : t.v;
    outputs.push(v);
    return v.name;
  };
  const loss = mark(out.loss);
  const metrics: Record<string, string> = {};
  for (const [k, t] of Object.entries(out.metrics ?? {})) metrics[k] = mark(t);
  const feedback: [string, string][] = [];
  const initial = new Map<string, InitialValue>();
  const role = new Map<string, Pick<TrainingModelInput, 'role' | 'dist' | 'scalar'>>();
  specs.forEach((s) => role.set(s.name, { role: 'data' }));
  for (const k of scalarKeys) role.set(`opt_${k}`, { role: 'scalar', scalar: k });
  for (const r of ctx.randoms) role.set(r.value.name, { role: 'random', dist: r.dist });

  trained.forEach(([pname, p], i) => {
    const pin = ctx.params.get(p)!.name;
    role.set(pin, { role: 'param' });
    initial.set(pin, { dtype: 'float32', shape: [...p.shape], data: Float32Array.from(p.data) });
    const stateIn = opt.stateNames().map((s) => new Tensor(g, g.input(`${pname}.${s}`, 'float32', p.shape)));
    const upd = g.withScope(`optimizer ${pname}`, () => opt.update(ctx.param(p), grads[i]!, stateIn, scalars));
    feedback.push([mark(upd.param), pin]);
    opt.stateNames().forEach((s, j) => {
      const sin = `${pname}.${s}`;
      role.set(sin, { role: 'state' });
      initial.set(sin, { dtype: 'float32', shape: [...p.shape], data: new Float32Array(p.size) });
      feedback.push([mark(upd.state[j]!), sin]);
    });
  });
  for (const [b, v] of ctx.buffers) {
    role.set(v.name, { role: 'buffer' });
    initial.set(v.name, { dtype: b.dtype, shape: [...b.shape], data: b.dtype === 'int64' ? BigInt64Array.from(b.data as BigInt64Array) : Float32Array.from(b.data as Float32Array) });
    const upd = ctx.bufferUpdates.get(b);
    if (upd) feedback.push([mark(new Tensor(g, upd)), v.name]);
  }
  // Frozen parameters (requiresGrad false) are still graph inputs: feed their values unchanged.
  for (const [p, v] of ctx.params)
    if (!role.has(v.name)) {
      role.set(v.name, { role: 'param' });
      initial.set(v.name, { dtype: 'float32', shape: [...p.shape], data: Float32Array.from(p.data) });
    }
  g.outputs = outputs;
  const bytes = emitModel(g, { name: 'train_step' });
  // emitModel drops inputs no live node reads; list exactly the ones it kept.
  const live = new Set<string>();
  for (const n of liveNodes(g)) n.inputs.forEach((v) => live.add(v.name));
  outputs.forEach((v) => live.add(v.name));
  const inputs: TrainingModelInput[] = g.inputs
    .filter((v) => live.has(v.name))
    .map((v) => ({ name: v.name, dtype: v.dtype, shape: [...v.shape], ...(role.get(v.name) ?? { role: 'data' as const }) }));
  return {
    model: bytes,
    inputs,
    loss,
    metrics,
    feedback: feedback.filter(([, i]) => live.has(i)),
    initial,
    scalars: (t: number) => Object.fromEntries(Object.entries(opt.scalars(t)).map(([k, v]) => [`opt_${k}`, v])),
  };
}
