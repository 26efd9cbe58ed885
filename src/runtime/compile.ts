// Compile a Module into onnxruntime sessions: one training step (forward, gradients, optimizer
// update in a single graph) and forward-only graphs for evaluation and prediction. Parameters,
// buffers and optimizer state live in a ParamStore as ORT tensors fed back each step.
import { gradients } from '../autodiff/grad.js';
import type { DType, Shape, Value } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { beginTrace, type Module } from '../nn/module.js';
import type { Buffer, Parameter } from '../nn/parameter.js';
import type { TraceContext } from '../nn/trace.js';
import { emitModel } from '../onnx/emit.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Rng } from '../util/random.js';
import { CarriedOutputs } from './carried.js';
import { HostUpdate } from './host-update.js';
import { copyTensor, createSession, ort, scalarTensor, tensor, trainingSessionOptions, type Feeds, type SessionOptions } from './ort.js';

export interface InputSpec {
  name: string;
  /** Per-sample shape; the batch dimension 'N' is prepended. */
  shape: number[];
  dtype?: DType;
}

export interface StepOutput {
  loss: Tensor;
  /** Extra scalars to report (averaged by the caller), e.g. a VAE's KL term. */
  metrics?: Record<string, Tensor>;
  /** Tensors returned by forward-only runs (predictions, codes). */
  outputs?: Record<string, Tensor>;
}

export type StepFn = (model: Module, inputs: Tensor[]) => StepOutput;

export class NonFiniteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

/** Current values of a model's parameters, buffers and optimizer state, as ORT tensors. */
export class ParamStore {
  readonly params: [string, Parameter][];
  readonly buffers: [string, Buffer][];
  readonly values = new Map<string, ort.Tensor>();
  /** Optimizer step count (for bias corrections). */
  step = 0;

  constructor(readonly model: Module) {
    this.params = model.namedParameters().filter(([, p]) => p.requiresGrad);
    this.buffers = model.namedBuffers();
    this.reload();
  }

  /** Take values from the model's host arrays (after loadStateDict or at start). */
  reload(): void {
    for (const [n, p] of this.params) this.values.set(n, tensor('float32', p.data, p.shape));
    for (const [n, b] of this.buffers) this.values.set(n, tensor(b.dtype, b.data, b.shape));
  }

  /** Copy current values back into the model's Parameters and Buffers. */
  sync(): void {
    for (const [n, p] of this.params) p.data = Float32Array.from(this.values.get(n)!.data as Float32Array);
    for (const [n, b] of this.buffers) {
      const d = this.values.get(n)!.data;
      b.data = b.dtype === 'int64' ? BigInt64Array.from(d as BigInt64Array) : Float32Array.from(d as Float32Array);
    }
  }

  ensureOptimizerState(opt: Optimizer): void {
    for (const [n, p] of this.params)
      for (const s of opt.stateNames()) {
        const key = `${n}.${s}`;
        if (!this.values.has(key)) this.values.set(key, tensor('float32', new Float32Array(p.size), p.shape));
      }
  }

  /**
   * Copies of every current value, for values that must outlive later steps (best weights): the
   * host update writes parameters and optimizer state in place, a step with `preallocateOutputs`
   * writes into tensors used in turn, and restoring a checkpoint writes state in place.
   */
  snapshot(): Map<string, ort.Tensor> {
    return new Map([...this.values].map(([k, t]) => [k, copyTensor(t)]));
  }

  /** Optimizer state tensors by name (`param.exp_avg`), for checkpoints. */
  optimizerState(opt: Optimizer): Map<string, ort.Tensor> {
    const out = new Map<string, ort.Tensor>();
    for (const [n] of this.params) for (const s of opt.stateNames()) out.set(`${n}.${s}`, this.values.get(`${n}.${s}`)!);
    return out;
  }
}

export interface Traced {
  ctx: TraceContext;
  inputs: Value[];
  out: StepOutput;
}

export function traceStep(model: Module, specs: InputSpec[], fn: StepFn, training: boolean): Traced {
  model.train(training);
  const { g, ctx } = beginTrace(model, 'train');
  const inputs = specs.map((s) => g.input(s.name, s.dtype ?? 'float32', ['N', ...s.shape] as Shape));
  const out = fn(model, inputs.map((v) => new Tensor(g, v)));
  return { ctx, inputs, out };
}

/** Feeds shared by every graph of a model: inputs, parameters, buffers, random draws. */
abstract class CompiledGraph {
  protected constructor(
    protected session: ort.InferenceSession,
    protected readonly traced: Traced,
    readonly store: ParamStore,
    protected rng: Rng,
  ) {}

  /** Restart the stream of in-graph random draws (dropout, noise) from `seed`. */
  reseed(seed: number): void {
    this.rng = new Rng(seed);
  }

  protected baseFeeds(batch: ArrayLike<Float32Array | BigInt64Array>, n: number): Feeds {
    const { ctx, inputs } = this.traced;
    const feeds: Feeds = {};
    inputs.forEach((v, i) => {
      const data = batch[i];
      if (!data) throw new Error(`missing input ${v.name}`);
      const dims = v.shape.map((d) => (typeof d === 'number' ? d : n));
      const need = dims.reduce((a, b) => a * b, 1);
      if (data.length < need) throw new Error(`input ${v.name}: expected ${need} values for batch ${n}, got ${data.length}`);
      const view = data.length === need ? data : data.subarray(0, need);
      feeds[v.name] = tensor(v.dtype, view, dims);
    });
    for (const [p, v] of ctx.params) feeds[v.name] = this.store.values.get(this.nameOf(p))!;
    for (const [b, v] of ctx.buffers) feeds[v.name] = this.store.values.get(this.nameOf(b))!;
    for (const r of ctx.randoms) {
      const dims = r.value.shape.map((d) => (typeof d === 'number' ? d : n));
      const buf = new Float32Array(dims.reduce((a, b) => a * b, 1));
      if (r.dist === 'uniform') this.rng.fillUniform(buf);
      else this.rng.fillNormal(buf);
      feeds[r.value.name] = tensor('float32', buf, dims);
    }
    return feeds;
  }

  private names?: Map<Parameter | Buffer, string>;
  protected nameOf(x: Parameter | Buffer): string {
    if (!this.names) {
      this.names = new Map();
      for (const [n, p] of this.store.params) this.names.set(p, n);
      for (const [n, b] of this.store.buffers) this.names.set(b, n);
    }
    const n = this.names.get(x);
    if (!n) throw new Error('parameter not owned by this model');
    return n;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

export interface TrainingOptions extends SessionOptions {
  optimizer: Optimizer;
  /** Clip gradients to this global L2 norm (torch.nn.utils.clip_grad_norm_). */
  clipGradNorm?: number;
  /** Seed for dropout masks and other in-graph noise. */
  seed?: number;
  /** Also output each parameter's gradient (tests, debugging). */
  exposeGradients?: boolean;
  /** Write the emitted ONNX model here (inspection). */
  store?: ParamStore;
  /**
   * Write updated parameters and state into two preallocated sets of tensors used in turn
   * (default false: onnxruntime's fresh output tensors are adopted). onnxruntime-node 1.30 still
   * returns a copy of a preallocated output, so this costs time: MLP 784-512-256-32 b256
   * 0.85-0.90x img/s for 0.83-0.88x peak RSS (DESIGN.md notes; bench/ab.ts).
   */
  preallocateOutputs?: boolean;
  /**
   * Apply the optimizer on the host, in place, with its WebAssembly kernels (default true where
   * the optimizer has a host form): the graph outputs gradients instead of updated values. Bit
   * for bit the in-graph update; DESIGN.md, "The optimizer update on the host".
   */
  hostUpdate?: boolean;
}

/** torch.nn.utils.clip_grad_norm_: scale all gradients so their joint L2 norm is at most maxNorm. */
export function clipByGlobalNorm(grads: Tensor[], maxNorm: number): Tensor[] {
  const total = grads.map((d) => d.square().sum()).reduce((a, b) => a.add(b)).sqrt();
  const coef = grads[0]!.scalar(maxNorm).div(total.add(1e-6)).min(1);
  return grads.map((d) => d.mul(coef));
}

export interface StepResult {
  loss: number;
  metrics: Record<string, number>;
  gradients?: Map<string, Float32Array>;
}

export function finiteCheck(data: ArrayLike<number>): boolean {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return false;
  return true;
}

export interface TrainingGraphNames {
  loss: string;
  metrics: [string, string][];
  /** [parameter name, output holding its updated value] */
  params: [string, string][];
  /** [optimizer state input name, output holding its next value] */
  state: [string, string][];
  buffers: [string, string][];
  grads: [string, string][];
}

export interface TrainingGraph {
  traced: Traced;
  store: ParamStore;
  trained: [string, Parameter][];
  names: TrainingGraphNames;
}

/**
 * A function that adds a tensor to a graph's outputs, each value once (an LSTM's two biases get
 * the very same gradient value), and returns its output name. A graph output may not be a graph
 * input: such values go through Identity.
 */
export function outputMarker(outputs: Value[]): (t: Tensor) => string {
  const names = new Map<Value, string>();
  return (t) => {
    let name = names.get(t.v);
    if (name === undefined) {
      const v = t.g.inputs.includes(t.v) ? t.op('Identity').v : t.v;
      outputs.push(v);
      names.set(t.v, (name = v.name));
    }
    return name;
  };
}

/**
 * One training step as a graph: the traced forward pass, its gradients, optional clipping and
 * the optimizer update, with every updated parameter, state and buffer as an output. Shared by
 * TrainingStep (onnxruntime-node) and emitTrainingModel (foreign runtimes such as the browser).
 * With `update` 'host' the graph stops at the (clipped) gradients, one output per value, and
 * the caller applies the optimizer.
 */
export function buildTrainingGraph(model: Module, specs: InputSpec[], fn: StepFn, opts: TrainingOptions, update: 'graph' | 'host' = 'graph'): TrainingGraph {
  const traced = traceStep(model, specs, fn, true);
  const { ctx, out } = traced;
  const g = ctx.g;
  const opt = opts.optimizer;
  const store = opts.store ?? new ParamStore(model);
  store.ensureOptimizerState(opt);
  if (out.loss.rank !== 0) throw new Error(`the step's loss must be a scalar, got [${out.loss.shape}]`);
  const trained = store.params.filter(([, p]) => ctx.params.has(p));
  let grads = gradients(g, out.loss.v, trained.map(([, p]) => ctx.params.get(p)!)).map((v) => new Tensor(g, v));
  if (opts.clipGradNorm) grads = clipByGlobalNorm(grads, opts.clipGradNorm);
  const outputs: Value[] = [];
  const mark = outputMarker(outputs);
  const names: TrainingGraphNames = { loss: mark(out.loss), metrics: [], params: [], state: [], buffers: [], grads: [] };
  for (const [k, t] of Object.entries(out.metrics ?? {})) names.metrics.push([k, mark(t)]);
  if (update === 'host') trained.forEach(([pname], i) => names.grads.push([pname, mark(grads[i]!)]));
  else {
    const scalars = Object.fromEntries(Object.keys(opt.scalars(1)).map((k) => [k, new Tensor(g, g.input(`opt_${k}`, 'float32', []))]));
    trained.forEach(([pname, p], i) => {
      const stateIn = opt.stateNames().map((s) => new Tensor(g, g.input(`${pname}.${s}`, 'float32', p.shape)));
      const upd = g.withScope(`optimizer ${pname}`, () => opt.update(ctx.param(p), grads[i]!, stateIn, scalars));
      names.params.push([pname, mark(upd.param)]);
      opt.stateNames().forEach((s, j) => names.state.push([`${pname}.${s}`, mark(upd.state[j]!)]));
      if (opts.exposeGradients) names.grads.push([pname, mark(grads[i]!)]);
    });
  }
  for (const [b, v] of ctx.bufferUpdates) {
    const bname = store.buffers.find(([, bb]) => bb === b)![0];
    names.buffers.push([bname, mark(new Tensor(g, v))]);
  }
  g.outputs = outputs;
  return { traced, store, trained, names };
}

export class TrainingStep extends CompiledGraph {
  private outNames!: TrainingGraphNames;

  static async create(model: Module, specs: InputSpec[], fn: StepFn, opts: TrainingOptions): Promise<TrainingStep> {
    const wantHost = opts.hostUpdate !== false && !!opts.optimizer.hostUpdate;
    let tg = buildTrainingGraph(model, specs, fn, opts, wantHost ? 'host' : 'graph');
    const host = wantHost ? HostUpdate.create(tg.store, tg.trained.map(([n]) => n), opts.optimizer) : undefined;
    // Too large for wasm32's memory: the update goes back into the graph.
    if (wantHost && !host) tg = buildTrainingGraph(model, specs, fn, { ...opts, store: tg.store });
    const session = await createSession(emitModel(tg.traced.ctx.g, { name: 'train_step' }), trainingSessionOptions(opts));
    const step = new TrainingStep(session, tg.traced, tg.store, new Rng(opts.seed ?? 0));
    step.outNames = tg.names;
    step.optimizer = opts.optimizer;
    step.host = host;
    step.exposeGradients = !!opts.exposeGradients;
    step.stateInputs = tg.names.state.map(([name]) => name);
    const n = tg.names;
    if (opts.preallocateOutputs) step.carried = new CarriedOutputs([...n.params, ...n.state, ...n.buffers]);
    return step;
  }

  private optimizer!: Optimizer;
  private stateInputs!: string[];
  private carried?: CarriedOutputs;
  private host?: HostUpdate;
  private exposeGradients = false;

  /** Whether the optimizer runs on the host (its kernels) rather than in the graph. */
  get hostUpdate(): boolean {
    return !!this.host;
  }

  /** One optimizer step on a batch of n samples (inputs in spec order). */
  async run(batch: ArrayLike<Float32Array | BigInt64Array>, n: number): Promise<StepResult> {
    const stepNo = this.store.step + 1;
    for (let i = 0; i < batch.length; i++) {
      const b = batch[i]!;
      if (b instanceof Float32Array && !finiteCheck(b))
        throw new NonFiniteError(`step ${stepNo}: input ${this.traced.inputs[i]!.name} contains NaN or Inf; the batch was not trained on`);
    }
    const feeds = this.baseFeeds(batch, n);
    for (const k of this.stateInputs) feeds[k] = this.store.values.get(k)!;
    if (!this.host) for (const [k, v] of Object.entries(this.optimizer.scalars(stepNo))) feeds[`opt_${k}`] = scalarTensor(v);
    const fetches = this.carried?.fetches(this.store.values);
    const r = await (fetches ? this.session.run(feeds, { ...this.fetchAll(), ...fetches }) : this.session.run(feeds));
    const loss = (r[this.outNames.loss]!.data as Float32Array)[0]!;
    if (!Number.isFinite(loss)) throw new NonFiniteError(`step ${stepNo}: loss is ${loss}; parameters were left unchanged`);
    for (const [name, out] of this.outNames.buffers) {
      const d = (fetches?.[out] ?? r[out]!).data;
      if (d instanceof Float32Array && !finiteCheck(d))
        throw new NonFiniteError(`step ${stepNo}: buffer ${name} became NaN or Inf (BatchNorm needs more than one value per channel in training; use a larger final batch or dropLast); nothing was updated`);
    }
    if (this.host) {
      for (const [name, out] of this.outNames.grads) this.host.setGrad(name, r[out]!.data as Float32Array);
      this.host.apply(stepNo);
    }
    // The tensors just written become the next step's inputs (no copies).
    if (fetches) this.carried!.adopt(fetches, this.store.values);
    else for (const [name, out] of [...this.outNames.params, ...this.outNames.state, ...this.outNames.buffers]) this.store.values.set(name, r[out]!);
    this.store.step = stepNo;
    const metrics: Record<string, number> = {};
    for (const [k, out] of this.outNames.metrics) metrics[k] = (r[out]!.data as Float32Array)[0]!;
    const res: StepResult = { loss, metrics };
    if (this.exposeGradients) res.gradients = new Map(this.outNames.grads.map(([k, out]) => [k, r[out]!.data as Float32Array]));
    return res;
  }

  /** Every output not preallocated (loss, metrics, gradients): onnxruntime allocates them. */
  private fetchAll(): Record<string, null> {
    const n = this.outNames;
    return Object.fromEntries([n.loss, ...[...n.metrics, ...n.grads].map(([, o]) => o)].map((o) => [o, null]));
  }
}

export interface ForwardResult {
  loss?: number;
  metrics: Record<string, number>;
  outputs: Record<string, Float32Array>;
  dims: Record<string, number[]>;
}

export interface ForwardOptions extends SessionOptions {
  training?: boolean;
  seed?: number;
  withLoss?: boolean;
  /**
   * On the first run, time the graph with and without onnxruntime's layout pass on that batch
   * and keep the faster session (graphs with in-graph random draws are not calibrated: the
   * timing runs would consume draws). Measured on the chapter's model: from -26% to +58%
   * depending on batch and threads, hence a measurement rather than a rule.
   */
  calibrateLayout?: boolean;
}

/** A forward-only graph (eval mode by default) that reads parameters from a ParamStore. */
export class ForwardGraph extends CompiledGraph {
  private outNames!: { loss?: string; metrics: [string, string][]; outputs: [string, string][] };
  private uncalibrated?: { model: Uint8Array; opts: SessionOptions };
  private calibrating?: Promise<void>;
  /** Whether the session in use has onnxruntime's layout pass (decided on the first run when calibrating). */
  layoutOptimizations = true;

  static async create(model: Module, specs: InputSpec[], fn: StepFn, store: ParamStore, opts: ForwardOptions = {}): Promise<ForwardGraph> {
    const traced = traceStep(model, specs, fn, opts.training ?? false);
    model.train(true);
    const { ctx, out } = traced;
    const g = ctx.g;
    const outputs: Value[] = [];
    const mark = outputMarker(outputs);
    const names = {
      loss: opts.withLoss === false ? undefined : mark(out.loss),
      metrics: opts.withLoss === false ? [] : Object.entries(out.metrics ?? {}).map(([k, t]): [string, string] => [k, mark(t)]),
      outputs: Object.entries(out.outputs ?? {}).map(([k, t]): [string, string] => [k, mark(t)]),
    };
    g.outputs = outputs;
    const bytes = emitModel(g, { name: 'forward' });
    const session = await createSession(bytes, opts);
    const fg = new ForwardGraph(session, traced, store, new Rng(opts.seed ?? 0));
    fg.outNames = names;
    fg.layoutOptimizations = opts.layoutOptimizations !== false;
    if (opts.calibrateLayout && !ctx.randoms.length) fg.uncalibrated = { model: bytes, opts };
    return fg;
  }

  /** Time both layouts on this batch (best of 3 after a warm-up); switch only for a >10% gain. */
  private async calibrate(feeds: Feeds): Promise<void> {
    const { model, opts } = this.uncalibrated!;
    this.uncalibrated = undefined;
    const time = async (s: ort.InferenceSession) => {
      await s.run(feeds);
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await s.run(feeds);
        best = Math.min(best, performance.now() - t);
      }
      return best;
    };
    // One session at a time, so calibrating does not raise peak memory: time the current one,
    // release it, time the other, and rebuild the first only if it wins.
    const current = await time(this.session);
    await this.session.release();
    const flipped = !this.layoutOptimizations;
    this.session = await createSession(model, { ...opts, layoutOptimizations: flipped });
    if ((await time(this.session)) < 0.9 * current) this.layoutOptimizations = flipped;
    else {
      await this.session.release();
      this.session = await createSession(model, { ...opts, layoutOptimizations: !flipped });
    }
  }

  /** Waits for a calibration in progress, which swaps the session. */
  override async release(): Promise<void> {
    this.uncalibrated = undefined;
    await this.calibrating;
    return super.release();
  }

  async run(batch: ArrayLike<Float32Array | BigInt64Array>, n: number): Promise<ForwardResult> {
    const feeds = this.baseFeeds(batch, n);
    // Runs that arrive while calibrating wait for it (the losing session is released). Small
    // batches are not representative: calibration waits for one of at least 16 samples.
    if (this.uncalibrated && n >= 16) this.calibrating = this.calibrate(feeds).finally(() => (this.calibrating = undefined));
    if (this.calibrating) await this.calibrating;
    const r = await this.session.run(feeds);
    const res: ForwardResult = { metrics: {}, outputs: {}, dims: {} };
    if (this.outNames.loss) res.loss = (r[this.outNames.loss]!.data as Float32Array)[0]!;
    for (const [k, o] of this.outNames.metrics) res.metrics[k] = (r[o]!.data as Float32Array)[0]!;
    for (const [k, o] of this.outNames.outputs) {
      res.outputs[k] = r[o]!.data as Float32Array;
      res.dims[k] = [...r[o]!.dims];
    }
    return res;
  }

  /**
   * The one batched forward loop: n samples of `rowSize` values each (the graph's one input),
   * run `batchSize` at a time; every output comes back concatenated over the samples, with its
   * per-sample size.
   */
  async runRows(input: Float32Array, rowSize: number, n: number, batchSize: number): Promise<RowOutputs> {
    if (!(Number.isInteger(n) && n >= 0)) throw new Error(`n must be a non-negative integer, got ${n}`);
    if (input.length < n * rowSize) throw new Error(`expected ${n} samples of ${rowSize} values, got ${input.length} values`);
    const out: RowOutputs = { outputs: {}, sizes: {} };
    for (let s = 0; s < n; s += batchSize) {
      const b = Math.min(batchSize, n - s);
      const r = await this.run([input.subarray(s * rowSize, (s + b) * rowSize)], b);
      for (const [k, v] of Object.entries(r.outputs)) {
        const size = v.length / b;
        out.sizes[k] = size;
        (out.outputs[k] ??= new Float32Array(n * size)).set(v, s * size);
      }
    }
    return out;
  }
}

export interface RowOutputs {
  /** Each output, n samples concatenated. */
  outputs: Record<string, Float32Array>;
  /** Values per sample of each output. */
  sizes: Record<string, number>;
}
