import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import { heatmapPng, imageGridPng, reconstructionFigure, savePng } from '../../src/viz/png.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('latentkit-png-');
after(() => rmSync(dir, { recursive: true, force: true }));

function decode(buf: Buffer) {
  const png = PNG.sync.read(buf);
  const at = (x: number, y: number) => Array.from(png.data.subarray((y * png.width + x) * 4, (y * png.width + x) * 4 + 3));
  return { width: png.width, height: png.height, colorType: buf[25], at };
}

describe('imageGridPng', () => {
  test('gray grid: size, layout, scaling, clamping and padding', () => {
    // 3 images 2x2: image i has pixels [i*0.25, 0.5, -1 (clamps to 0), 2 (clamps to 1)].
    const imgs = new Float32Array(12);
    for (let i = 0; i < 3; i++) imgs.set([i * 0.25, 0.5, -1, 2], i * 4);
    const buf = imageGridPng(imgs, { n: 3, channels: 1, height: 2, width: 2, cols: 2, scale: 3, pad: 1, background: 1 });
    const p = decode(buf);
    assert.equal(p.colorType, 0); // grayscale PNG
    assert.equal(p.width, 2 * 6 + 3); // cols*cellW + (cols+1)*pad
    assert.equal(p.height, 2 * 6 + 3); // 2 rows
    assert.deepEqual(p.at(0, 0), [255, 255, 255]); // border pad
    // Image 1 sits in row 0, column 1: x from 1+6+1 = 8, y from 1; scale 3 → each pixel a 3x3 block.
    assert.deepEqual(p.at(8, 1), [64, 64, 64]); // 0.25 → 64
    assert.deepEqual(p.at(10, 3), [64, 64, 64]);
    assert.deepEqual(p.at(11, 1), [128, 128, 128]); // 0.5
    assert.deepEqual(p.at(8, 4), [0, 0, 0]); // -1 clamped
    assert.deepEqual(p.at(13, 6), [255, 255, 255]); // 2 clamped
    assert.deepEqual(p.at(7, 1), [255, 255, 255]); // gap between cells
    // Image 2 in row 1, column 0; the empty 4th cell stays background.
    assert.deepEqual(p.at(1, 8), [128, 128, 128]); // 2*0.25 = 0.5
    assert.deepEqual(p.at(10, 10), [255, 255, 255]);
  });

  test('RGB reads planar CHW input', () => {
    // One 1x2 image: pixel 0 red, pixel 1 blue.
    const img = Float32Array.from([1, 0, /* G */ 0, 0, /* B */ 0, 1]);
    const buf = imageGridPng(img, { n: 1, channels: 3, height: 1, width: 2, cols: 1, pad: 0 });
    const p = decode(buf);
    assert.equal(p.colorType, 2);
    assert.deepEqual([p.width, p.height], [2, 1]);
    assert.deepEqual(p.at(0, 0), [255, 0, 0]);
    assert.deepEqual(p.at(1, 0), [0, 0, 255]);
  });

  test('rows limits how many images are drawn; labels add an inked strip', () => {
    const imgs = new Float32Array(6 * 16).fill(1);
    const plain = decode(imageGridPng(imgs, { n: 6, channels: 1, height: 4, width: 4, cols: 3, rows: 1, pad: 0 }));
    assert.deepEqual([plain.width, plain.height], [12, 4]);
    const lab = decode(
      imageGridPng(new Float32Array(64).fill(1), { n: 1, channels: 1, height: 4, width: 16, cols: 1, pad: 0, background: 1, labels: ['AB'] }),
    );
    assert.equal(lab.height, 4 + 7); // 5px glyphs + 2px spacing
    let ink = 0;
    for (let y = 4; y < lab.height; y++) for (let x = 0; x < lab.width; x++) if (lab.at(x, y)[0] === 0) ink++;
    // 'A' (25755) and 'B' (65656) each set 10 pixels of the 3x5 font.
    assert.equal(ink, 20);
  });

  test('bad arguments are rejected', () => {
    assert.throws(() => imageGridPng(new Float32Array(3), { n: 1, channels: 1, height: 2, width: 2, cols: 1 }), /need 4 values/);
    assert.throws(() => imageGridPng(new Float32Array(4), { n: 1, channels: 2 as 1, height: 2, width: 2, cols: 1 }), /channels/);
  });
});

describe('reconstructionFigure', () => {
  test('originals on the top row, reconstructions underneath', () => {
    const n = 3;
    const orig = new Float32Array(n * 4).fill(0);
    const rec = new Float32Array(n * 4).fill(1);
    const p = decode(reconstructionFigure(orig, rec, { n, h: 2, w: 2, scale: 2, pad: 1, background: 0.5 }));
    assert.deepEqual([p.width, p.height], [3 * 4 + 4, 2 * 4 + 3]);
    for (let c = 0; c < n; c++) {
      const x = 1 + c * 5;
      assert.deepEqual(p.at(x, 1), [0, 0, 0], `original ${c}`);
      assert.deepEqual(p.at(x + 3, 4), [0, 0, 0]);
      assert.deepEqual(p.at(x, 6), [255, 255, 255], `reconstruction ${c}`);
    }
    assert.deepEqual(p.at(0, 0), [128, 128, 128]);
  });
});

describe('heatmapPng and savePng', () => {
  test('viridis endpoints and scaling', () => {
    const p = decode(heatmapPng([0, 5, 10, 10], { height: 2, width: 2, scale: 2 }));
    assert.deepEqual([p.width, p.height], [4, 4]);
    assert.deepEqual(p.at(0, 0), [0x44, 0x01, 0x54]); // min → viridis start
    assert.deepEqual(p.at(3, 3), [0xfd, 0xe7, 0x25]); // max → viridis end
    assert.deepEqual(p.at(2, 0), [0x21, 0x91, 0x8c]); // middle
    const g = decode(heatmapPng([0, 1], { height: 1, width: 2, colormap: 'gray', min: 0, max: 2 }));
    assert.deepEqual(g.at(1, 0), [128, 128, 128]);
  });

  test('savePng writes the exact bytes atomically into new folders', () => {
    const buf = heatmapPng([1, 2, 3], { height: 1, width: 3 });
    const path = join(dir, 'figs', 'sub', 'h.png');
    savePng(path, buf);
    assert.deepEqual(readFileSync(path), buf);
    assert.deepEqual(readdirSync(join(dir, 'figs', 'sub')), ['h.png']); // no temp file left
  });
});
