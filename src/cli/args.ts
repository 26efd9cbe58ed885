// Argument parsers shared by the commands.
import { InvalidArgumentError, Option, type Command } from 'commander';

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

export function positiveInt(v: string): number {
  const n = intArg(v);
  if (n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${v}"`);
  return n;
}

// Options that many commands share, defined once so their names, checks and help agree.

export const checkpointOption = () => new Option('--checkpoint <NAME>', 'checkpoint to load').choices(['best', 'last']).default('best');

export const dataDirOption = (what = 'Fashion-MNIST folder (else LATENTKIT_DATA, /usr/share/datasets/fashion-mnist, cache)') => new Option('--data-dir <DIR>', what);

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
