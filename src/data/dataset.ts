// The smallest dataset contract the trainer needs: a length, a per-sample shape, and a way
// to copy chosen samples into a caller-owned batch buffer (so batching never allocates).

export interface TensorDataset {
  readonly length: number;
  /** Shape of one sample, e.g. [1, 28, 28]. */
  readonly sampleShape: readonly number[];
  /** Copy samples `indices` back to back into `out` (which holds at least indices.length samples). */
  gather(indices: ArrayLike<number>, out: Float32Array): void;
  /** Optional integer label per sample, indexed like the dataset. */
  readonly labels?: ArrayLike<number>;
}

/** What the image loaders return: N images in NCHW float32 in [0, 1], plus labels. */
export interface ImageSet {
  images: Float32Array;
  labels: Uint8Array;
  n: number;
  /** [channels, height, width] of one image. */
  shape: [number, number, number];
  classNames: string[];
}

export function sampleSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A dataset over one flat Float32Array holding `length` samples of `sampleShape`. */
export function arrayDataset(
  data: Float32Array,
  sampleShape: readonly number[],
  labels?: ArrayLike<number>,
): TensorDataset {
  const size = sampleSize(sampleShape);
  if (size === 0 || data.length % size !== 0) {
    throw new Error(`arrayDataset: data length ${data.length} is not a multiple of sample size ${size}`);
  }
  const length = data.length / size;
  if (labels && labels.length !== length) {
    throw new Error(`arrayDataset: ${labels.length} labels for ${length} samples`);
  }
  return {
    length,
    sampleShape: [...sampleShape],
    labels,
    gather(indices, out) {
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k]!;
        if (!(i >= 0 && i < length)) throw new RangeError(`arrayDataset: index ${i} out of range [0, ${length})`);
        out.set(data.subarray(i * size, (i + 1) * size), k * size);
      }
    },
  };
}

/** A TensorDataset over an ImageSet (Fashion-MNIST or an image folder). */
export function imageSetDataset(set: ImageSet): TensorDataset {
  return arrayDataset(set.images, set.shape, set.labels);
}

/** A view of `base` restricted to `indices` (e.g. one part of randomSplit). */
export function subset(base: TensorDataset, indices: ArrayLike<number>): TensorDataset {
  const map = Int32Array.from(indices);
  for (const i of map) {
    if (i < 0 || i >= base.length) throw new RangeError(`subset: index ${i} out of range [0, ${base.length})`);
  }
  const baseLabels = base.labels;
  const labels = baseLabels ? Int32Array.from(map, (i) => baseLabels[i]!) : undefined;
  let scratch = new Int32Array(0);
  return {
    length: map.length,
    sampleShape: base.sampleShape,
    labels,
    gather(indices, out) {
      // Translate into base indices in a reused scratch array: gather runs once per batch.
      if (scratch.length < indices.length) scratch = new Int32Array(indices.length);
      const idx = scratch.subarray(0, indices.length);
      for (let k = 0; k < indices.length; k++) {
        const i = indices[k]!;
        if (!(i >= 0 && i < map.length)) throw new RangeError(`subset: index ${i} out of range [0, ${map.length})`);
        idx[k] = map[i]!;
      }
      base.gather(idx, out);
    },
  };
}
