// The images of an image run: which dataset it trained on (Fashion-MNIST or a folder), at which
// input shape [C, H, W], on which classes. Training picks these once and records them in the
// run's config.json; every command that reads the run loads its images through here, so they
// all see the same shape, the same train/held-out split and the same classes.
import type { ImageSet } from './dataset.js';
import { dataSource, FASHION_MNIST_CLASSES, loadFashionMnist, type Split } from './fashion-mnist.js';
import { checkImageShape, conformImages } from './image-file.js';
import { folderImageShape, listImageFolder, loadImageFolder } from './image-folder.js';
import { randomSplit } from './loader.js';

export const FASHION_MNIST_SHAPE: [number, number, number] = [1, 28, 28];

/** What a run's config.json says about its images (keys written by `latentkit train`). */
export interface RunImageConfig {
  /** 'fashion-mnist' or 'images:DIR'. */
  dataset?: string;
  /** Class indices the run trained on (absent: every class). */
  classes?: number[];
  seed?: number;
  skipBad?: boolean;
}

/** The image folder of a dataset string, or undefined for Fashion-MNIST. */
export function imageFolderOf(dataset: string | undefined): string | undefined {
  return dataset?.startsWith('images:') ? dataset.slice('images:'.length) : undefined;
}

/**
 * The input shape of a new run: --image-size and --channels where given; the rest from the
 * images (a folder's first image size, 3 channels if any image is in colour; Fashion-MNIST
 * 1x28x28) for presets built for any shape, else from the preset (seed-cnn: 1x28x28).
 */
export async function chooseImageShape(o: { images?: string; imageSize?: [number, number]; channels?: number; presetShape: number[]; anyShape: boolean }): Promise<[number, number, number]> {
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3) throw new Error(`--channels: expected 1 or 3, got ${o.channels}`);
  const given = o.imageSize && o.channels !== undefined;
  const found = given ? FASHION_MNIST_SHAPE : !o.anyShape ? checkImageShape(o.presetShape, 'the preset input') : o.images ? await folderImageShape(o.images) : FASHION_MNIST_SHAPE;
  return [o.channels ?? found[0], ...(o.imageSize ?? [found[1], found[2]])] as [number, number, number];
}

const normName = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * `--classes 7` / `--classes sneaker,ankle-boot` -> class indices. Names match ignoring case
 * and punctuation ("ankle-boot" = "Ankle boot"); numbers are indices.
 */
export function parseClasses(spec: string, classNames: readonly string[], where = '--classes'): number[] {
  const out = spec.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    if (/^\d+$/.test(s)) {
      const i = Number(s);
      if (i >= classNames.length) throw new Error(`${where}: class ${i} does not exist; classes are 0..${classNames.length - 1} (${classNames.join(', ')})`);
      return i;
    }
    const i = classNames.findIndex((c) => normName(c) === normName(s));
    if (i < 0) throw new Error(`${where}: no class "${s}"; the classes are ${classNames.map((c, k) => `${k} ${c}`).join(', ')}`);
    return i;
  });
  if (!out.length) throw new Error(`${where}: no class given in "${spec}"`);
  return [...new Set(out)].sort((a, b) => a - b);
}

/** Class names of a dataset string (Fashion-MNIST's, or a folder's subfolders). */
export function datasetClassNames(dataset: string | undefined): string[] {
  const dir = imageFolderOf(dataset);
  return dir ? listImageFolder(dir).classNames : [...FASHION_MNIST_CLASSES];
}

/** The images of `set` whose label is in `classes`. */
export function selectClasses(set: ImageSet, classes: readonly number[] | undefined): ImageSet {
  if (!classes) return set;
  const keep = new Set(classes);
  const ids: number[] = [];
  for (let i = 0; i < set.n; i++) if (keep.has(set.labels[i]!)) ids.push(i);
  return pickImages(set, ids);
}

/** The first n images of a set (all of them when n is undefined or larger). */
export function firstImages(set: ImageSet, n: number | undefined): ImageSet {
  return n === undefined || n >= set.n ? set : pickImages(set, Array.from({ length: n }, (_, i) => i));
}

export function pickImages(set: ImageSet, ids: ArrayLike<number>): ImageSet {
  const n = ids.length;
  const size = set.shape[0] * set.shape[1] * set.shape[2];
  const images = new Float32Array(n * size);
  const labels = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const i = ids[k]!;
    images.set(set.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = set.labels[i]!;
  }
  return { images, labels, n, shape: set.shape, classNames: set.classNames };
}

export interface FolderSplit {
  train: ImageSet;
  /** The held-out 10% (what commands call the test split of a folder run). */
  test: ImageSet;
  /** Images left out by skipBad ("file: reason"). */
  skipped: string[];
}

/** A folder decoded at `shape` and split 90/10 by the run's seed (the same split every time). */
export async function imageFolderSplit(dir: string, shape: readonly number[], seed: number, skipBad = false): Promise<FolderSplit> {
  const [c, h, w] = checkImageShape(shape, 'the run input');
  const all = await loadImageFolder(dir, { size: [h, w], grayscale: c === 1, skipBad });
  if (all.n < 2) throw new Error(`${dir}: need at least 2 images to split into train and held-out, found ${all.n}`);
  const { train, test } = folderSplitIndices(all.n, seed);
  return { train: pickImages(all, train), test: pickImages(all, test), skipped: all.skipped };
}

/** The seeded 90/10 split of a folder's n decoded images (positions in folder order). */
export function folderSplitIndices(n: number, seed: number): { train: Int32Array; test: Int32Array } {
  const nTest = Math.max(1, Math.round(n * 0.1));
  const [test, train] = randomSplit(n, [nTest, n - nTest], seed);
  return { train: train!, test: test! };
}

export interface RunImagesOptions {
  /** 'train' (the images it trained on) or 'test' (Fashion-MNIST's test split, a folder's held-out 10%). */
  split?: Split;
  /** The first N images (after the class selection). */
  limit?: number;
  dataDir?: string;
  /** 'run' (default): only the classes the run trained on; 'all': every class (anomaly detection). */
  classes?: 'run' | 'all';
}

/** Images of a run's dataset at its input shape. */
export async function loadRunImages(config: RunImageConfig, inputShape: readonly number[], o: RunImagesOptions = {}): Promise<ImageSet> {
  const split = o.split ?? 'test';
  const classes = o.classes === 'all' ? undefined : config.classes;
  const dir = imageFolderOf(config.dataset);
  let set: ImageSet;
  if (dir) {
    set = (await imageFolderSplit(dir, inputShape, config.seed ?? 0, config.skipBad))[split];
    set = selectClasses(set, classes);
  } else {
    // Read only as many as needed when no class selection has to look further.
    set = selectClasses(await loadFashionMnist(split, { ...dataSource(o.dataDir), limit: classes ? undefined : o.limit }), classes);
  }
  return conformSet(firstImages(set, o.limit), inputShape);
}

/** An ImageSet brought to `shape` by the reader's resize rule (no copy when it already fits). */
export async function conformSet(set: ImageSet, shape: readonly number[]): Promise<ImageSet> {
  const to = checkImageShape(shape);
  if (set.shape.join(',') === to.join(',')) return set;
  return { ...set, images: await conformImages(set.images, set.n, set.shape, to), shape: to };
}
