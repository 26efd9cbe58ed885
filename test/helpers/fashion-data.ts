// Fashion-MNIST for end-to-end tests: the Debian package's copy when installed, otherwise a
// small synthetic set in the same IDX format (discs of random place and size), so command
// tests also run where the dataset is absent.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeIdx } from '../../src/data/idx.js';
import { Rng } from '../../src/util/random.js';
import { tempDir } from './tmp.js';

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
export const HAVE_FASHION = existsSync(join(FASHION_DIR, 'train-images-idx3-ubyte.gz'));

export function fashionDataDir(trainCount = 3000, testCount = 500): string {
  if (HAVE_FASHION) return FASHION_DIR;
  const dir = tempDir('latentkit-data-');
  const rng = new Rng(5);
  for (const [stem, n] of [['train', trainCount], ['t10k', testCount]] as const) {
    const px = new Uint8Array(n * 784);
    for (let i = 0; i < n; i++) {
      const cx = 8 + rng.int(12), cy = 8 + rng.int(12), r = 4 + rng.int(5);
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) px[i * 784 + y * 28 + x] = (x - cx) ** 2 + (y - cy) ** 2 < r * r ? 200 : 0;
    }
    writeIdx(join(dir, `${stem}-images-idx3-ubyte.gz`), { shape: [n, 28, 28], data: px });
    writeIdx(join(dir, `${stem}-labels-idx1-ubyte.gz`), { shape: [n], data: new Uint8Array(n).map(() => rng.int(10)) });
  }
  return dir;
}
