// Data-parallel training over worker threads: each thread runs the gradient graph on its share
// of the batch, the main thread averages the gradients (weighted by rows) and runs a separate
// optimizer graph once. onnxruntime-node's `run` occupies its calling thread, so this is how
// one process uses both cores on small models where intra-op threading does not pay.
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { gradients } from '../autodiff/grad.js';
import { Graph, type Value } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import type { Module } from '../nn/module.js';
import { emitModel } from '../onnx/emit.js';
import type { Optimizer } from '../optim/optimizer.js';
import { Rng } from '../util/random.js';
import { NonFiniteError, ParamStore, TrainingStep, clipByGlobalNorm, finiteCheck, traceStep, type InputSpec, type StepFn, type StepResult, type TrainingOptions } from './compile.js';
import { createSession, ort, scalarTensor, tensor, type Feeds } from './ort.js';

interface WorkerResult {
  id: number;
  result?: Record<string, Float32Array>;
  error?: string;
}

class GradWorker {
  private pending = new Map<number, (r: WorkerResult) => void>();
  private nextId = 0;
  readonly ready: Promise<void>;
  constructor(readonly worker: Worker) {
    this.ready = new Promise((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (m: WorkerResult & { ready?: boolean }) => {
        if (m.ready) return resolve();
        this.pending.get(m.id)?.(m);
        this.pending.delete(m.id);
      });
    });
  }
  run(inputs: { name: string; data: Float32Array | BigInt64Array; dims: number[]; dtype: string }[], outputs: string[]): Promise<Record<string, Float32Array>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (m) => (m.error ? reject(new Error(`gradient worker: ${m.error}`)) : resolve(m.result!)));
      this.worker.postMessage({ id, inputs, outputs }, inputs.map((i) => i.data.buffer as ArrayBuffer));
    });
  }
}

export interface ParallelOptions extends TrainingOptions {
  /** Threads taking a share of each batch, the main thread included (default 'auto': all cores). */
  workers?: number | 'auto';
}

export class DataParallelStep {
  private gradSession!: ort.InferenceSession;
  private optSession!: ort.InferenceSession;
  private workers: GradWorker[] = [];
  private names!: { loss: string; metrics: [string, string][]; grads: [string, string][]; inputs: Value[]; params: [string, string][]; state: string[]; newParams: [string, string][]; newState: [string, string][] };
  private rng: Rng;

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
    const grads = gradients(g, out.loss.v, trained.map(([, p]) => ctx.params.get(p)!));
    const outputs: Value[] = [];
    const mark = (v: Value) => {
      const o = g.inputs.includes(v) ? new Tensor(g, v).op('Identity').v : v;
      outputs.push(o);
      return o.name;
    };
    const step = new DataParallelStep(store, opt, traced, opts.seed ?? 0);
    const names = {
      loss: mark(out.loss.v),
      metrics: Object.entries(out.metrics ?? {}).map(([k, t]): [string, string] => [k, mark(t.v)]),
      grads: trained.map(([n], i): [string, string] => [n, mark(grads[i]!)]),
      inputs: traced.inputs,
      params: trained.map(([n, p]): [string, string] => [n, ctx.params.get(p)!.name]),
      state: [] as string[],
      newParams: [] as [string, string][],
      newState: [] as [string, string][],
    };
    g.outputs = outputs;
    const gradModel = emitModel(g, { name: 'grad_step' });

    // The optimizer step as its own small graph: params, averaged grads, state -> new values.
    const og = new Graph();
    const scalars = Object.fromEntries(Object.keys(opt.scalars(1)).map((k) => [k, new Tensor(og, og.input(`opt_${k}`, 'float32', []))]));
    const ps = trained.map(([n, p]) => new Tensor(og, og.input(n, 'float32', p.shape)));
    // Each thread's gradient comes in as its own input and is averaged in the graph (weighted by
    // the thread's share of the rows): on parameter-heavy models a JS loop over every gradient
    // took ~40% of the step (MLP 784-512-256-32, 2 workers: ~4,470 -> ~5,810 img/s in the graph).
    const count = Math.max(1, Math.min(typeof opts.workers === 'number' ? opts.workers : cpus().length, 8));
    const shareWeights = Array.from({ length: count }, (_, t) => new Tensor(og, og.input(`share_w${t}`, 'float32', [])));
    let gs = trained.map(([n, p]) =>
      shareWeights.map((w, t) => new Tensor(og, og.input(`${n}.grad${t}`, 'float32', p.shape)).mul(w)).reduce((a, b) => a.add(b)),
    );
    if (opts.clipGradNorm) gs = clipByGlobalNorm(gs, opts.clipGradNorm);
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
    step.names = names;
    step.gradSession = await createSession(gradModel, { intraOpThreads: 1 });
    // One thread: a 2-thread pool for the update measured slower (LSTM 2,665 -> 1,923 img/s).
    step.optSession = await createSession(emitModel(og, { name: 'optimizer_step' }), { intraOpThreads: 1 });

    for (let i = 1; i < count; i++) {
      const w = new GradWorker(new Worker(new URL('./grad-worker.mjs', import.meta.url), { workerData: { model: gradModel, threads: 1 } }));
      step.workers.push(w);
    }
    await Promise.all(step.workers.map((w) => w.ready));
    return step;
  }

  reseed(seed: number): void {
    this.rng = new Rng(seed);
  }

  async run(batch: ArrayLike<Float32Array | BigInt64Array>, n: number): Promise<StepResult> {
    const stepNo = this.store.step + 1;
    const inputs = this.names.inputs;
    for (let i = 0; i < batch.length; i++) {
      const b = batch[i]!;
      if (b instanceof Float32Array && !finiteCheck(b.subarray(0, (b.length / Math.max(n, 1)) * n)))
        throw new NonFiniteError(`step ${stepNo}: input ${inputs[i]!.name} contains NaN or Inf; the batch was not trained on`);
    }
    // Row-wise feeds (inputs and random draws) for the whole batch, then one share per thread.
    const rows: { name: string; data: Float32Array | BigInt64Array; perRow: number; dims: number[]; dtype: string }[] = [];
    inputs.forEach((v, i) => {
      const per = v.shape.slice(1).reduce<number>((a, d) => a * (d as number), 1);
      rows.push({ name: v.name, data: batch[i]!, perRow: per, dims: v.shape.slice(1) as number[], dtype: v.dtype });
    });
    for (const r of this.traced.ctx.randoms) {
      const per = r.value.shape.slice(1).reduce<number>((a, d) => a * (d as number), 1);
      const buf = new Float32Array(per * n);
      if (r.dist === 'uniform') this.rng.fillUniform(buf);
      else this.rng.fillNormal(buf);
      rows.push({ name: r.value.name, data: buf, perRow: per, dims: r.value.shape.slice(1) as number[], dtype: 'float32' });
    }
    const threads = Math.min(this.workers.length + 1, n);
    const shares: [number, number][] = [];
    for (let t = 0, start = 0; t < threads; t++) {
      const size = Math.floor(n / threads) + (t < n % threads ? 1 : 0);
      shares.push([start, size]);
      start += size;
    }
    const outNames = [this.names.loss, ...this.names.metrics.map(([, o]) => o), ...this.names.grads.map(([, o]) => o)];
    const sliceOf = (r: (typeof rows)[number], [s, k]: [number, number], copy: boolean) => {
      const view = r.data.subarray(s * r.perRow, (s + k) * r.perRow);
      return { name: r.name, data: copy ? view.slice() : view, dims: [k, ...r.dims], dtype: r.dtype };
    };
    const paramRows = this.names.params.map(([pn, input]) => {
      const t = this.store.values.get(pn)!;
      return { name: input, data: t.data as Float32Array, dims: [...t.dims], dtype: 'float32' };
    });
    const remote = shares.slice(1).map((share, i) =>
      this.workers[i]!.run([...rows.map((r) => sliceOf(r, share, true)), ...paramRows.map((p) => ({ ...p, data: p.data.slice() }))], outNames),
    );
    const local = (async () => {
      const feeds: Feeds = {};
      for (const r of rows) {
        const s = sliceOf(r, shares[0]!, false);
        feeds[s.name] = tensor(s.dtype as 'float32', s.data, s.dims);
      }
      for (const [pn, input] of this.names.params) feeds[input] = this.store.values.get(pn)!;
      const r = await this.gradSession.run(feeds, outNames);
      return Object.fromEntries(outNames.map((o) => [o, r[o]!.data as Float32Array]));
    })();
    const results = [await local, ...(await Promise.all(remote))];

    // Row-weighted average: each share's loss is a mean over its own rows.
    const weights = shares.map(([, k]) => k / n);
    const mix = (o: string) => results.reduce((acc, r, t) => acc + weights[t]! * r[o]![0]!, 0);
    const loss = mix(this.names.loss);
    if (!Number.isFinite(loss)) throw new NonFiniteError(`step ${stepNo}: loss is ${loss}; parameters were left unchanged`);
    const feeds: Feeds = {};
    // Threads without rows this step (a batch smaller than the thread count) get weight 0.
    for (let t = 0; t <= this.workers.length; t++) feeds[`share_w${t}`] = scalarTensor(weights[t] ?? 0);
    for (const [pname, o] of this.names.grads) {
      const p = this.store.values.get(pname)!;
      for (let t = 0; t <= this.workers.length; t++) feeds[`${pname}.grad${t}`] = tensor('float32', (results[t] ?? results[0]!)[o]!, p.dims);
      feeds[pname] = p;
    }
    for (const s of this.names.state) feeds[s] = this.store.values.get(s)!;
    for (const [k, v] of Object.entries(this.optimizer.scalars(stepNo))) feeds[`opt_${k}`] = scalarTensor(v);
    const r = await this.optSession.run(feeds);
    for (const [pname, o] of this.names.newParams) this.store.values.set(pname, r[o]!);
    for (const [s, o] of this.names.newState) this.store.values.set(s, r[o]!);
    this.store.step = stepNo;
    const metrics = Object.fromEntries(this.names.metrics.map(([k, o]) => [k, mix(o)]));
    return { loss, metrics };
  }

  async release(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    await this.gradSession.release();
    await this.optSession.release();
  }
}

export type AnyTrainingStep = TrainingStep | DataParallelStep;

/** One thread or data-parallel threads: `workers` 'auto' uses every core unless the model keeps running statistics. */
export async function createTrainingStep(model: Module, specs: InputSpec[], fn: StepFn, opts: ParallelOptions): Promise<AnyTrainingStep> {
  const hasBuffers = model.namedBuffers().length > 0;
  const auto = opts.workers === undefined || opts.workers === 'auto';
  const count = auto ? (hasBuffers ? 1 : cpus().length) : (opts.workers as number);
  if (count <= 1 || opts.exposeGradients) return TrainingStep.create(model, specs, fn, opts);
  return DataParallelStep.create(model, specs, fn, { ...opts, workers: count });
}
