// Weight and data files read by the reference rules: safetensors offsets contiguous, non
// overlapping and covering the data exactly, dtypes that match the parameter, errors naming the
// file and the tensor; gzip IDX decompression capped at the size its header declares.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx, readIdx } from '../../src/data/idx.js';
import { ConvAutoencoder } from '../../src/models/conv-autoencoder.js';
import { decodeSafetensors, encodeSafetensors, loadSafetensors } from '../../src/nn/safetensors.js';
import { tempDir } from '../helpers/tmp.js';

/** A safetensors file with a hand-written header over `data` bytes. */
function rawSafetensors(header: Record<string, unknown>, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  Buffer.from(data).copy(out, 8 + json.length);
  return out;
}

const f32 = (shape: number[], b: number, e: number) => ({ dtype: 'F32', shape, data_offsets: [b, e] });

test('safetensors: overlapping, aliased, gapped, out-of-order-covered or trailing data is refused, naming the file and tensor', () => {
  const cases: [string, Record<string, unknown>, number, RegExp][] = [
    ['aliased', { a: f32([2], 0, 8), b: f32([2], 0, 8) }, 8, /tensor "b".*overlaps/],
    ['overlapping', { a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12, /tensor "b".*overlaps/],
    ['gap', { a: f32([2], 0, 8), b: f32([2], 12, 20) }, 20, /tensor "b".*gap of 4 bytes/],
    ['gap at start', { a: f32([2], 4, 12) }, 12, /tensor "a".*gap of 4 bytes/],
    ['trailing', { a: f32([2], 0, 8) }, 12, /4 trailing bytes after the last tensor/],
    ['metadata not strings', { __metadata__: { x: 1 }, a: f32([2], 0, 8) }, 8, /__metadata__.*string/],
  ];
  for (const [what, header, size, want] of cases) {
    const buf = rawSafetensors(header, new Uint8Array(size));
    assert.throws(() => decodeSafetensors(buf, '/x/w.safetensors'), (e: Error) => {
      assert.match(e.message, /^\/x\/w\.safetensors: /, what);
      assert.match(e.message, want, what);
      return true;
    });
  }
  // Tensors listed out of order but covering the data exactly are fine (the reference sorts by offset).
  const ok = decodeSafetensors(rawSafetensors({ b: f32([1], 4, 8), a: f32([1], 0, 4) }, new Uint8Array(8)), 'ok');
  assert.deepEqual([...ok.tensors.keys()].sort(), ['a', 'b']);
  assert.throws(() => decodeSafetensors(Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a":')]), '/x/bad.safetensors'), /\/x\/bad\.safetensors: .*header is not JSON/);
});

test('an I64 tensor for a float parameter is an error naming the file and tensor, not a BigInt crash', () => {
  const model = new ConvAutoencoder(4);
  const sd = new Map(model.stateDict());
  const name = 'encoder.0.weight';
  const w = sd.get(name)!;
  sd.set(name, { data: new BigInt64Array(w.data.length), shape: w.shape, dtype: 'int64' });
  const p = join(tempDir(), 'w.safetensors');
  writeFileSync(p, encodeSafetensors(sd));
  assert.throws(() => model.loadStateDict(loadSafetensors(p).tensors, true, p), (e: Error) => {
    assert.ok(e.message.startsWith(`${p}: `), e.message);
    assert.match(e.message, /encoder\.0\.weight.*int64.*float32/);
    return true;
  });
});

test('a gzip IDX bomb stops at the size its header declares', () => {
  // Header: 10 images of 28x28 (7,840 bytes), followed by 64 MB of zeros that compress to ~64 KB.
  const header = encodeIdx({ shape: [10, 28, 28], data: new Uint8Array(7840) });
  const bomb = gzipSync(Buffer.concat([Buffer.from(header), Buffer.alloc(64 * 2 ** 20)]));
  const p = join(tempDir(), 'bomb-idx3-ubyte.gz');
  writeFileSync(p, bomb);
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(() => readIdx(p), (e: Error) => {
    assert.match(e.message, new RegExp(`${p}: .*more than the 7856 bytes its header declares`));
    return true;
  });
  assert.ok(process.memoryUsage().arrayBuffers - before < 32 * 2 ** 20, 'did not inflate the whole bomb');
  // An honest file still reads.
  const good = join(tempDir(), 'good-idx3-ubyte.gz');
  writeFileSync(good, gzipSync(header));
  assert.deepEqual(readIdx(good).shape, [10, 28, 28]);
  assert.equal(readFileSync(good).length > 0, true);
});
