import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx, readIdx, writeIdx } from '../../src/data/idx.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('latentkit-idx-');
after(() => rmSync(dir, { recursive: true, force: true }));

// A hand-built header, independent of encodeIdx, so the reader is checked against the spec.
function rawIdx(dtype: number, dims: number[], payload: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = dtype;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(payload)]);
}

describe('readIdx', () => {
  test('reads a hand-written uint8 3-d file, plain and gzipped', () => {
    const payload = Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 11) % 256);
    const raw = rawIdx(0x08, [2, 3, 4], payload);
    writeFileSync(join(dir, 'plain-idx3-ubyte'), raw);
    writeFileSync(join(dir, 'zipped-idx3-ubyte.gz'), gzipSync(raw));
    for (const name of ['plain-idx3-ubyte', 'zipped-idx3-ubyte.gz']) {
      const a = readIdx(join(dir, name));
      assert.equal(a.dtype, 'uint8');
      assert.deepEqual(a.shape, [2, 3, 4]);
      assert.ok(a.data instanceof Uint8Array);
      assert.deepEqual(Array.from(a.data), payload);
    }
  });

  test('decodes big-endian multi-byte payloads', () => {
    // int16 [-2, 258] big-endian: ff fe 01 02
    const a = parseIdx(rawIdx(0x0b, [2], [0xff, 0xfe, 0x01, 0x02]), 'x');
    assert.equal(a.dtype, 'int16');
    assert.deepEqual(Array.from(a.data), [-2, 258]);
    // float32 1.5 = 3f c0 00 00
    const f = parseIdx(rawIdx(0x0d, [1], [0x3f, 0xc0, 0, 0]), 'x');
    assert.deepEqual(Array.from(f.data), [1.5]);
  });

  test('round-trips every dtype through writeIdx/readIdx (gz and plain)', () => {
    const cases = [
      new Uint8Array([0, 1, 200, 255, 7, 9]),
      new Int8Array([-128, -1, 0, 1, 100, 127]),
      new Int16Array([-32768, -300, 0, 300, 32767, 5]),
      new Int32Array([-2147483648, -70000, 0, 70000, 2147483647, 1]),
      new Float32Array([-1.5, 0, 0.25, 3.75, 1e-8, -1e8]),
      new Float64Array([Math.PI, -Math.E, 0, 1e-300, 1e300, -0.5]),
    ];
    for (const data of cases) {
      for (const name of ['rt.idx', 'rt.idx.gz']) {
        const p = join(dir, name);
        writeIdx(p, { shape: [2, 3], data });
        const back = readIdx(p);
        assert.deepEqual(back.shape, [2, 3]);
        assert.equal(back.data.constructor, data.constructor);
        assert.deepEqual(Array.from(back.data), Array.from(data));
      }
    }
    // gz is really gzip, plain is really plain.
    writeIdx(join(dir, 'check.gz'), { shape: [1], data: new Uint8Array([5]) });
    assert.equal(readFileSync(join(dir, 'check.gz'))[0], 0x1f);
    writeIdx(join(dir, 'check.idx'), { shape: [1], data: new Uint8Array([5]) });
    assert.deepEqual([...readFileSync(join(dir, 'check.idx'))], [0, 0, 8, 1, 0, 0, 0, 1, 5]);
  });

  test('a truncated file names the file and the expected vs actual size', () => {
    const full = encodeIdx({ shape: [10, 28, 28], data: new Uint8Array(10 * 28 * 28) });
    const p = join(dir, 'train-images-idx3-ubyte.gz');
    writeFileSync(p, gzipSync(full.subarray(0, 1000)));
    assert.throws(
      () => readIdx(p),
      (e: Error) => {
        assert.ok(e.message.includes(p), e.message);
        assert.match(e.message, /truncated/);
        assert.match(e.message, /10x28x28/);
        assert.match(e.message, /7840 bytes/);
        assert.match(e.message, /has 984\b/); // 1000 - 16-byte header
        return true;
      },
    );
  });

  test('a tiny gzip file whose header declares 4 GB is reported as truncated without allocating it', () => {
    const p = join(dir, 'liar-idx3-ubyte.gz');
    writeFileSync(p, gzipSync(rawIdx(0x08, [65536, 256, 256], [1, 2, 3])));
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(() => readIdx(p), (e: Error) => e.message.includes(p) && /truncated/.test(e.message) && /65536x256x256/.test(e.message));
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, 'no buffer near the declared size was allocated');
  });

  test('a file cut inside the header is reported as truncated', () => {
    const p = join(dir, 'short-header');
    writeFileSync(p, Buffer.from([0, 0, 8, 3, 0, 0]));
    assert.throws(() => readIdx(p), (e: Error) => e.message.includes(p) && /truncated/.test(e.message));
  });

  test('extra bytes after the data are rejected', () => {
    const p = join(dir, 'long');
    writeFileSync(p, rawIdx(0x08, [2], [1, 2, 3]));
    assert.throws(() => readIdx(p), (e: Error) => e.message.includes(p) && /trailing bytes/.test(e.message));
  });

  test('bad magic, unknown dtype and garbage are rejected with the file name', () => {
    const bad = [
      ['png-magic', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]), /bad magic 89 50 4e 47/],
      ['dtype', rawIdx(0x0a, [1], [0]), /unknown dtype byte 0x0a/],
      ['zero-dims', Buffer.from([0, 0, 8, 0]), /dimensions 0/],
      ['bad-gzip.gz', Buffer.from([0x1f, 0x8b, 1, 2, 3]), /corrupt gzip/],
    ] as const;
    for (const [name, bytes, re] of bad) {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      assert.throws(() => readIdx(p), (e: Error) => e.message.startsWith(`${p}: `) && re.test(e.message), name);
    }
  });

  test('a missing file error names the path', () => {
    const p = join(dir, 'nope.gz');
    assert.throws(() => readIdx(p), (e: Error) => e.message.startsWith(`${p}: cannot read`));
  });
});
