// Seeded training-time augmentation for image batches (NCHW float32): horizontal flips and
// random crops (a shift by up to 1/8 of the size, zero-filled, like torchvision's
// RandomCrop(size, padding) with zero padding). The trainer's per-epoch generator drives it, so
// a seed gives the same augmented batches every run, and on resume.
import type { Rng } from '../util/random.js';

export const AUGMENTS = ['flip', 'crop'] as const;
export type Augment = (typeof AUGMENTS)[number];

/** "flip,crop" -> ['flip', 'crop']. */
export function parseAugment(spec: string): Augment[] {
  const kinds = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = kinds.find((k) => !(AUGMENTS as readonly string[]).includes(k));
  if (bad !== undefined || !kinds.length) throw new Error(`--augment: expected a list of ${AUGMENTS.join(', ')}, got "${spec}"`);
  return [...new Set(kinds)] as Augment[];
}

/**
 * A new array holding the n images of `x` augmented: each image is flipped left-right with
 * probability 1/2 ('flip') and shifted by (dy, dx) uniform in [-p, p], p = max(1, round(size / 8))
 * ('crop'). The draws come from `rng` in image order.
 */
export function augmentBatch(x: Float32Array, n: number, shape: readonly number[], kinds: readonly Augment[], rng: Rng): Float32Array {
  const [c, h, w] = shape as [number, number, number];
  const plane = h * w;
  const size = c * plane;
  const out = new Float32Array(n * size);
  const flip = kinds.includes('flip');
  const crop = kinds.includes('crop');
  const ph = Math.max(1, Math.round(h / 8)), pw = Math.max(1, Math.round(w / 8));
  for (let i = 0; i < n; i++) {
    const mirror = flip && rng.uniform() < 0.5;
    const dy = crop ? rng.int(2 * ph + 1) - ph : 0;
    const dx = crop ? rng.int(2 * pw + 1) - pw : 0;
    for (let ch = 0; ch < c; ch++) {
      const src = i * size + ch * plane;
      for (let y = 0; y < h; y++) {
        const sy = y + dy;
        if (sy < 0 || sy >= h) continue; // stays 0
        for (let xx = 0; xx < w; xx++) {
          const sx0 = xx + dx;
          if (sx0 < 0 || sx0 >= w) continue;
          const sx = mirror ? w - 1 - sx0 : sx0;
          out[src + y * w + xx] = x[src + sy * w + sx]!;
        }
      }
    }
  }
  return out;
}
