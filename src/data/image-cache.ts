// Image folders larger than memory: decoded once, a chunk at a time by a small pool of
// concurrent sharp decodes, into a uint8 file (a quarter of float32's size), which training then
// reads one batch at a time. Memory holds one chunk while decoding and one batch while training.
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TensorDataset } from './dataset.js';
import { ImageDecodeError, inPool, readImageFile } from './image-file.js';
import { listImageFolder } from './image-folder.js';

export interface CachedFolder {
  /** The uint8 CHW file, n images back to back. */
  path: string;
  n: number;
  shape: [number, number, number];
  labels: Uint8Array;
  classNames: string[];
  /** With skipBad: "file: reason" for each image left out. */
  skipped: string[];
  /** The images as a dataset reading from the file (one open descriptor; see close()). */
  dataset: TensorDataset;
  /** Close the file and delete it. */
  close(): void;
}

export interface CacheOptions {
  skipBad?: boolean;
  /** Concurrent decodes (default 8). */
  concurrency?: number;
  /** Images decoded per chunk (default 256). */
  chunk?: number;
  /** Called after each chunk with images done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** Decode `dir` at `shape` into `path` (same images, order and labels as loadImageFolder). */
export async function cacheImageFolder(dir: string, shape: readonly number[], path: string, o: CacheOptions = {}): Promise<CachedFolder> {
  const [c, h, w] = shape as [number, number, number];
  const size = c * h * w;
  const { files, labels, classNames } = listImageFolder(dir);
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w+');
  const kept: number[] = [];
  const skipped: string[] = [];
  const chunk = o.chunk ?? 256;
  try {
    for (let start = 0; start < files.length; start += chunk) {
      const count = Math.min(chunk, files.length - start);
      const decoded: (Uint8Array | undefined)[] = new Array(count);
      await inPool(count, o.concurrency ?? 8, async (k) => {
        try {
          const x = await readImageFile(files[start + k]!, shape);
          decoded[k] = Uint8Array.from(x, (v) => Math.round(v * 255)); // the reader's values are bytes / 255
        } catch (e) {
          if (!(o.skipBad && e instanceof ImageDecodeError)) throw e;
          skipped.push((e as Error).message);
        }
      });
      for (let k = 0; k < count; k++) {
        if (!decoded[k]) continue;
        writeSync(fd, decoded[k]!, 0, size, kept.length * size);
        kept.push(start + k);
      }
      o.onProgress?.(start + count, files.length);
    }
  } catch (e) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw e;
  }
  if (!kept.length) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw new Error(`${dir}: none of the ${files.length} images could be decoded (first: ${skipped.sort()[0]})`);
  }
  const n = kept.length;
  const keptLabels = Uint8Array.from(kept, (i) => labels[i]!);
  let open = true;
  const scratch = new Uint8Array(size);
  const dataset: TensorDataset = {
    length: n,
    sampleShape: [c, h, w],
    labels: keptLabels,
    gather(indices, out) {
      if (!open) throw new Error(`${path}: the image cache is closed`);
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k]!;
        if (!(i >= 0 && i < n)) throw new RangeError(`image cache: index ${i} out of range [0, ${n})`);
        readSync(fd, scratch, 0, size, i * size);
        for (let j = 0; j < size; j++) out[k * size + j] = scratch[j]! / 255;
      }
    },
  };
  return {
    path,
    n,
    shape: [c, h, w],
    labels: keptLabels,
    classNames,
    skipped: skipped.sort(),
    dataset,
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
      rmSync(path, { force: true });
    },
  };
}
