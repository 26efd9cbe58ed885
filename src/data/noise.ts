// Input corruption for denoising autoencoders, drawn on the host per batch from a seeded
// generator (the Trainer hands `feeds` a per-epoch Rng, so a resumed run draws the same noise).
// The clean batch stays the target.
//   gaussian     x + σ·N(0,1), optionally clipped to [lo, hi]
//   masking      each cell (or group) set to `value` (default 0) with probability p
//   salt-pepper  each cell set to `low` or `high` (equally likely) with probability p
//   swap         each cell (or group) replaced with probability p by the same column's value
//                in a random other row of the batch or of the dataset (Porto Seguro's swap noise)
import type { Batch } from './loader.js';
import type { Rng } from '../util/random.js';

export type NoiseSpec =
  | { kind: 'gaussian'; sigma: number; clip?: [number, number] }
  | { kind: 'masking'; p: number; value?: number }
  | { kind: 'salt-pepper'; p: number; low?: number; high?: number }
  | { kind: 'swap'; p: number; from?: 'batch' | 'dataset' };

export interface NoiseContext {
  /** Column ranges corrupted as one unit by masking and swap (one-hot groups): [offset, size]. */
  groups?: { offset: number; size: number }[];
  /** For swap from 'dataset': all rows (row-major, `width` values each). */
  dataset?: Float32Array;
  /** For swap from 'dataset': the dataset row of each batch row, so a row never swaps with itself. */
  rowIndex?: ArrayLike<number>;
  /** Filled with 1 where a cell was corrupted (n × width), for inspection and tests. */
  mask?: Uint8Array;
}

const KINDS = ['gaussian', 'masking', 'salt-pepper', 'swap'];

function checkP(p: unknown, what: string): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`${what}: probability p must be a number in [0, 1], got ${JSON.stringify(p)}`);
  return p;
}

/** Validate a noise spec (from JSON or the API); throws a message naming the bad key. */
export function validateNoise(spec: unknown, where = 'noise'): NoiseSpec {
  const s = spec as Record<string, unknown>;
  if (!s || typeof s !== 'object' || !KINDS.includes(s.kind as string)) throw new Error(`${where}: "kind" must be one of ${KINDS.join(', ')}, got ${JSON.stringify(s?.kind)}`);
  const allowed: Record<string, string[]> = { gaussian: ['sigma', 'clip'], masking: ['p', 'value'], 'salt-pepper': ['p', 'low', 'high'], swap: ['p', 'from'] };
  for (const k of Object.keys(s)) if (k !== 'kind' && !allowed[s.kind as string]!.includes(k)) throw new Error(`${where}: unknown key "${k}" for ${s.kind} noise; allowed: ${allowed[s.kind as string]!.join(', ')}`);
  switch (s.kind) {
    case 'gaussian': {
      if (typeof s.sigma !== 'number' || !(s.sigma >= 0)) throw new Error(`${where}: gaussian noise needs sigma >= 0, got ${JSON.stringify(s.sigma)}`);
      if (s.clip !== undefined && !(Array.isArray(s.clip) && s.clip.length === 2 && s.clip.every((v) => typeof v === 'number') && s.clip[0] <= s.clip[1]))
        throw new Error(`${where}: clip must be [lo, hi] with lo <= hi, got ${JSON.stringify(s.clip)}`);
      return { kind: 'gaussian', sigma: s.sigma, ...(s.clip ? { clip: s.clip as [number, number] } : {}) };
    }
    case 'masking':
      return { kind: 'masking', p: checkP(s.p, where), ...(s.value !== undefined ? { value: Number(s.value) } : {}) };
    case 'salt-pepper':
      return { kind: 'salt-pepper', p: checkP(s.p, where), low: s.low === undefined ? 0 : Number(s.low), high: s.high === undefined ? 1 : Number(s.high) };
    default:
      if (s.from !== undefined && s.from !== 'batch' && s.from !== 'dataset') throw new Error(`${where}: swap "from" must be "batch" or "dataset", got ${JSON.stringify(s.from)}`);
      return { kind: 'swap', p: checkP(s.p, where), from: (s.from as 'batch' | 'dataset' | undefined) ?? 'batch' };
  }
}

/**
 * Parse a command-line noise spec: "swap:0.15", "gaussian:0.1", "gaussian:0.1:0:1" (clip to
 * [0, 1]), "masking:0.2", "salt-pepper:0.05", "swap:0.1:dataset"; several joined by "+".
 */
export function parseNoise(text: string): NoiseSpec[] {
  return text.split('+').map((part) => {
    const [kind, ...args] = part.trim().split(':');
    const nums = args.map(Number);
    const where = `noise "${part.trim()}"`;
    switch (kind) {
      case 'gaussian':
        return validateNoise({ kind, sigma: nums[0], ...(args.length >= 3 ? { clip: [nums[1], nums[2]] } : {}) }, where);
      case 'masking':
      case 'mask':
        return validateNoise({ kind: 'masking', p: nums[0], ...(args.length > 1 ? { value: nums[1] } : {}) }, where);
      case 'salt-pepper':
        return validateNoise({ kind, p: nums[0], ...(args.length > 2 ? { low: nums[1], high: nums[2] } : {}) }, where);
      case 'swap':
        return validateNoise({ kind, p: nums[0], ...(args[1] ? { from: args[1] } : {}) }, where);
      default:
        throw new Error(`${where}: unknown kind "${kind}"; use gaussian:SIGMA[:LO:HI], masking:P, salt-pepper:P[:LOW:HIGH], swap:P[:batch|dataset]`);
    }
  });
}

/** Units of corruption: single columns, except the given groups which go as one. */
function unitsOf(width: number, groups?: { offset: number; size: number }[]): [number, number][] {
  const inGroup = new Int32Array(width).fill(-1);
  (groups ?? []).forEach((g, k) => {
    for (let j = g.offset; j < g.offset + g.size; j++) inGroup[j] = k;
  });
  const units: [number, number][] = [];
  for (let j = 0; j < width; ) {
    const k = inGroup[j]!;
    if (k < 0) {
      units.push([j, 1]);
      j++;
    } else {
      units.push([j, groups![k]!.size]);
      j += groups![k]!.size;
    }
  }
  return units;
}

/**
 * A corrupted copy of x (n rows of `width`); x itself is left as it is. Several specs apply in
 * order. Draws come from `rng` only, so the same generator state gives the same noise.
 */
export function applyNoise(x: Float32Array, n: number, width: number, specs: NoiseSpec | NoiseSpec[], rng: Rng, ctx: NoiseContext = {}): Float32Array {
  if (x.length < n * width) throw new Error(`applyNoise: expected ${n} rows of ${width} values, got ${x.length}`);
  const out = x.slice(0, n * width);
  const mark = ctx.mask;
  const units = unitsOf(width, ctx.groups);
  for (const spec of Array.isArray(specs) ? specs : [specs]) {
    if (spec.kind === 'gaussian') {
      const [lo, hi] = spec.clip ?? [-Infinity, Infinity];
      for (let i = 0; i < n * width; i++) {
        out[i] = Math.min(hi, Math.max(lo, out[i]! + spec.sigma * rng.normal()));
        if (mark) mark[i] = 1;
      }
    } else if (spec.kind === 'masking') {
      const value = spec.value ?? 0;
      for (let i = 0; i < n; i++)
        for (const [s, size] of units)
          if (rng.uniform() < spec.p)
            for (let j = s; j < s + size; j++) {
              out[i * width + j] = value;
              if (mark) mark[i * width + j] = 1;
            }
    } else if (spec.kind === 'salt-pepper') {
      const low = spec.low ?? 0, high = spec.high ?? 1;
      for (let i = 0; i < n * width; i++)
        if (rng.uniform() < spec.p) {
          out[i] = rng.uniform() < 0.5 ? low : high;
          if (mark) mark[i] = 1;
        }
    } else {
      const fromData = spec.from === 'dataset';
      const src = fromData ? ctx.dataset : x;
      if (fromData && !src) throw new Error('swap noise from "dataset" needs the dataset rows (NoiseContext.dataset)');
      const rows = fromData ? src!.length / width : n;
      if (rows < 2) continue;
      for (let i = 0; i < n; i++) {
        const self = fromData ? (ctx.rowIndex ? ctx.rowIndex[i]! : -1) : i;
        for (const [s, size] of units) {
          if (rng.uniform() >= spec.p) continue;
          // A uniformly chosen row other than this one.
          let r = rng.int(self >= 0 ? rows - 1 : rows);
          if (self >= 0 && r >= self) r++;
          for (let j = s; j < s + size; j++) {
            out[i * width + j] = src![r * width + j]!;
            if (mark) mark[i * width + j] = 1;
          }
        }
      }
    }
  }
  return out;
}

/** A Trainer `feeds` function: [corrupted batch, clean batch] for a (noisy, clean) step. */
export function noiseFeeds(specs: NoiseSpec[], width: number, ctx: Omit<NoiseContext, 'rowIndex' | 'mask'> = {}): (batch: Batch, rng: Rng) => Float32Array[] {
  return (batch, rng) => [applyNoise(batch.x, batch.n, width, specs, rng, { ...ctx, rowIndex: batch.indices }), batch.x];
}
