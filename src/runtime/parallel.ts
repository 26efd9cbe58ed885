// Data-parallel training over worker threads: each thread runs the gradient graph on its share
// of the batch, differentiating loss x (its rows / batch rows), so the threads' gradients simply
// add up to the batch's; the main thread sums them and applies the optimizer once (on the host,
// src/runtime/host-update.ts, or as a separate optimizer graph).
// onnxruntime-node's `run` occupies its calling thread, so this is how one process uses both
// cores on small models where intra-op threading does not pay.
import { availableParallelism, cpus } from 'node:os';
import { gradients } from '../autodiff/grad.js';
import { Graph, type Value } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { emitModel } from '../onnx/emit.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Rng } from '../util/random.js';
import { NonFiniteError, ParamStore, TrainingStep, clipByGlobalNorm, finiteCheck, outputMarker, traceStep, type InputSpec, type StepFn, type StepResult, type TrainingOptions } from './compile.js';
import { HostUpdate } from './host-update.js';
import { GradWorker, type Rows, type WorkerInput } from './grad-worker-client.js';
import { createSession, ort, scalarTensor, sessionOptions, tensor, trainingSessionOptions, type Feeds } from './ort.js';

export interface ParallelOptions extends TrainingOptions {
  /** Threads taking a share of each batch, the main thread included (default 'auto': all cores). */
  workers?: number | 'auto';
  /** Intra-op threads of the optimizer graph, which runs while the workers wait (default 1). */
  optimizerThreads?: number;
  /**
   * How long, in ms, the main thread polls for the workers' results and a worker for its next
   * step before sleeping (default DEFAULT_SPIN_MS while every thread has a core, else 0).
   */
  spinMs?: number;
  /** Rows per batch: 'auto' then gives each worker at least MIN_ROWS_PER_WORKER of them. */
  batchSize?: number;
}

/**
 * The smallest share of a batch 'auto' hands a worker: 16 rows is the smallest share measured to
 * gain here (the chapter's experiment, batch 32 on 2 workers: 20 epochs in 92-97 s against
 * 126-128 s on one thread); below it each worker's per-step overhead is not paid back.
 */
export const MIN_ROWS_PER_WORKER = 16;

/** Polling before sleeping, per wait (DESIGN.md, "Waking threads"). */
export const DEFAULT_SPIN_MS = 1;

/** How many threads 'auto' uses: every core, at most one per MIN_ROWS_PER_WORKER rows, one if the model keeps running statistics. */
export function autoWorkers(cores: number, batchSize: number | undefined, hasBuffers: boolean): number {
  if (hasBuffers) return 1;
  return Math.max(1, batchSize === undefined ? cores : Math.min(cores, Math.floor(batchSize / MIN_ROWS_PER_WORKER)));
}

/** Graph names the step feeds and fetches. */
interface Names {
  loss: string;
  metrics: [string, string][];
  /** [parameter, gradient output]; parameters whose gradient is the same value share an output. */
  grads: [string, string][];
  /** Every output of the gradient graph, each once. */
  fetch: string[];
  inputs: Value[];
  params: [string, string][];
  state: string[];
  newParams: [string, string][];
  newState: [string, string][];
}

const SHARE = 'row_share';

export class DataParallelStep {
  private gradSession!: ort.InferenceSession;
  /** The optimizer graph, where the update is not applied on the host. */
  private optSession?: ort.InferenceSession;
  private host?: HostUpdate;
  private workers: GradWorker[] = [];
  private names!: Names;
  private rng: Rng;
  /** How long threads poll for the next message before sleeping (0: never). */
  private spinMs = 0;
  /** Zero gradients for threads left without rows (a batch smaller than the thread count). */
  private zeros = new Map<string, Float32Array>();

  private constructor(
    readonly store: ParamStore,
    private readonly optimizer: Optimizer,
    private readonly traced: ReturnType<typeof traceStep>,
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  static async create(model: Module, specs: InputSpec[], fn: StepFn, opts: ParallelOptions): Promise<DataParallelStep> {
    const traced = traceStep(model, specs, fn, true);
    const { ctx, out } = traced;
    if (ctx.bufferUpdates.size) throw new Error('data-parallel training keeps no running statistics (BatchNorm); use one worker');
    const g = ctx.g;
    const store = opts.store ?? new ParamStore(model);
    const opt = opts.optimizer;
    store.ensureOptimizerState(opt);
    const trained = store.params.filter(([, p]) => ctx.params.has(p));
    const share = new Tensor(g, g.input(SHARE, 'float32', []));
    const grads = gradients(g, out.loss.mul(share).v, trained.map(([, p]) => ctx.params.get(p)!));
    const outputs: Value[] = [];
    const mark = outputMarker(outputs);
    const step = new DataParallelStep(store, opt, traced, opts.seed ?? 0);
    const threads = Math.max(1, Math.min(typeof opts.workers === 'number' ? opts.workers : cpus().length, 8));
    // Spinning only pays while every thread has a core of its own.
    step.spinMs = opts.spinMs ?? (threads <= availableParallelism() ? DEFAULT_SPIN_MS : 0);
    const names: Names = {
      loss: mark(out.loss),
      metrics: Object.entries(out.metrics ?? {}).map(([k, t]): [string, string] => [k, mark(t)]),
      grads: trained.map(([n], i): [string, string] => [n, mark(new Tensor(g, grads[i]!))]),
      fetch: [],
      inputs: traced.inputs,
      params: trained.map(([n, p]): [string, string] => [n, ctx.params.get(p)!.name]),
      state: [],
      newParams: [],
      newState: [],
    };
    names.fetch = outputs.map((v) => v.name);
    g.outputs = outputs;
    const gradModel = emitModel(g, { name: 'grad_step' });

    // The update: on the host (the threads' gradients summed in the graph's order, then the
    // optimizer's kernels), or as its own small graph. Clipping needs the summed gradients'
    // global norm, whose summation order only the graph reproduces, so it keeps the graph.
    step.names = names;
    if (opts.hostUpdate !== false && !opts.clipGradNorm) step.host = HostUpdate.create(store, trained.map(([n]) => n), opt);
    const session = trainingSessionOptions({ ...opts, intraOpThreads: 1 });
    if (!step.host) step.optSession = await createSession(optimizerGraph(trained, threads, opt, opts.clipGradNorm, names), { ...session, intraOpThreads: opts.optimizerThreads ?? 1 });
    // One intra-op thread everywhere: a 2-thread pool for the update measured slower (LSTM 2,665
    // -> 1,923 img/s). Workers get the same options object as the main thread's sessions.
    step.gradSession = await createSession(gradModel, session);
    for (let i = 1; i < threads; i++)
      step.workers.push(new GradWorker(new URL('./grad-worker.mjs', import.meta.url), { model: gradModel, options: sessionOptions(session) }, step.spinMs));
    await Promise.all(step.workers.map((w) => w.ready));
    return step;
  }

  reseed(seed: number): void {
    this.rng = new Rng(seed);
  }

  /** Whether the optimizer runs on the host (its kernels) rather than in a graph. */
  get hostUpdate(): boolean {
    return !!this.host;
  }

  /** Threads sharing each batch, the main thread included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  async run(batch: ArrayLike<Rows>, n: number): Promise<StepResult> {
    const stepNo = this.store.step + 1;
    const inputs = this.names.inputs;
    for (let i = 0; i < batch.length; i++) {
      const b = batch[i]!;
      if (b instanceof Float32Array && !finiteCheck(b.subarray(0, (b.length / Math.max(n, 1)) * n)))
        throw new NonFiniteError(`step ${stepNo}: input ${inputs[i]!.name} contains NaN or Inf; the batch was not trained on`);
    }
    const shares = rowShares(n, Math.min(this.workers.length + 1, n));
    const rows = this.rowFeeds(batch, n);
    const params: WorkerInput[] = this.names.params.map(([pn, input]) => {
      const t = this.store.values.get(pn)!;
      return { name: input, data: t.data as Float32Array, dims: [...t.dims], dtype: 'float32' };
    });
    const shareOf = ([s, k]: [number, number]): WorkerInput[] => [
      ...rows.map((r) => ({ name: r.name, data: r.data.subarray(s * r.perRow, (s + k) * r.perRow), dims: [k, ...r.dims], dtype: r.dtype })),
      { name: SHARE, data: Float32Array.of(k / n), dims: [], dtype: 'float32' },
    ];
    const fetch = this.names.fetch;
    const remote = shares.slice(1).map((share, i) => this.workers[i]!.run([...shareOf(share), ...params], fetch));
    const local = (async () => {
      const feeds: Feeds = {};
      for (const f of [...shareOf(shares[0]!), ...params]) feeds[f.name] = tensor(f.dtype as 'float32', f.data, f.dims);
      const r = await this.gradSession.run(feeds, fetch);
      return Object.fromEntries(fetch.map((o) => [o, r[o]!.data as Float32Array]));
    })();
    const mine = await local;
    // Poll for the workers' replies for a while rather than sleep until the event loop wakes.
    for (const until = performance.now() + this.spinMs; this.workers.some((w) => w.busy) && performance.now() < until; ) for (const w of this.workers) w.poll();
    const results = [mine, ...(await Promise.all(remote))];

    // Each share's loss is a mean over its own rows: the batch's is their row-weighted sum.
    const mix = (o: string) => results.reduce((acc, r, t) => acc + (shares[t]![1] / n) * r[o]![0]!, 0);
    const loss = mix(this.names.loss);
    if (!Number.isFinite(loss)) throw new NonFiniteError(`step ${stepNo}: loss is ${loss}; parameters were left unchanged`);
    if (this.host) {
      for (const [pname, o] of this.names.grads) {
        this.host.setGrad(pname, results[0]![o]!);
        for (let t = 1; t <= this.workers.length; t++) this.host.addGrad(pname, results[t]?.[o] ?? this.zerosLike(pname, results[0]![o]!.length));
      }
      this.host.apply(stepNo);
    } else {
      const r = await this.optSession!.run(this.optimizerFeeds(results, stepNo));
      for (const [pname, o] of this.names.newParams) this.store.values.set(pname, r[o]!);
      for (const [s, o] of this.names.newState) this.store.values.set(s, r[o]!);
    }
    this.store.step = stepNo;
    const metrics = Object.fromEntries(this.names.metrics.map(([k, o]) => [k, mix(o)]));
    return { loss, metrics };
  }

  /** The batch's row-wise feeds (inputs, then this step's random draws), to be cut into shares. */
  private rowFeeds(batch: ArrayLike<Rows>, n: number) {
    const perRow = (v: Value) => v.shape.slice(1).reduce<number>((a, d) => a * (d as number), 1);
    const rows = this.names.inputs.map((v, i) => ({ name: v.name, data: batch[i]!, perRow: perRow(v), dims: v.shape.slice(1) as number[], dtype: v.dtype as string }));
    for (const r of this.traced.ctx.randoms) {
      const buf = new Float32Array(perRow(r.value) * n);
      if (r.dist === 'uniform') this.rng.fillUniform(buf);
      else this.rng.fillNormal(buf);
      rows.push({ name: r.value.name, data: buf, perRow: perRow(r.value), dims: r.value.shape.slice(1) as number[], dtype: 'float32' });
    }
    return rows;
  }

  private optimizerFeeds(results: Record<string, Float32Array>[], stepNo: number): Feeds {
    const feeds: Feeds = {};
    for (const [pname, o] of this.names.grads) {
      const p = this.store.values.get(pname)!;
      for (let t = 0; t <= this.workers.length; t++) feeds[`${pname}.grad${t}`] = tensor('float32', results[t]?.[o] ?? this.zerosLike(pname, p.size), p.dims);
      feeds[pname] = p;
    }
    for (const s of this.names.state) feeds[s] = this.store.values.get(s)!;
    for (const [k, v] of Object.entries(this.optimizer.scalars(stepNo))) feeds[`opt_${k}`] = scalarTensor(v);
    return feeds;
  }

  private zerosLike(name: string, size: number): Float32Array {
    if (!this.zeros.has(name)) this.zeros.set(name, new Float32Array(size));
    return this.zeros.get(name)!;
  }

  async release(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    await this.gradSession.release();
    await this.optSession?.release();
  }
}

/**
 * The optimizer step as its own small graph: params, each thread's gradient, state -> new values
 * (names.state, newParams and newState are filled in). Summing in the graph, not in a JS loop:
 * on the MLP autoencoder (1.08M parameters) a JS loop over every gradient took ~40% of the step.
 */
function optimizerGraph(trained: [string, Parameter][], count: number, opt: Optimizer, clipGradNorm: number | undefined, names: Names): Uint8Array {
  const og = new Graph();
  const scalars = Object.fromEntries(Object.keys(opt.scalars(1)).map((k) => [k, new Tensor(og, og.input(`opt_${k}`, 'float32', []))]));
  const ps = trained.map(([n, p]) => new Tensor(og, og.input(n, 'float32', p.shape)));
  let gs = trained.map(([n, p]) => Array.from({ length: count }, (_, t) => new Tensor(og, og.input(`${n}.grad${t}`, 'float32', p.shape))).reduce((a, b) => a.add(b)));
  if (clipGradNorm) gs = clipByGlobalNorm(gs, clipGradNorm);
  const oouts: Value[] = [];
  trained.forEach(([n, p], i) => {
    const st = opt.stateNames().map((s) => new Tensor(og, og.input(`${n}.${s}`, 'float32', p.shape)));
    const upd = opt.update(ps[i]!, gs[i]!, st, scalars);
    oouts.push(upd.param.v);
    names.newParams.push([n, upd.param.v.name]);
    opt.stateNames().forEach((s, j) => {
      names.state.push(`${n}.${s}`);
      oouts.push(upd.state[j]!.v);
      names.newState.push([`${n}.${s}`, upd.state[j]!.v.name]);
    });
  });
  og.outputs = oouts;
  return emitModel(og, { name: 'optimizer_step' });
}

/** [first row, rows] for each of `threads` threads, sizes differing by at most one. */
function rowShares(n: number, threads: number): [number, number][] {
  const shares: [number, number][] = [];
  for (let t = 0, start = 0; t < threads; t++) {
    const size = Math.floor(n / threads) + (t < n % threads ? 1 : 0);
    shares.push([start, size]);
    start += size;
  }
  return shares;
}

export type AnyTrainingStep = TrainingStep | DataParallelStep;

/** One thread or data-parallel threads (`workers` 'auto': see autoWorkers). */
export async function createTrainingStep(model: Module, specs: InputSpec[], fn: StepFn, opts: ParallelOptions): Promise<AnyTrainingStep> {
  const auto = opts.workers === undefined || opts.workers === 'auto';
  const count = auto ? autoWorkers(cpus().length, opts.batchSize, model.namedBuffers().length > 0) : (opts.workers as number);
  if (count <= 1 || opts.exposeGradients) return TrainingStep.create(model, specs, fn, opts);
  return DataParallelStep.create(model, specs, fn, { ...opts, workers: count });
}
