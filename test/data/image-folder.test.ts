import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { folderImageShape, loadImageFolder } from '../../src/data/image-folder.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('latentkit-imgs-');
after(() => rmSync(root, { recursive: true, force: true }));

async function writeImage(path: string, w: number, h: number, channels: 1 | 3, fill: (x: number, y: number, c: number) => number) {
  const raw = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) raw[(y * w + x) * channels + c] = fill(x, y, c);
  const gray = sharp(raw, { raw: { width: w, height: h, channels } });
  const img = channels === 1 ? gray.toColourspace('b-w') : gray;
  mkdirSync(join(path, '..'), { recursive: true });
  await (path.endsWith('.png') ? img.png() : img.jpeg({ quality: 95 })).toFile(path);
}

describe('loadImageFolder', () => {
  test('flat folder: exact gray values in file-name order, label 0', async () => {
    const dir = join(root, 'flat');
    await writeImage(join(dir, 'b.png'), 4, 3, 1, (x, y) => 10 * (y * 4 + x));
    await writeImage(join(dir, 'a.png'), 4, 3, 1, () => 255);
    writeFileSync(join(dir, 'notes.txt'), 'not an image, ignored');
    const d = await loadImageFolder(dir, { size: [3, 4] });
    assert.equal(d.n, 2);
    assert.deepEqual(d.shape, [1, 3, 4]);
    assert.deepEqual(Array.from(d.labels), [0, 0]);
    assert.deepEqual(d.classNames, []);
    assert.ok(d.images.subarray(0, 12).every((v) => v === 1)); // a.png first
    assert.deepEqual(Array.from(d.images.subarray(12), (v) => Math.round(v * 255)), Array.from({ length: 12 }, (_, i) => 10 * i));
  });

  test('class subfolders become labels; images are resized; JPEG works', async () => {
    const dir = join(root, 'classes');
    await writeImage(join(dir, 'cat', '1.png'), 8, 8, 1, () => 200);
    await writeImage(join(dir, 'cat', '2.jpg'), 10, 6, 1, () => 128);
    await writeImage(join(dir, 'ant', 'x.PNG'), 5, 5, 1, () => 0);
    mkdirSync(join(dir, 'empty-class'));
    const d = await loadImageFolder(dir, { size: [4, 4] });
    assert.deepEqual(d.classNames, ['ant', 'cat']); // sorted; folders without images are not classes
    assert.deepEqual(Array.from(d.labels), [0, 1, 1]);
    assert.equal(d.images.length, 3 * 16);
    const px = (i: number) => Array.from(d.images.subarray(i * 16, i * 16 + 16), (v) => Math.round(v * 255));
    assert.ok(px(0).every((v) => v === 0));
    assert.ok(px(1).every((v) => v === 200));
    assert.ok(px(2).every((v) => Math.abs(v - 128) <= 2), `jpeg ${px(2)}`); // lossy codec
  });

  test('grayscale: false gives planar RGB (CHW)', async () => {
    const dir = join(root, 'rgb');
    await writeImage(join(dir, 'red-left.png'), 2, 2, 3, (x, _y, c) => (c === 0 && x === 0 ? 255 : c === 2 ? 51 : 0));
    const d = await loadImageFolder(dir, { size: [2, 2], grayscale: false });
    assert.deepEqual(d.shape, [3, 2, 2]);
    const bytes = Array.from(d.images, (v) => Math.round(v * 255));
    assert.deepEqual(bytes, [255, 0, 255, 0, /* G */ 0, 0, 0, 0, /* B */ 51, 51, 51, 51]);
  });

  test('bad images (0 bytes, truncated, text named .png) are one-line errors naming the file; skipBad counts them', async () => {
    const dir = join(root, 'broken');
    await writeImage(join(dir, 'good.png'), 8, 8, 3, (x, y, c) => (x * 30 + y * 7 + c * 50) % 256);
    const good = readFileSync(join(dir, 'good.png'));
    const cases: Record<string, Buffer | string> = { 'empty.png': Buffer.alloc(0), 'text.png': 'this is not a png', 'truncated.png': good.subarray(0, Math.floor(good.length / 2)) };
    for (const [name, bytes] of Object.entries(cases)) {
      const one = join(root, `broken-${name}`);
      mkdirSync(one, { recursive: true });
      writeFileSync(join(one, 'a-good.png'), good);
      writeFileSync(join(one, name), bytes);
      await assert.rejects(loadImageFolder(one, { size: [4, 4] }), (e: Error) => {
        assert.ok(e.message.startsWith(`${join(one, name)}: `), e.message);
        assert.doesNotMatch(e.message, /\n/);
        return true;
      });
      writeFileSync(join(dir, name), bytes);
    }
    const d = await loadImageFolder(dir, { size: [4, 4], grayscale: false, skipBad: true });
    assert.equal(d.n, 1);
    assert.deepEqual(d.files, [join(dir, 'good.png')]);
    assert.equal(d.skipped.length, 3);
    assert.match(d.skipped[0]!, /empty\.png: empty file \(0 bytes\)/);
  });

  test('WebP is read; the default shape is the first image\'s size, colour if any image is', async () => {
    const dir = join(root, 'webp');
    await writeImage(join(dir, 'a.png'), 6, 4, 1, () => 90);
    const raw = Buffer.alloc(5 * 5 * 3, 200);
    await sharp(raw, { raw: { width: 5, height: 5, channels: 3 } }).webp({ lossless: true }).toFile(join(dir, 'b.webp'));
    const d = await loadImageFolder(dir, { size: [4, 6] });
    assert.equal(d.n, 2);
    assert.ok(d.images.subarray(24).every((v) => Math.round(v * 255) === 200));
    assert.deepEqual(await folderImageShape(dir), [3, 4, 6]);
    assert.deepEqual(await folderImageShape(join(root, 'flat')), [1, 3, 4]);
  });

  test('empty, missing, or mixed folders are clear errors', async () => {
    const empty = join(root, 'none');
    mkdirSync(empty);
    await assert.rejects(loadImageFolder(empty, { size: [2, 2] }), /no images found/);
    await assert.rejects(loadImageFolder(join(root, 'missing'), { size: [2, 2] }), /cannot list image folder/);
    const mixed = join(root, 'mixed');
    await writeImage(join(mixed, 'top.png'), 2, 2, 1, () => 0);
    await writeImage(join(mixed, 'cls', 'a.png'), 2, 2, 1, () => 0);
    await assert.rejects(loadImageFolder(mixed, { size: [2, 2] }), /mixes images/);
    await assert.rejects(loadImageFolder(mixed, { size: [0, 2] }), /positive integers/);
  });
});
