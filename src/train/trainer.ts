// The Trainer, shaped after Catalyst's SupervisedRunner + CheckpointCallback as used in the
// chapter: train/valid loaders, per-epoch metrics, best and last checkpoints chosen by a valid
// metric, best weights loaded at the end, `_metrics.json` with `best` and `last` entries. The
// loop itself only trains and evaluates; what happens around it is callbacks (callbacks.ts).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { epochSeed, type Batch, type BatchSource } from '../data/loader.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { ForwardGraph, ParamStore, type InputSpec, type StepFn } from '../runtime/compile.js';
import { createTrainingStep, DataParallelStep, type AnyTrainingStep } from '../runtime/parallel.js';
import type { SessionOptions } from '../runtime/ort.js';
import { Rng } from '../util/random.js';
import { EarlyStopping, MetricsLog, ModelCheckpoint, ProgressBar, StepLog, type Callback } from './callbacks.js';
import { readCheckpoint, restore } from './checkpoint.js';
import type { Overrides, ResumeRecord } from './resume.js';
import { acquireRunLock, removeOrphanTempFiles } from './run-lock.js';
import { checkTrainingMemory, memoryLimit, trainingMemoryEstimate } from './memory-check.js';
import { lrForEpoch, type Schedule } from '../optim/schedule.js';

export interface EpochRecord {
  epoch: number;
  lr: number;
  train: Record<string, number>;
  valid: Record<string, number>;
  seconds: number;
  imagesPerSecond: number;
  steps: number;
}

export type { BatchInfo, Callback } from './callbacks.js';

/** Where a batch is fed: the 0-based epoch, and training (true) or evaluation (false). */
export interface FeedInfo {
  epoch: number;
  training: boolean;
}

export interface TrainerOptions {
  model: Module;
  inputs: InputSpec[];
  /** Builds the loss (and metrics) from the model and the batch tensors. */
  step: StepFn;
  /** Turns a loader batch into the graph inputs (default: [batch.x]). */
  feeds?: (batch: Batch, rng: Rng, info: FeedInfo) => (Float32Array | BigInt64Array)[];
  optimizer: Optimizer;
  train: BatchSource;
  valid?: BatchSource;
  epochs: number;
  outDir: string;
  /** Valid metric that picks the best checkpoint (default 'loss', minimised). */
  validMetric?: string;
  minimize?: boolean;
  schedule?: Schedule;
  /** Stop when the valid metric has not improved by minDelta for `patience` epochs. */
  earlyStopping?: { patience: number; minDelta?: number };
  /** Stop after this many optimizer steps in total. */
  maxSteps?: number;
  /** Append every Nth step's loss to steps.csv. */
  logEvery?: number;
  clipGradNorm?: number;
  callbacks?: Callback[];
  resume?: boolean;
  progress?: boolean;
  seed?: number;
  session?: SessionOptions;
  /** Threads sharing each batch (data parallel); 'auto' = every core for models without BatchNorm. Default 1. */
  workers?: number | 'auto';
  /** Saved in checkpoints and the run's config.json (model preset, hyperparameters; a resumed run's earlier `resumes`). */
  config?: Record<string, unknown>;
  /** What this resume changed (see train/resume.ts); appended to config.json `resumes`. */
  resumeOverrides?: Overrides;
  log?: (line: string) => void;
}

export interface TrainResult {
  history: EpochRecord[];
  best: EpochRecord | undefined;
  last: EpochRecord | undefined;
  outDir: string;
  stoppedBy: 'epochs' | 'steps' | 'early-stopping' | 'callback';
}

export class Trainer {
  readonly store: ParamStore;
  history: EpochRecord[] = [];
  /** config.json as written by fit(). */
  runConfig: Record<string, unknown> = {};
  /** Why training stops after the current epoch (set by requestStop), if it does. */
  private stopReason?: TrainResult['stoppedBy'];
  private trainStep?: AnyTrainingStep;
  private evalGraph?: ForwardGraph;
  constructor(readonly opts: TrainerOptions) {
    this.store = new ParamStore(opts.model);
  }

  get checkpointDir(): string {
    return join(this.opts.outDir, 'checkpoints');
  }

  get bestPath(): string {
    return join(this.checkpointDir, 'best.safetensors');
  }

  get lastPath(): string {
    return join(this.checkpointDir, 'last.safetensors');
  }

  readonly log = (line: string): void => (this.opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);

  /** The valid metric of an epoch (falling back to train); with asLoss, negated when it is maximised, so lower is better. */
  score(r: EpochRecord, asLoss = false): number {
    const key = this.opts.validMetric ?? 'loss';
    const v = r.valid[key] ?? r.train[key];
    if (v === undefined) throw new Error(`valid metric "${key}" is not reported; available: ${Object.keys(r.valid).join(', ')}`);
    return asLoss && !(this.opts.minimize ?? true) ? -v : v;
  }

  /** The best epoch so far by the valid metric. */
  best(): EpochRecord | undefined {
    return this.history.reduce<EpochRecord | undefined>((b, r) => (!b || this.score(r, true) < this.score(b, true) ? r : b), undefined);
  }

  isBest(r: EpochRecord): boolean {
    return this.best() === r;
  }

  /** End training after the current epoch. */
  requestStop(reason: TrainResult['stoppedBy'] = 'callback'): void {
    this.stopReason ??= reason;
  }

  /** The built-in callbacks the options ask for, then the user's. */
  private callbacks(): Callback[] {
    const o = this.opts;
    return [
      new ModelCheckpoint(),
      new MetricsLog(),
      ...(o.logEvery ? [new StepLog(o.logEvery)] : []),
      new ProgressBar(o.progress ?? true),
      ...(o.callbacks ?? []),
      ...(o.earlyStopping ? [new EarlyStopping(o.earlyStopping.patience, o.earlyStopping.minDelta)] : []),
    ];
  }

  async compile(): Promise<void> {
    const o = this.opts;
    // Refused with the numbers before the training graph and its session take the memory.
    if (!this.trainStep) {
      const limit = memoryLimit();
      checkTrainingMemory(trainingMemoryEstimate(o.model, o.inputs, o.step, o.train.batchSize), limit.bytes, limit.what);
    }
    this.trainStep ??= await createTrainingStep(o.model, o.inputs, o.step, { optimizer: o.optimizer, clipGradNorm: o.clipGradNorm, seed: o.seed, store: this.store, workers: o.workers ?? 1, batchSize: o.train.batchSize, ...o.session });
    if (o.valid) this.evalGraph ??= await ForwardGraph.create(o.model, o.inputs, o.step, this.store, this.evalSession());
  }

  /**
   * The validation graph's session: at least as many intra-op threads as the training step has
   * threads (its data-parallel workers, 'auto' resolved), since those cores wait while it runs:
   * the chapter's 10,000 validation images, 1 vs 2 threads, 241 vs 159 ms a pass
   * (`bench/forward-chunks.ts 10000 1,2 32,256,1000 3 --loss`, batch 32).
   */
  private evalSession(): SessionOptions | undefined {
    const cores = this.trainStep instanceof DataParallelStep ? this.trainStep.threads : 1;
    if (cores <= (this.opts.session?.intraOpThreads ?? 1)) return this.opts.session;
    return { ...this.opts.session, intraOpThreads: cores };
  }

  private feedsOf(batch: Batch, rng: Rng, info: FeedInfo) {
    return this.opts.feeds ? this.opts.feeds(batch, rng, info) : [batch.x];
  }

  /** Average loss and metrics over a loader, weighted by batch size. */
  async evaluate(loader: BatchSource, epoch = Math.max(0, this.history.length - 1)): Promise<Record<string, number>> {
    await this.compile();
    if (!this.evalGraph) this.evalGraph = await ForwardGraph.create(this.opts.model, this.opts.inputs, this.opts.step, this.store, this.evalSession());
    const sums: Record<string, number> = {};
    let count = 0;
    const rng = new Rng(epochSeed(this.opts.seed ?? 0, 1_000_000));
    // Same in-graph noise (e.g. a VAE's samples) at every evaluation, so resumed runs match.
    this.evalGraph.reseed(epochSeed((this.opts.seed ?? 0) + 47, 1_000_000));
    const info: FeedInfo = { epoch, training: false };
    for await (const batch of loader.epoch(0)) {
      const r = await this.evalGraph.run(this.feedsOf(batch, rng, info), batch.n);
      sums.loss = (sums.loss ?? 0) + r.loss! * batch.n;
      for (const [k, v] of Object.entries(r.metrics)) sums[k] = (sums[k] ?? 0) + v * batch.n;
      count += batch.n;
    }
    return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(count, 1)]));
  }

  async fit(): Promise<TrainResult> {
    return withRunLock(this.opts.outDir, this.log, () => this.fitLocked());
  }

  private async fitLocked(): Promise<TrainResult> {
    const o = this.opts;
    await this.compile();
    let config: Record<string, unknown> = { ...o.config, epochs: o.epochs, seed: o.seed ?? 0 };
    // A resume loads everything before it writes anything: a failed resume leaves the run as it was.
    if (o.resume) {
      if (!existsSync(this.lastPath)) throw new Error(`--resume: ${this.lastPath} does not exist; nothing to resume`);
      const ck = readCheckpoint(this.lastPath);
      restore(o.model, ck, this.store, o.optimizer);
      this.history = (ck.meta.history as EpochRecord[] | undefined) ?? [];
      const record: ResumeRecord = { afterEpoch: this.history.length, step: this.store.step, overrides: o.resumeOverrides ?? {}, at: new Date().toISOString() };
      config = { ...config, resumes: [...((o.config?.resumes as ResumeRecord[] | undefined) ?? []), record] };
      this.log(`resuming from ${this.lastPath}: epoch ${ck.meta.epoch} done, step ${ck.meta.step}`);
    }
    this.runConfig = config;
    mkdirSync(this.checkpointDir, { recursive: true });
    writeFileAtomic(join(o.outDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    const callbacks = this.callbacks();
    const baseLr = o.optimizer.lr;
    this.stopReason = undefined;
    for (const cb of callbacks) await cb.onTrainStart?.(this);

    for (let epoch = this.history.length; epoch < o.epochs && !this.stopReason; epoch++) {
      if (o.maxSteps !== undefined && this.store.step >= o.maxSteps) {
        this.requestStop('steps');
        break;
      }
      o.optimizer.lr = lrForEpoch(o.schedule ?? { kind: 'constant' }, baseLr, epoch, this.history.map((r) => this.score(r, true)));
      for (const cb of callbacks) await cb.onEpochStart?.(epoch, this);
      // Per-epoch generators: a resumed run draws the same noise and order as an uninterrupted one.
      const rng = new Rng(epochSeed((o.seed ?? 0) + 17, epoch));
      this.trainStep!.reseed(epochSeed((o.seed ?? 0) + 31, epoch));
      const t0 = performance.now();
      let seen = 0, lossSum = 0;
      const sums: Record<string, number> = {};
      for await (const batch of o.train.epoch(epoch)) {
        const r = await this.trainStep!.run(this.feedsOf(batch, rng, { epoch, training: true }), batch.n);
        seen += batch.n;
        lossSum += r.loss * batch.n;
        for (const [k, v] of Object.entries(r.metrics)) sums[k] = (sums[k] ?? 0) + v * batch.n;
        const info = { epoch, step: this.store.step, loss: r.loss, n: batch.n, seen, meanLoss: lossSum / seen, rate: seen / ((performance.now() - t0) / 1000) };
        for (const cb of callbacks) await cb.onBatchEnd?.(info, this);
        if (o.maxSteps !== undefined && this.store.step >= o.maxSteps) {
          this.requestStop('steps');
          break;
        }
      }
      const trainSeconds = (performance.now() - t0) / 1000;
      const train = { loss: lossSum / Math.max(seen, 1), ...Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / Math.max(seen, 1)])) };
      const valid = o.valid ? await this.evaluate(o.valid, epoch) : {};
      const record: EpochRecord = { epoch: epoch + 1, lr: o.optimizer.lr, train, valid, seconds: (performance.now() - t0) / 1000, imagesPerSecond: seen / trainSeconds, steps: this.store.step };
      this.history.push(record);
      for (const cb of callbacks) if ((await cb.onEpochEnd?.(record, this)) === 'stop') this.requestStop('callback');
    }
    for (const cb of callbacks) await cb.onTrainEnd?.(this.history, this);
    return { history: this.history, best: this.best(), last: this.history.at(-1), outDir: o.outDir, stoppedBy: this.stopReason ?? 'epochs' };
  }

  async release(): Promise<void> {
    await this.trainStep?.release();
    await this.evalGraph?.release();
  }
}

/**
 * Lock a run folder for training (see train/run-lock.ts) and remove the temp files that killed
 * writes left there; returns the release function.
 */
export function lockRunFolder(dir: string, log: (line: string) => void): () => void {
  const release = acquireRunLock(dir, log);
  for (const f of removeOrphanTempFiles(dir)) log(`removed ${f} (left by an interrupted write)`);
  return release;
}

/** Run `fn` holding the run folder's lock. */
export async function withRunLock<T>(dir: string, log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const release = lockRunFolder(dir, log);
  try {
    return await fn();
  } finally {
    release();
  }
}
