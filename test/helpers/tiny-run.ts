// A tiny trained run for the embed / search / anomaly / compress / serve tests: one epoch on
// 500 images (about a second). Real Fashion-MNIST when installed, else a small synthetic set in
// the same format.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { trainImageAutoencoder } from '../../src/tasks/image/train.js';
import { writeIdx } from '../../src/data/idx.js';
import { Rng } from '../../src/util/random.js';
import { tempDir } from './tmp.js';

export const tmp = (prefix = 'latentkit-emb-') => tempDir(prefix);

let cachedData: string | undefined;

/** A folder with the four Fashion-MNIST files: the real ones, or synthetic blobs (10 classes). */
export function testDataDir(): string {
  if (cachedData) return cachedData;
  if (existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz')) return (cachedData = '/usr/share/datasets/fashion-mnist');
  const dir = tmp('latentkit-data-');
  const rng = new Rng(5);
  for (const [stem, n] of [['train', 3000], ['t10k', 2000]] as const) {
    const px = new Uint8Array(n * 784);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      // The class sets the blob's size and brightness, so codes carry some label information.
      const c = rng.int(10);
      labels[i] = c;
      const cx = 8 + rng.int(12), cy = 8 + rng.int(12), r = 3 + (c % 5) + rng.int(2);
      const v = 120 + 13 * c;
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) px[i * 784 + y * 28 + x] = (x - cx) ** 2 + (y - cy) ** 2 < r * r ? v : 0;
    }
    writeIdx(join(dir, `${stem}-images-idx3-ubyte.gz`), { shape: [n, 28, 28], data: px });
    writeIdx(join(dir, `${stem}-labels-idx1-ubyte.gz`), { shape: [n], data: labels });
  }
  return (cachedData = dir);
}

/**
 * Train for one epoch on 500 images; returns the run folder. The default preset is 'cnn' (a
 * linear bottleneck): after so little training the chapter's ReLU bottleneck is often all
 * zeros, which would make every neighbour search a tie.
 */
export async function tinyRun(opts: { preset?: string; limitTrain?: number; epochs?: number } = {}): Promise<string> {
  const out = join(tmp('latentkit-run-'), 'run');
  await trainImageAutoencoder({ preset: opts.preset ?? 'cnn', dataDir: testDataDir(), limitTrain: opts.limitTrain ?? 500, limitValid: 200, epochs: opts.epochs ?? 1, out, progress: false, log: () => {} });
  return out;
}
