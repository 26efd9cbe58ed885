// The training-step ONNX model as bytes plus the names a foreign runtime needs to drive it
// (onnxruntime-web in the playground): which inputs are data, parameters, optimizer state,
// per-step scalars or random draws, and which outputs feed back into which inputs. The graph
// is built exactly as TrainingStep.create builds it (forward, gradients, optimizer update).
import type { Dim, DType } from '../graph/ir.js';
import type { Module } from '../nn/module.js';
import { emitModel, liveNodes } from '../onnx/emit.js';
import type { Optimizer } from '../optim/optimizer.js';
import { buildTrainingGraph, ParamStore, type InputSpec, type StepFn } from './compile.js';

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
  const { traced, trained, names } = buildTrainingGraph(model, specs, fn, { optimizer: opts.optimizer, clipGradNorm: opts.clipGradNorm, store: new ParamStore(model) });
  const { ctx } = traced;
  const g = ctx.g;
  const opt = opts.optimizer;
  const outputs = g.outputs;
  const loss = names.loss;
  const metrics: Record<string, string> = Object.fromEntries(names.metrics);
  const feedback: [string, string][] = [];
  const initial = new Map<string, InitialValue>();
  const role = new Map<string, Pick<TrainingModelInput, 'role' | 'dist' | 'scalar'>>();
  specs.forEach((s) => role.set(s.name, { role: 'data' }));
  for (const k of Object.keys(opt.scalars(1))) role.set(`opt_${k}`, { role: 'scalar', scalar: k });
  for (const r of ctx.randoms) role.set(r.value.name, { role: 'random', dist: r.dist });
  trained.forEach(([, p], i) => {
    const pin = ctx.params.get(p)!.name;
    role.set(pin, { role: 'param' });
    initial.set(pin, { dtype: 'float32', shape: [...p.shape], data: Float32Array.from(p.data) });
    feedback.push([names.params[i]![1], pin]);
  });
  for (const [sin, out] of names.state) {
    const shape = [...g.inputs.find((v) => v.name === sin)!.shape] as number[];
    role.set(sin, { role: 'state' });
    initial.set(sin, { dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    feedback.push([out, sin]);
  }
  const bufferOut = new Map(names.buffers);
  for (const [b, v] of ctx.buffers) {
    role.set(v.name, { role: 'buffer' });
    initial.set(v.name, { dtype: b.dtype, shape: [...b.shape], data: b.dtype === 'int64' ? BigInt64Array.from(b.data as BigInt64Array) : Float32Array.from(b.data as Float32Array) });
    const out = bufferOut.get(v.name);
    if (out) feedback.push([out, v.name]);
  }
  // Frozen parameters (requiresGrad false) are still graph inputs: feed their values unchanged.
  for (const [p, v] of ctx.params)
    if (!role.has(v.name)) {
      role.set(v.name, { role: 'param' });
      initial.set(v.name, { dtype: 'float32', shape: [...p.shape], data: Float32Array.from(p.data) });
    }
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
