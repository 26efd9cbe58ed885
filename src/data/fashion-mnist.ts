// Finding and loading Fashion-MNIST. Looks in the places a user is likely to have put it,
// downloads (checksummed) only as a last resort, and otherwise fails with ONE error that
// says everywhere it looked and every way to fix it.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomicAsync } from '../util/atomic.js';
import type { ImageSet } from './dataset.js';
import { readIdx } from './idx.js';

export type Split = 'train' | 'test';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export const FASHION_MNIST_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';
/** Where Debian's dataset-fashion-mnist package installs the files. */
export const SYSTEM_DIR = '/usr/share/datasets/fashion-mnist';

/** File stems (without .gz) per split. */
export const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/** MD5 of the official gzipped files. */
export const OFFICIAL_MD5: Record<string, string> = {
  'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
  'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
  't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
  't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
};

export interface FashionMnistOptions {
  /** Folder holding the files (or a folder with a fashion-mnist/ subfolder). Searched first. */
  dataDir?: string;
  /** Download into the cache when nothing else has the files (default true). */
  download?: boolean;
  /**
   * Also search LATENTKIT_DATA, /usr/share/datasets/fashion-mnist and the default cache
   * (default true). Set false to make the search depend only on explicit options.
   */
  searchSystem?: boolean;
  /** Cache folder for downloads; default $XDG_CACHE_HOME/latentkit/fashion-mnist or ~/.cache/…. */
  cacheDir?: string;
  /** Environment to read LATENTKIT_DATA / XDG_CACHE_HOME from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Base URL of the files (default the official source). */
  baseUrl?: string;
  /** MD5 per gzipped file name, for a mirror whose files differ (default OFFICIAL_MD5). */
  md5?: Record<string, string>;
  /** fetch implementation (default global fetch). */
  fetch?: typeof fetch;
  /** Abort a download when no bytes arrive for this long (default 30000 ms). */
  idleTimeoutMs?: number;
  onProgress?: (p: { file: string; received: number; total?: number }) => void;
}

export interface FashionMnistLocation {
  dir: string;
  source: 'dataDir' | 'env' | 'system' | 'cache' | 'download';
  /** Resolved path per file stem (gzipped or plain, whichever exists). */
  files: Record<string, string>;
}

export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'latentkit', 'fashion-mnist');
}

function stemsFor(splits: readonly Split[]): string[] {
  return splits.flatMap((s) => [FILES[s].images, FILES[s].labels]);
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

// Either the resolved files, or the reason this folder does not qualify.
function probe(dir: string, stems: string[]): Record<string, string> | string {
  if (!isDir(dir)) return existsSync(dir) ? 'not a directory' : 'no such directory';
  const files: Record<string, string> = {};
  const missing: string[] = [];
  for (const stem of stems) {
    const found = [`${stem}.gz`, stem].map((f) => join(dir, f)).find((p) => existsSync(p));
    if (found) files[stem] = found;
    else missing.push(`${stem}[.gz]`);
  }
  return missing.length ? `missing ${missing.join(', ')}` : files;
}

/**
 * Find the Fashion-MNIST files for `splits` (default both), in this order: opts.dataDir,
 * $LATENTKIT_DATA, /usr/share/datasets/fashion-mnist, the user cache, then a download into
 * the cache. A given folder may hold the files directly or in a fashion-mnist/ subfolder.
 */
export async function locateFashionMnist(
  opts: FashionMnistOptions & { splits?: readonly Split[] } = {},
): Promise<FashionMnistLocation> {
  const env = opts.env ?? process.env;
  const system = opts.searchSystem !== false;
  const stems = stemsFor(opts.splits ?? ['train', 'test']);
  const searched: string[] = [];

  const tryDir = (label: string, dir: string, source: FashionMnistLocation['source']) => {
    const r = probe(dir, stems);
    if (typeof r !== 'string') return { dir, source, files: r };
    searched.push(`${label} ${dir}: ${r}`);
    return undefined;
  };
  const tryRoot = (label: string, dir: string, source: FashionMnistLocation['source']) =>
    tryDir(label, dir, source) ??
    (isDir(join(dir, 'fashion-mnist')) ? tryDir(label, join(dir, 'fashion-mnist'), source) : undefined);

  let found: FashionMnistLocation | undefined;
  if (opts.dataDir) found = tryRoot('dataDir', opts.dataDir, 'dataDir');
  else searched.push('dataDir / --data-dir: not given');
  if (!found && system) {
    if (env.LATENTKIT_DATA) found = tryRoot('LATENTKIT_DATA', env.LATENTKIT_DATA, 'env');
    else searched.push('LATENTKIT_DATA: not set');
  }
  if (!found && system) found = tryDir('system', SYSTEM_DIR, 'system');
  const cacheDir = opts.cacheDir ?? (system ? defaultCacheDir(env) : undefined);
  if (!found && cacheDir) found = tryDir('cache', cacheDir, 'cache');
  if (found) return found;

  if (opts.download === false) {
    searched.push('download: disabled (download: false)');
  } else if (!cacheDir) {
    searched.push('download: no cache folder to download into (searchSystem: false and no cacheDir)');
  } else {
    try {
      const files = await downloadInto(cacheDir, stems, opts);
      return { dir: cacheDir, source: 'download', files };
    } catch (e) {
      searched.push(`download into ${cacheDir} failed: ${(e as Error).message}`);
    }
  }
  throw new Error(notFoundMessage(searched, cacheDir ?? defaultCacheDir(env)));
}

function notFoundMessage(searched: string[], cacheDir: string): string {
  return [
    'Fashion-MNIST data not found.',
    'Searched:',
    ...searched.map((s) => `  - ${s}`),
    'Fix it with any one of:',
    `  - --data-dir DIR (CLI) or { dataDir: DIR } (API): a folder holding ${FILES.train.images}.gz,`,
    `    ${FILES.train.labels}.gz, ${FILES.test.images}.gz and ${FILES.test.labels}.gz (.gz optional)`,
    '  - LATENTKIT_DATA=DIR in the environment, DIR as above',
    `  - apt-get install dataset-fashion-mnist   (Debian/Ubuntu; installs to ${SYSTEM_DIR})`,
    `  - the online download from ${FASHION_MNIST_URL} (needs internet and download enabled;`,
    `    files are checksummed and cached in ${cacheDir})`,
  ].join('\n');
}

async function downloadInto(dir: string, stems: string[], opts: FashionMnistOptions): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const stem of stems) {
    const existing = [`${stem}.gz`, stem].map((f) => join(dir, f)).find((p) => existsSync(p));
    if (existing) {
      files[stem] = existing;
      continue;
    }
    const name = `${stem}.gz`;
    const bytes = await fetchFile(name, opts);
    const want = (opts.md5 ?? OFFICIAL_MD5)[name];
    const got = createHash('md5').update(bytes).digest('hex');
    if (want && got !== want) throw new Error(`${name}: checksum mismatch: md5 ${got}, expected ${want}`);
    files[stem] = join(dir, name);
    await writeFileAtomicAsync(files[stem]!, bytes);
  }
  return files;
}

async function fetchFile(name: string, opts: FashionMnistOptions): Promise<Uint8Array> {
  const base = opts.baseUrl ?? FASHION_MNIST_URL;
  const url = base.endsWith('/') ? base + name : `${base}/${name}`;
  const doFetch = opts.fetch ?? fetch;
  const ctrl = new AbortController();
  const idleMs = opts.idleTimeoutMs ?? 30_000;
  // An idle timer rather than a total one: big files on slow links are fine, stalls are not.
  let timer = setTimeout(() => ctrl.abort(), idleMs);
  const kick = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctrl.abort(), idleMs);
  };
  try {
    const res = await doFetch(url, { signal: ctrl.signal });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    const total = Number(res.headers.get('content-length')) || undefined;
    if (!res.body) throw new Error('empty response');
    const chunks: Uint8Array[] = [];
    let received = 0;
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      kick();
      chunks.push(value);
      received += value.length;
      opts.onProgress?.({ file: name, received, total });
    }
    return Buffer.concat(chunks);
  } catch (e) {
    const err = e as Error & { cause?: { message?: string } };
    const why = ctrl.signal.aborted ? `no data for ${idleMs} ms` : err.message;
    const cause = err.cause?.message ? ` (${err.cause.message})` : '';
    throw new Error(`${url}: ${why}${cause}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Load one split as float32 NCHW images in [0, 1] (pixel / 255) with uint8 labels. */
export async function loadFashionMnist(
  split: Split,
  opts: FashionMnistOptions & { limit?: number } = {},
): Promise<ImageSet> {
  const loc = await locateFashionMnist({ ...opts, splits: [split] });
  const imgPath = loc.files[FILES[split].images]!;
  const lblPath = loc.files[FILES[split].labels]!;
  const img = readIdx(imgPath);
  const lbl = readIdx(lblPath);
  if (img.dtype !== 'uint8' || img.shape.length !== 3 || img.shape[1] !== 28 || img.shape[2] !== 28) {
    throw new Error(`${imgPath}: expected uint8 Nx28x28 images, got ${img.dtype} ${img.shape.join('x')}`);
  }
  if (lbl.dtype !== 'uint8' || lbl.shape.length !== 1) {
    throw new Error(`${lblPath}: expected uint8 labels of shape N, got ${lbl.dtype} ${lbl.shape.join('x')}`);
  }
  if (lbl.shape[0] !== img.shape[0]) {
    throw new Error(`${lblPath}: ${lbl.shape[0]} labels but ${imgPath} has ${img.shape[0]} images`);
  }
  const total = img.shape[0]!;
  const limit = opts.limit;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 0)) {
    throw new Error(`loadFashionMnist: limit must be a non-negative integer, got ${limit}`);
  }
  const n = limit === undefined ? total : Math.min(limit, total);
  const labels = (lbl.data as Uint8Array).slice(0, n);
  const bad = labels.findIndex((l) => l >= FASHION_MNIST_CLASSES.length);
  if (bad >= 0) throw new Error(`${lblPath}: label ${labels[bad]} at index ${bad} is not a class 0..9`);
  const px = img.data as Uint8Array;
  const images = new Float32Array(n * 28 * 28);
  for (let i = 0; i < images.length; i++) images[i] = px[i]! / 255;
  return { images, labels, n, shape: [1, 28, 28], classNames: [...FASHION_MNIST_CLASSES] };
}

/** Options for a user-given folder: an explicit --data-dir is authoritative (no fallbacks). */
export function dataSource(dataDir: string | undefined): FashionMnistOptions {
  return dataDir ? { dataDir, searchSystem: false, download: false } : {};
}
