import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FILES, loadFashionMnist, locateFashionMnist, SYSTEM_DIR } from '../../src/data/fashion-mnist.js';
import { encodeIdx, writeIdx } from '../../src/data/idx.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('latentkit-fm-');
after(() => rmSync(root, { recursive: true, force: true }));

const hasSystem = existsSync(join(SYSTEM_DIR, `${FILES.train.images}.gz`));
// Only explicit options count: no env, no system folder, no default cache.
const isolated = { searchSystem: false, download: false, env: {} } as const;

/** Write a tiny fake split: image i has every pixel = (i * 40 + pixel) % 256. */
function writeFake(dir: string, split: 'train' | 'test', n: number, labels: number[], gz = true) {
  const px = new Uint8Array(n * 28 * 28).map((_, k) => (Math.floor(k / 784) * 40 + (k % 784)) % 256);
  const ext = gz ? '.gz' : '';
  writeIdx(join(dir, FILES[split].images + ext), { shape: [n, 28, 28], data: px });
  writeIdx(join(dir, FILES[split].labels + ext), { shape: [n], data: Uint8Array.from(labels) });
  return px;
}

describe('loadFashionMnist from the Debian package', { skip: !hasSystem && `${SYSTEM_DIR} not installed` }, () => {
  const opts = { env: {}, cacheDir: join(root, 'unused-cache'), download: false };

  test('locates the system folder when nothing else is configured', async () => {
    const loc = await locateFashionMnist(opts);
    assert.equal(loc.source, 'system');
    assert.equal(loc.dir, SYSTEM_DIR);
  });

  for (const [split, n] of [['train', 60000], ['test', 10000]] as const) {
    test(`${split}: ${n} images in [0,1], labels 0..9, balanced classes`, async () => {
      const d = await loadFashionMnist(split, opts);
      assert.equal(d.n, n);
      assert.deepEqual(d.shape, [1, 28, 28]);
      assert.equal(d.images.length, n * 784);
      assert.equal(d.labels.length, n);
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of d.images) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      assert.equal(lo, 0);
      assert.equal(hi, 1);
      const counts = new Array(10).fill(0);
      for (const l of d.labels) counts[l]++;
      assert.deepEqual(counts, new Array(10).fill(n / 10)); // Fashion-MNIST is exactly balanced
      assert.equal(d.labels[0], 9); // first image of both splits is an ankle boot
      assert.equal(d.classNames[9], 'Ankle boot');
      // Every value is a whole number of 1/255 steps.
      for (let i = 0; i < 5000; i++) assert.ok(Math.abs(d.images[i]! * 255 - Math.round(d.images[i]! * 255)) < 1e-4);
    });
  }

  test('limit takes the first N', async () => {
    const full = await loadFashionMnist('test', opts);
    const few = await loadFashionMnist('test', { ...opts, limit: 7 });
    assert.equal(few.n, 7);
    assert.deepEqual(few.images, full.images.subarray(0, 7 * 784));
    assert.deepEqual(few.labels, full.labels.subarray(0, 7));
  });
});

describe('loadFashionMnist from explicit folders', () => {
  test('dataDir with gzipped files: pixels are byte/255, labels kept', async () => {
    const dir = join(root, 'gz');
    const px = writeFake(dir, 'test', 3, [4, 0, 9]);
    const d = await loadFashionMnist('test', { ...isolated, dataDir: dir });
    assert.equal(d.n, 3);
    assert.deepEqual(Array.from(d.labels), [4, 0, 9]);
    for (const k of [0, 1, 783, 784, 2000, 3 * 784 - 1]) assert.equal(d.images[k], Math.fround(px[k]! / 255));
  });

  test('un-gzipped names, a fashion-mnist/ subfolder, and LATENTKIT_DATA all work', async () => {
    const base = join(root, 'plain-root');
    const dir = join(base, 'fashion-mnist');
    writeFake(dir, 'train', 2, [1, 2], false);
    const viaSub = await loadFashionMnist('train', { ...isolated, dataDir: base });
    assert.deepEqual(Array.from(viaSub.labels), [1, 2]);
    const loc = await locateFashionMnist({ download: false, env: { LATENTKIT_DATA: dir }, cacheDir: join(root, 'c0'), splits: ['train'] });
    assert.equal(loc.source, 'env');
    assert.equal(loc.files[FILES.train.images], join(dir, FILES.train.images));
  });

  test('dataDir wins over LATENTKIT_DATA', async () => {
    const a = join(root, 'first');
    const b = join(root, 'second');
    writeFake(a, 'test', 1, [3]);
    writeFake(b, 'test', 1, [7]);
    const d = await loadFashionMnist('test', { dataDir: a, env: { LATENTKIT_DATA: b }, download: false });
    assert.deepEqual(Array.from(d.labels), [3]);
  });

  test('a label outside 0..9 or a non-28x28 image file is rejected naming the file', async () => {
    const dir = join(root, 'badlabel');
    writeFake(dir, 'test', 2, [1, 12]);
    await assert.rejects(loadFashionMnist('test', { ...isolated, dataDir: dir }), (e: Error) =>
      e.message.includes(join(dir, `${FILES.test.labels}.gz`)) && /label 12/.test(e.message),
    );
    const dir2 = join(root, 'badshape');
    writeIdx(join(dir2, `${FILES.test.images}.gz`), { shape: [1, 10, 10], data: new Uint8Array(100) });
    writeIdx(join(dir2, `${FILES.test.labels}.gz`), { shape: [1], data: new Uint8Array(1) });
    await assert.rejects(loadFashionMnist('test', { ...isolated, dataDir: dir2 }), /1x10x10/);
  });
});

describe('missing data', () => {
  test('one error lists every fix and every place searched', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await assert.rejects(loadFashionMnist('train', { ...isolated, dataDir: empty }), (e: Error) => {
      for (const s of ['--data-dir DIR', 'LATENTKIT_DATA=DIR', 'apt-get install dataset-fashion-mnist', 'download']) {
        assert.ok(e.message.includes(s), `missing "${s}" in:\n${e.message}`);
      }
      assert.ok(e.message.includes(`${empty}: missing ${FILES.train.images}[.gz]`), e.message);
      assert.match(e.message, /download: disabled/);
      return true;
    });
  });

  test('bad dataDir and LATENTKIT_DATA fall through to the Debian folder, or are reported', async () => {
    const opts = {
      dataDir: join(root, 'nowhere2'),
      env: { LATENTKIT_DATA: join(root, 'nowhere') },
      cacheDir: join(root, 'c1'),
      download: false,
    };
    if (hasSystem) {
      assert.equal((await locateFashionMnist(opts)).source, 'system');
    } else {
      await assert.rejects(locateFashionMnist(opts), (e: Error) => {
        assert.ok(e.message.includes(`dataDir ${join(root, 'nowhere2')}: no such directory`), e.message);
        assert.ok(e.message.includes(`LATENTKIT_DATA ${join(root, 'nowhere')}: no such directory`), e.message);
        assert.ok(e.message.includes(`system ${SYSTEM_DIR}: no such directory`), e.message);
        return true;
      });
    }
  });
});

describe('download', () => {
  const names = [FILES.test.images, FILES.test.labels].map((s) => `${s}.gz`);
  const bodies: Record<string, Uint8Array> = {
    [names[0]!]: gzipSync(encodeIdx({ shape: [2, 28, 28], data: new Uint8Array(2 * 784).fill(255) })),
    [names[1]!]: gzipSync(encodeIdx({ shape: [2], data: Uint8Array.from([5, 6]) })),
  };
  const md5 = Object.fromEntries(names.map((n) => [n, createHash('md5').update(bodies[n]!).digest('hex')]));
  const requested: string[] = [];
  const fakeFetch = (async (url: string | URL | Request) => {
    const u = String(url);
    requested.push(u);
    const body = bodies[u.slice(u.lastIndexOf('/') + 1)];
    return body ? new Response(Uint8Array.from(body)) : new Response('nope', { status: 404, statusText: 'Not Found' });
  }) as typeof fetch;

  test('downloads into the cache with checksums, then reuses the cache', async () => {
    const cacheDir = join(root, 'dl-cache');
    const opts = { searchSystem: false, env: {}, cacheDir, baseUrl: 'http://mirror.test/fm', md5, fetch: fakeFetch };
    // Searching the system folder is off, so even with the Debian package this downloads.
    const d = await loadFashionMnist('test', opts);
    assert.deepEqual(Array.from(d.labels), [5, 6]);
    assert.equal(d.images[0], 1);
    assert.deepEqual(requested, names.map((n) => `http://mirror.test/fm/${n}`));
    assert.deepEqual(readdirSync(cacheDir).sort(), [...names].sort()); // no temp files left over
    requested.length = 0;
    const again = await locateFashionMnist({ ...opts, splits: ['test'] });
    assert.equal(again.source, 'cache');
    assert.equal(requested.length, 0);
  });

  test('a checksum mismatch fails cleanly and writes nothing', async () => {
    const cacheDir = join(root, 'dl-bad');
    const bad = { ...md5, [names[0]!]: '0'.repeat(32) };
    await assert.rejects(
      loadFashionMnist('test', { searchSystem: false, env: {}, cacheDir, md5: bad, fetch: fakeFetch }),
      (e: Error) => /checksum mismatch/.test(e.message) && e.message.includes('apt-get install dataset-fashion-mnist'),
    );
    assert.equal(existsSync(join(cacheDir, names[0]!)), false);
  });

  test('the official checksums are enforced by default', async () => {
    const cacheDir = join(root, 'dl-official');
    await assert.rejects(
      loadFashionMnist('test', { searchSystem: false, env: {}, cacheDir, fetch: fakeFetch }),
      /checksum mismatch: md5 [0-9a-f]{32}, expected bef4ecab320f06d8554ea6380940ec79/,
    );
  });

  test('HTTP errors and unreachable hosts end in the not-found error', async () => {
    const cacheDir = join(root, 'dl-404');
    await assert.rejects(
      loadFashionMnist('train', { searchSystem: false, env: {}, cacheDir, fetch: fakeFetch }),
      (e: Error) => /HTTP 404 Not Found/.test(e.message) && e.message.includes('--data-dir DIR'),
    );
    // Real fetch against a closed local port: fails fast without leaving this machine.
    await assert.rejects(
      loadFashionMnist('test', { searchSystem: false, env: {}, cacheDir, baseUrl: 'http://127.0.0.1:1/' }),
      (e: Error) => e.message.includes('http://127.0.0.1:1/t10k-') && e.message.includes('LATENTKIT_DATA=DIR'),
    );
  });
});
