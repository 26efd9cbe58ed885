// Argument parsers shared by the commands.
import { InvalidArgumentError } from 'commander';

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
