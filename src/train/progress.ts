// Progress display: a cli-progress bar (loss, images/s, ETA) on a TTY, plain periodic lines
// otherwise (CI logs, pipes).
import cliProgress from 'cli-progress';

export interface ProgressSink {
  /** `unit`: what the rate counts per second (images, rows, ...). */
  start(label: string, total: number, unit?: string): void;
  /** No loss (reading, encoding): the bar shows none. */
  update(done: number, info: { loss?: number; rate: number }): void;
  stop(summary?: string): void;
}

const lossText = (loss: number | undefined) => (loss === undefined ? '' : ` | loss ${loss.toFixed(5)}`);

export function makeProgress(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  if (!enabled) return { start() {}, update() {}, stop(s) { if (s) stream.write(`${s}\n`); } };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: '{label} [{bar}] {value}/{total}{loss} | {rate} {unit} | ETA {eta_formatted}', stream, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    return {
      start: (label, total, unit = 'img/s') => bar.start(total, 0, { label, loss: '', rate: '-', unit }),
      update: (done, i) => bar.update(done, { loss: lossText(i.loss), rate: Math.round(i.rate) }),
      stop: (s) => {
        bar.stop();
        if (s) stream.write(`${s}\n`);
      },
    };
  }
  // Not a TTY: a line at every 25% so logs show movement without flooding.
  let label = '', unit = '', total = 0, next = 0, t0 = 0;
  return {
    start(l, t, u = 'img/s') {
      label = l; unit = u; total = t; next = Math.ceil(t / 4); t0 = Date.now();
    },
    update(done, i) {
      if (done < next || total === 0) return;
      next += Math.ceil(total / 4);
      const eta = ((Date.now() - t0) / done) * (total - done) / 1000;
      stream.write(`${label} ${done}/${total}${lossText(i.loss)} ${Math.round(i.rate)} ${unit} ETA ${eta.toFixed(0)}s\n`);
    },
    stop(s) {
      if (s) stream.write(`${s}\n`);
    },
  };
}

/**
 * Seconds left for a pool of `workers` running tasks of a few kinds, from the durations of the
 * finished ones: a kind's remaining tasks cost its finished mean, a kind not seen yet the mean of
 * all finished tasks (the probe's DAE tasks take ~3x its raw-feature ones, so one overall mean
 * would mislead). Undefined until a task has finished.
 */
export function remainingSeconds(finished: { kind: string; seconds: number }[], remainingKinds: string[], workers: number): number | undefined {
  if (!finished.length) return undefined;
  const byKind = new Map<string, number[]>();
  for (const f of finished) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f.seconds]);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const overall = mean(finished.map((f) => f.seconds));
  const cost = remainingKinds.reduce((sum, k) => sum + (byKind.has(k) ? mean(byKind.get(k)!) : overall), 0);
  return cost / Math.max(1, workers);
}
