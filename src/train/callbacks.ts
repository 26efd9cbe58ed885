// What happens around the training loop, as Keras callbacks: checkpoints, the metrics log
// (Keras' History / CSVLogger), the per-step loss log, the progress bar and early stopping.
// The Trainer builds the default list from its options; users add their own beside them.
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ioError, writeFileAtomic } from '../util/atomic.js';
import { readCheckpoint, restore, saveCheckpoint } from './checkpoint.js';
import { makeProgress, type ProgressSink } from './progress.js';
import type { EpochRecord, Trainer } from './trainer.js';

export interface BatchInfo {
  epoch: number;
  /** Optimizer steps so far, this one included. */
  step: number;
  loss: number;
  /** Samples in this batch. */
  n: number;
  /** Samples seen this epoch and their mean loss so far. */
  seen: number;
  meanLoss: number;
  /** Samples per second this epoch. */
  rate: number;
}

export interface Callback {
  onTrainStart?(t: Trainer): void | Promise<void>;
  onEpochStart?(epoch: number, t: Trainer): void | Promise<void>;
  onBatchEnd?(info: BatchInfo, t: Trainer): void | Promise<void>;
  /** Return 'stop' (or call t.requestStop) to end training after this epoch. */
  onEpochEnd?(record: EpochRecord, t: Trainer): void | 'stop' | Promise<void | 'stop'>;
  onTrainEnd?(history: EpochRecord[], t: Trainer): void | Promise<void>;
}

/** best.safetensors when the valid metric improves, last.safetensors every epoch (with optimizer state, for --resume); the best weights are loaded back at the end, as Catalyst's CheckpointCallback(load_on_stage_end='best'). */
export class ModelCheckpoint implements Callback {
  onEpochEnd(record: EpochRecord, t: Trainer): void {
    const meta = { epoch: record.epoch, step: t.store.step, history: t.history, config: t.runConfig };
    // Best first, then last: a kill between the two leaves a consistent, resumable pair.
    if (t.isBest(record)) saveCheckpoint(t.bestPath, t.store, undefined, meta);
    saveCheckpoint(t.lastPath, t.store, t.opts.optimizer, meta);
  }

  onTrainEnd(history: EpochRecord[], t: Trainer): void {
    if (existsSync(t.bestPath) && t.best()) restore(t.opts.model, readCheckpoint(t.bestPath), t.store);
  }
}

/** `_metrics.json` (best and last epoch, Catalyst's layout) and `metrics.jsonl` (every epoch). */
export class MetricsLog implements Callback {
  onEpochEnd(_record: EpochRecord, t: Trainer): void {
    const entry = (r: EpochRecord | undefined) => r && { epoch: r.epoch, train: r.train, valid: r.valid, lr: r.lr, _score_: t.score(r) };
    const dir = t.opts.outDir;
    writeFileAtomic(join(dir, '_metrics.json'), JSON.stringify({ best: entry(t.best()), last: entry(t.history.at(-1)), valid_metric: t.opts.validMetric ?? 'loss' }, null, 2) + '\n');
    writeFileAtomic(join(dir, 'metrics.jsonl'), t.history.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }
}

/** Every `every`-th step's loss appended to steps.csv. */
export class StepLog implements Callback {
  private path = '';
  constructor(private readonly every: number) {}

  private append(line: string): void {
    try {
      appendFileSync(this.path, line);
    } catch (e) {
      throw ioError(this.path, e);
    }
  }

  onTrainStart(t: Trainer): void {
    this.path = join(t.opts.outDir, 'steps.csv');
    if (!existsSync(this.path)) this.append('step,epoch,loss\n');
  }

  onBatchEnd(b: BatchInfo): void {
    if (b.step % this.every === 0) this.append(`${b.step},${b.epoch},${b.loss}\n`);
  }
}

/** A progress bar per epoch (samples, loss, throughput, ETA), ending in a one-line summary. */
export class ProgressBar implements Callback {
  private readonly bar: ProgressSink;
  constructor(enabled: boolean) {
    this.bar = makeProgress(enabled);
  }

  onEpochStart(epoch: number, t: Trainer): void {
    this.bar.start(`epoch ${epoch + 1}/${t.opts.epochs}`, t.opts.train.rows);
  }

  onBatchEnd(b: BatchInfo): void {
    this.bar.update(b.seen, { loss: b.meanLoss, rate: b.rate });
  }

  onEpochEnd(r: EpochRecord, t: Trainer): void {
    const valid = Object.entries(r.valid).map(([k, v]) => `valid ${k} ${v.toFixed(5)}`).join(' ');
    this.bar.stop(`epoch ${r.epoch}/${t.opts.epochs}: train loss ${r.train.loss!.toFixed(5)} ${valid} | ${Math.round(r.imagesPerSecond)} img/s${t.isBest(r) ? ' *best' : ''}`);
  }
}

/** Stop when the valid metric has not improved by more than minDelta for `patience` epochs. */
export class EarlyStopping implements Callback {
  constructor(readonly patience: number, readonly minDelta = 0) {}

  onEpochEnd(_r: EpochRecord, t: Trainer): void {
    let best = Infinity, since = 0;
    for (const s of t.history.map((h) => t.score(h, true))) {
      if (s < best - this.minDelta) {
        best = s;
        since = 0;
      } else since++;
    }
    if (since >= this.patience) {
      t.log(`early stopping: no improvement for ${this.patience} epochs`);
      t.requestStop('early-stopping');
    }
  }
}
