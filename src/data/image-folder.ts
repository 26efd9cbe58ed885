// Load the user's own images (PNG/JPEG/WebP) into the same ImageSet shape as Fashion-MNIST, so
// everything downstream (datasets, loaders, figures) works unchanged on custom data. Decoding
// is the one reader's (image-file.ts); this module lists folders and classes.
import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { ImageSet } from './dataset.js';
import { IMAGE_EXTENSIONS, ImageDecodeError, inPool, readImageFile, readImageHeader } from './image-file.js';

export interface ImageFolderOptions {
  /** Output [height, width]; every image is stretched to it. */
  size: [number, number];
  /** One channel (default true) or three (RGB). */
  grayscale?: boolean;
  /** File extensions to read (default .png .jpg .jpeg .webp, any case). */
  extensions?: string[];
  /** Decode at most this many images at once (default 8). */
  concurrency?: number;
  /** Leave out images that cannot be decoded (listed in `skipped`) instead of failing on the first. */
  skipBad?: boolean;
}

export interface ImageFolderSet extends ImageSet {
  /** Files decoded, in image order. */
  files: string[];
  /** With skipBad: "file: reason" for each image left out. */
  skipped: string[];
}

/**
 * Read `dir` as a dataset. Images directly in `dir` get label 0 and no class names; if
 * `dir` instead has subfolders of images, each subfolder (sorted by name) is a class.
 * Files are sorted by name so the order (and thus any seeded split) is reproducible.
 */
export async function loadImageFolder(dir: string, opts: ImageFolderOptions): Promise<ImageFolderSet> {
  const [h, w] = opts.size;
  if (!(Number.isInteger(h) && h > 0 && Number.isInteger(w) && w > 0)) {
    throw new Error(`loadImageFolder: size must be two positive integers, got [${opts.size}]`);
  }
  const { files, labels, classNames } = listImageFolder(dir, opts.extensions);
  const c = opts.grayscale === false ? 3 : 1;
  const size = c * h * w;
  const decoded: (Float32Array | undefined)[] = new Array(files.length);
  const skipped: string[] = [];
  await inPool(files.length, opts.concurrency ?? 8, async (i) => {
    try {
      decoded[i] = await readImageFile(files[i]!, [c, h, w]);
    } catch (e) {
      if (!(opts.skipBad && e instanceof ImageDecodeError)) throw e;
      skipped.push((e as Error).message);
    }
  });
  const kept = files.map((_, i) => i).filter((i) => decoded[i]);
  if (kept.length === 0) throw new Error(`${dir}: none of the ${files.length} images could be decoded (first: ${skipped.sort()[0]})`);
  const images = new Float32Array(kept.length * size);
  kept.forEach((i, k) => images.set(decoded[i]!, k * size));
  return {
    images,
    labels: Uint8Array.from(kept, (i) => labels[i]!),
    n: kept.length,
    shape: [c, h, w],
    classNames,
    files: kept.map((i) => files[i]!),
    skipped: skipped.sort(cmp),
  };
}

/** Files of an image folder in their dataset order, with labels and class names. */
export function listImageFolder(dir: string, extensions = IMAGE_EXTENSIONS): { files: string[]; labels: number[]; classNames: string[] } {
  const exts = extensions.map((e) => e.toLowerCase());
  const listed = listImages(dir, exts);
  if (listed.files.length === 0) {
    throw new Error(`${dir}: no images found (looked for ${exts.join(' ')} files, directly or in class subfolders)`);
  }
  return listed;
}

/**
 * Default input shape of a folder: the first image's size, 3 channels if any image is in
 * colour (read from the headers, not the pixels).
 */
export async function folderImageShape(dir: string): Promise<[number, number, number]> {
  const { files } = listImageFolder(dir);
  const first = await readImageHeader(files[0]!);
  let colour = first.colour;
  for (let i = 1; i < files.length && !colour; i++) colour = (await readImageHeader(files[i]!).catch(() => ({ colour: false }))).colour;
  return [colour ? 3 : 1, first.height, first.width];
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
