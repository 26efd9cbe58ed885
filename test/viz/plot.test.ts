import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PNG } from 'pngjs';
import { formatTick, lossCurvesPng, lossCurvesSvg, niceTicks } from '../../src/viz/plot.js';

const x = Array.from({ length: 20 }, (_, i) => i + 1);
const series = [
  { name: 'train', x, y: x.map((i) => 1 / i) },
  { name: 'valid <ema>', x, y: x.map((i) => 1.2 / i) },
];

function paths(svg: string) {
  return [...svg.matchAll(/<path class="series" data-name="([^"]*)" d="([^"]*)"/g)].map((m) => ({ name: m[1]!, d: m[2]! }));
}
function points(d: string) {
  return [...d.matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
}

describe('lossCurvesSvg', () => {
  test('one path per series, inside the plot area, with a legend entry each', () => {
    const svg = lossCurvesSvg(series, { title: 'Loss', xLabel: 'epoch', yLabel: 'MSE', width: 500, height: 300 });
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="500" height="300"/);
    assert.equal((svg.match(/<path/g) ?? []).length, 2);
    const ps = paths(svg);
    assert.deepEqual(ps.map((p) => p.name), ['train', 'valid &#60;ema&#62;']); // names are XML-escaped
    assert.ok(!svg.includes('<ema>'));
    for (const p of ps) {
      const pts = points(p.d);
      assert.equal(pts.length, 20);
      for (const [px, py] of pts) assert.ok(px >= 0 && px <= 500 && py >= 0 && py <= 300, `${px},${py}`);
      // Loss falls, so SVG y (downwards) grows along the path; x grows left to right.
      assert.ok(pts[19]![1] > pts[0]![1] && pts[19]![0] > pts[0]![0]);
    }
    for (const s of ['Loss', 'epoch', 'MSE', '>train</text>', '>valid &#60;ema&#62;</text>']) assert.ok(svg.includes(s), s);
    // The highest value (1.2) must fall inside the y ticks, whose labels are nice numbers.
    const yt = [...svg.matchAll(/class="ytick"[^>]*>([^<]*)</g)].map((m) => Number(m[1]));
    assert.ok(yt.length >= 3);
    assert.ok(Math.max(...yt) >= 1.2 && Math.min(...yt) <= 1 / 20);
  });

  test('log y: decade ticks, non-positive and NaN points break the line', () => {
    const svg = lossCurvesSvg([{ name: 'a', x: [1, 2, 3, 4, 5], y: [1, 0.1, NaN, 0.01, 0] }], { logY: true });
    const yt = [...svg.matchAll(/class="ytick"[^>]*>([^<]*)</g)].map((m) => m[1]);
    assert.deepEqual(yt, ['0.01', '0.1', '1']);
    const [p] = paths(svg);
    assert.equal((p!.d.match(/M/g) ?? []).length, 2); // NaN splits the line in two
    assert.equal(points(p!.d).length, 3); // the zero is skipped on a log axis
    assert.match(p!.d, /h0$/); // the lone point after the gap is drawn as a dot
  });

  test('degenerate input still draws a valid chart', () => {
    const one = lossCurvesSvg([{ name: 'a', x: [3], y: [0.5] }]);
    assert.equal(points(paths(one)[0]!.d).length, 1);
    const none = lossCurvesSvg([]);
    assert.equal((none.match(/<path/g) ?? []).length, 0);
    assert.throws(() => lossCurvesSvg([{ name: 'bad', x: [1, 2], y: [1] }]), /"bad" has 2 x but 1 y/);
  });

  test('tick helpers', () => {
    assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(3, 47, 4), [10, 20, 30, 40]);
    assert.deepEqual(niceTicks(0.1, 0.35, 5), [0.1, 0.15, 0.2, 0.25, 0.3, 0.35]);
    assert.equal(formatTick(0.30000000000000004), '0.3');
    assert.equal(formatTick(0.0001), '1e-4');
    assert.equal(formatTick(250000), '2.5e5');
    assert.equal(formatTick(0), '0');
  });
});

describe('lossCurvesPng', () => {
  test('rasterises to a PNG of the requested size with the series colours', async () => {
    const buf = await lossCurvesPng(series, { width: 320, height: 200, title: 'Loss' });
    const png = PNG.sync.read(buf);
    assert.deepEqual([png.width, png.height], [320, 200]);
    let blue = 0;
    let orange = 0;
    for (let i = 0; i < png.data.length; i += 4) {
      const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
      if (b > 150 && r < 80) blue++; // tab10 blue #1f77b4
      if (r > 200 && g > 90 && g < 160 && b < 60) orange++; // tab10 orange #ff7f0e
    }
    assert.ok(blue > 50 && orange > 50, `blue ${blue}, orange ${orange}`);
    assert.deepEqual([...png.data.subarray(0, 4)], [255, 255, 255, 255]); // white, opaque background
  });
});
