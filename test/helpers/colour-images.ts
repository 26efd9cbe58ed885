// Small generated image folders for the image-run tests: coloured discs on a gradient (so every
// channel carries a different picture), optionally in class subfolders, or gray.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

export interface FolderSpec {
  n: number;
  width: number;
  height: number;
  /** 3 (default) for colour PNGs, 1 for gray. */
  channels?: 1 | 3;
  /** Class subfolders class0..classK-1 (default none: a flat folder). */
  classes?: number;
  format?: 'png' | 'jpeg' | 'webp';
}

export async function writeImageFolder(dir: string, spec: FolderSpec): Promise<string> {
  const { n, width: w, height: h } = spec;
  const c = spec.channels ?? 3;
  for (let i = 0; i < n; i++) {
    const k = spec.classes ? i % spec.classes : 0;
    const sub = spec.classes ? join(dir, `class${k}`) : dir;
    mkdirSync(sub, { recursive: true });
    const raw = Buffer.alloc(w * h * c);
    const cx = (i * 7) % w, cy = (i * 13) % h, r = Math.min(w, h) / 4;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const inDisc = (x - cx) ** 2 + (y - cy) ** 2 < r * r;
        const rgb = [inDisc ? 220 : 30 + 40 * k, inDisc ? 60 : 120, Math.floor((x * 255) / w)];
        for (let ch = 0; ch < c; ch++) raw[(y * w + x) * c + ch] = c === 1 ? (inDisc ? 230 : 40 + 50 * k) : rgb[ch]!;
      }
    const fmt = spec.format ?? 'png';
    // Without 'b-w', sharp stores a 1-channel image as RGB.
    const img = sharp(raw, { raw: { width: w, height: h, channels: c } });
    await (c === 1 ? img.toColourspace('b-w') : img)[fmt]().toFile(join(sub, `img${String(i).padStart(4, '0')}.${fmt === 'jpeg' ? 'jpg' : fmt}`));
  }
  return dir;
}
