// Argument parsers shared by the commands.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { TrainResult } from '../train/trainer.js';
import { reporter } from './output.js';
import { EXECUTION_OPTIONS } from '../train/resume.js';

export function intArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${v}"`);
  return n;
}

export function floatArg(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${v}"`);
  return n;
}

/** "1,2;3,4" -> [[1,2],[3,4]] */
export function matrixArg(v: string): number[][] {
  const rows = v.split(';').map((r) => r.split(',').map((x) => Number(x.trim())));
  if (rows.some((r) => r.some((x) => !Number.isFinite(x)))) throw new InvalidArgumentError(`expected numbers like "1,2;3,4", got "${v}"`);
  if (rows.some((r) => r.length !== rows[0]!.length)) throw new InvalidArgumentError(`rows of "${v}" differ in length`);
  return rows;
}

/** "32" or "32x48" (H x W) -> [H, W]. */
export function parseImageSize(v: string): [number, number] {
  const m = /^(\d+)(?:x(\d+))?$/i.exec(v.trim());
  const hw = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [];
  if (!m || hw.some((x) => !(x >= 2 && x <= 4096))) throw new InvalidArgumentError(`expected H or HxW with sizes 2..4096, e.g. 32 or 64x48, got "${v}"`);
  return hw as [number, number];
}

export function positiveInt(v: string): number {
  const n = intArg(v);
  if (n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`);
  return n;
}

// Options that many commands share, defined once so their names, checks and help agree.

export const checkpointOption = () => new Option('--checkpoint <NAME>', 'checkpoint to load').choices(['best', 'last']).default('best');

/** A command that reads a trained run: `<run>` (a folder written by `writtenBy`), what it does, and --checkpoint best|last. */
export function runCommand(program: Command, name: string, description: string, writtenBy = 'train'): Command {
  return program.command(name).argument('<run>', `run folder written by ${writtenBy}`).description(description).addOption(checkpointOption());
}

export const dataDirOption = (what = 'Fashion-MNIST folder (else LATENTKIT_DATA, /usr/share/datasets/fashion-mnist, cache)') => new Option('--data-dir <DIR>', what);

/** `-n, --count N`: the one spelling of "how many" across commands. */
export const countOption = (what: string, fallback: number) => new Option('-n, --count <N>', what).argParser(positiveInt).default(fallback);

export const epochsOption = () => new Option('--epochs <N>', 'epochs (preset default)').argParser(positiveInt);
export const batchSizeOption = () => new Option('--batch-size <N>', 'batch size (preset default)').argParser(positiveInt);
export const lrOption = () => new Option('--lr <X>', 'learning rate (preset default)').argParser(floatArg);
export const scheduleOption = () => new Option('--schedule <SPEC>', 'LR schedule: constant, step:SIZE:GAMMA, cosine[:TMAX], plateau:FACTOR:PATIENCE');

/** --epochs, --batch-size, --lr and --schedule. */
export const trainingOptions = (): Option[] => [epochsOption(), batchSizeOption(), lrOption(), scheduleOption()];

/** Add several options to a command inside a builder chain. */
export function addOptions<C extends Command>(cmd: C, opts: Option[]): C {
  for (const o of opts) cmd.addOption(o);
  return cmd;
}

const STOP_REASONS: Record<TrainResult['stoppedBy'], string> = {
  epochs: 'all epochs done',
  steps: 'step limit reached',
  'early-stopping': 'stopped early: no improvement',
  callback: 'stopped by a callback',
};

/** `-o, --out DIR`: the run folder of every train command. */
export const runFolderOption = () => new Option('-o, --out <DIR>', 'run folder (default logs/trial_{N}_autoencoder)');

/** The end of every train command: the best-loss line and the run's files, or one JSON object with --json. */
export function reportTraining(o: { json?: boolean }, r: Pick<TrainResult, 'best' | 'history' | 'stoppedBy' | 'outDir'>, details: string[], data: Record<string, unknown> = {}): void {
  const last = r.history[r.history.length - 1];
  reporter(o).result(
    { outDir: r.outDir, stoppedBy: r.stoppedBy, epochs: r.history.length, best: r.best && { epoch: r.best.epoch, train: r.best.train, valid: r.best.valid }, last: last && { epoch: last.epoch, train: last.train, valid: last.valid }, ...data },
    [bestLossLine(r), ...details],
  );
}

/** "best valid loss 0.037141 at epoch 18 of 20 (all epochs done)", for every train command. */
export function bestLossLine(r: Pick<TrainResult, 'best' | 'history' | 'stoppedBy'>): string {
  const loss = r.best?.valid.loss ?? r.best?.train.loss;
  const which = r.best?.valid.loss !== undefined ? 'valid' : 'train';
  return `best ${which} loss ${loss?.toFixed(6) ?? 'n/a'} at epoch ${r.best?.epoch ?? '-'} of ${r.history.length} (${STOP_REASONS[r.stoppedBy]})`;
}

/**
 * A training command's options; with --resume, commander's defaults are left out (except for
 * execution options), so a default is never taken for a flag that would change the run.
 */
export function typedOptions(cmd: Command): Record<string, any> {
  const o = cmd.opts();
  if (!o.resume) return o;
  return Object.fromEntries(Object.entries(o).filter(([k]) => cmd.getOptionValueSource(k) !== 'default' || EXECUTION_OPTIONS.includes(k)));
}
