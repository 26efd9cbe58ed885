// Load the user's own images (PNG/JPEG) into the same ImageSet shape as Fashion-MNIST, so
// everything downstream (datasets, loaders, figures) works unchanged on custom data.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { ImageSet } from './dataset.js';

export interface ImageFolderOptions {
  /** Output [height, width]; every image is resized to it. */
  size: [number, number];
  /** One channel (default true) or three (RGB). */
  grayscale?: boolean;
  /**
   * How to fit a differently shaped image (default 'fill': stretch, like torchvision's
   * Resize((h, w)); 'cover' crops, 'contain' letterboxes with black).
   */
  fit?: 'fill' | 'cover' | 'contain';
  /** File extensions to read (default .png .jpg .jpeg, any case). */
  extensions?: string[];
  /** Decode at most this many images at once (default 8). */
  concurrency?: number;
}

const DEFAULT_EXTS = ['.png', '.jpg', '.jpeg'];

/**
 * Read `dir` as a dataset. Images directly in `dir` get label 0 and no class names; if
 * `dir` instead has subfolders of images, each subfolder (sorted by name) is a class.
 * Files are sorted by name so the order (and thus any seeded split) is reproducible.
 */
export async function loadImageFolder(dir: string, opts: ImageFolderOptions): Promise<ImageSet> {
  const [h, w] = opts.size;
  if (!(Number.isInteger(h) && h > 0 && Number.isInteger(w) && w > 0)) {
    throw new Error(`loadImageFolder: size must be two positive integers, got [${opts.size}]`);
  }
  const exts = (opts.extensions ?? DEFAULT_EXTS).map((e) => e.toLowerCase());
  const { files, labels, classNames } = listImages(dir, exts);
  if (files.length === 0) {
    throw new Error(`${dir}: no images found (looked for ${exts.join(' ')} files, directly or in class subfolders)`);
  }
  const c = opts.grayscale === false ? 3 : 1;
  const size = c * h * w;
  const images = new Float32Array(files.length * size);
  const { default: sharp } = await import('sharp');

  const decodeOne = async (i: number) => {
    const file = files[i]!;
    let data: Buffer;
    let channels: number;
    try {
      // flatten() composites any alpha onto black so transparent pixels are well defined.
      let p = sharp(file).resize(w, h, { fit: opts.fit ?? 'fill' }).flatten();
      p = c === 1 ? p.grayscale() : p.toColourspace('srgb');
      const out = await p.raw().toBuffer({ resolveWithObject: true });
      data = out.data;
      channels = out.info.channels;
    } catch (e) {
      throw new Error(`${file}: cannot read image: ${(e as Error).message}`);
    }
    if (channels !== c || data.length !== h * w * c) {
      throw new Error(`${file}: decoded to ${channels} channels / ${data.length} bytes, expected ${c} / ${h * w * c}`);
    }
    // sharp gives interleaved HWC bytes; the dataset layout is planar CHW floats.
    const base = i * size;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) images[base + ch * h * w + y * w + x] = data[(y * w + x) * c + ch]! / 255;
      }
    }
  };

  const concurrency = Math.max(1, opts.concurrency ?? 8);
  let next = 0;
  let failed = false;
  const worker = async () => {
    try {
      while (!failed && next < files.length) await decodeOne(next++);
    } catch (e) {
      failed = true; // stop the other workers: the first error is the answer
      throw e;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return { images, labels: Uint8Array.from(labels), n: files.length, shape: [c, h, w], classNames };
}

function listImages(dir: string, exts: string[]): { files: string[]; labels: number[]; classNames: string[] } {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new Error(`${dir}: cannot list image folder: ${(e as Error).message}`);
  }
  const visible = entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => cmp(a.name, b.name));
  const isImage = (name: string) => exts.includes(extname(name).toLowerCase());
  const isDirEntry = (name: string) => statSync(join(dir, name)).isDirectory(); // follows symlinks
  const top = visible.filter((e) => !isDirEntry(e.name) && isImage(e.name)).map((e) => join(dir, e.name));
  const classDirs = visible
    .filter((e) => isDirEntry(e.name))
    .map((e) => ({ name: e.name, files: readdirSync(join(dir, e.name)).filter((f) => !f.startsWith('.') && isImage(f)) }))
    .filter((d) => d.files.length > 0);

  if (classDirs.length === 0) return { files: top, labels: top.map(() => 0), classNames: [] };
  if (top.length > 0) {
    throw new Error(`${dir}: mixes images (${top.length}) with class subfolders; put every image in a class subfolder`);
  }
  if (classDirs.length > 256) throw new Error(`${dir}: ${classDirs.length} class folders; at most 256 fit uint8 labels`);
  const files: string[] = [];
  const labels: number[] = [];
  classDirs.forEach((d, label) => {
    for (const f of d.files.sort(cmp)) {
      files.push(join(dir, d.name, f));
      labels.push(label);
    }
  });
  return { files, labels, classNames: classDirs.map((d) => d.name) };
}

// Plain code-unit order: locale-independent, so the same folder gives the same order everywhere.
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
