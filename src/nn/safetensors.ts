// safetensors files (the format PyTorch users exchange weights in): an 8-byte little-endian
// header length, a JSON header of name -> {dtype, shape, data_offsets}, then raw bytes.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import type { StateDict, StateEntry } from './module.js';
import { quote } from '../util/quote.js';

const DTYPES = { F32: 'float32', I64: 'int64' } as const;

export function encodeSafetensors(sd: StateDict, metadata: Record<string, string> = {}): Buffer {
  const names = [...sd.keys()].sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const n of names) {
    const e = sd.get(n)!;
    header[n] = { dtype: e.dtype === 'int64' ? 'I64' : 'F32', shape: e.shape, data_offsets: [offset, offset + e.data.byteLength] };
    offset += e.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let pos = 8 + head.length;
  for (const n of names) {
    const d = sd.get(n)!.data;
    Buffer.from(d.buffer, d.byteOffset, d.byteLength).copy(out, pos);
    pos += d.byteLength;
  }
  return out;
}

export function decodeSafetensors(buf: Buffer, source = '<buffer>'): { tensors: StateDict; metadata: Record<string, string> } {
  const fail = (msg: string): never => {
    throw new Error(`${source}: not a valid safetensors file: ${msg}`);
  };
  if (buf.length < 8) fail('shorter than its 8-byte header length');
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) fail(`header length ${n} exceeds file size ${buf.length}`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch {
    return fail('header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const base = 8 + n;
  const tensors: StateDict = new Map();
  let metadata: Record<string, string> = {};
  const isIndex = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const spans: { name: string; b: number; e: number }[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (info === null || typeof info !== 'object' || Array.isArray(info) || Object.values(info).some((v) => typeof v !== 'string'))
        fail('__metadata__ must map names to string values');
      metadata = info as unknown as Record<string, string>;
      continue;
    }
    const dtype = DTYPES[info?.dtype as keyof typeof DTYPES];
    if (!dtype) fail(`tensor ${quote(name)} has dtype ${quote(info?.dtype)}; only F32 and I64 are supported`);
    if (!Array.isArray(info.shape) || !info.shape.every(isIndex)) fail(`tensor ${name} has an invalid shape ${JSON.stringify(info.shape)}`);
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex)) fail(`tensor ${name} has invalid data_offsets ${JSON.stringify(offsets)}`);
    const [b, e] = offsets;
    if (base + e > buf.length || b > e) fail(`tensor ${name} lies outside the file`);
    const count = info.shape.reduce((p, q) => p * q, 1);
    const width = dtype === 'int64' ? 8 : 4;
    if (e - b !== count * width) fail(`tensor ${name}: shape [${info.shape}] needs ${count * width} bytes, data holds ${e - b}`);
    spans.push({ name, b, e });
    const bytes = buf.subarray(base + b, base + e);
    // Copy into an aligned buffer: a typed-array view needs an aligned offset.
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    const data = dtype === 'int64' ? new BigInt64Array(copy.buffer) : new Float32Array(copy.buffer);
    const entry: StateEntry = { data, shape: info.shape, dtype };
    tensors.set(name, entry);
  }
  checkCoverage(spans, buf.length - base, fail);
  return { tensors, metadata };
}

/**
 * The reference implementation's rule: sorted by offset, tensors tile the data section exactly,
 * from byte 0 to its end, with no overlap (aliasing), gap or trailing bytes.
 */
function checkCoverage(spans: { name: string; b: number; e: number }[], dataBytes: number, fail: (msg: string) => never): void {
  spans.sort((x, y) => x.b - y.b || x.e - y.e);
  let end = 0;
  let prev = '';
  for (const s of spans) {
    if (s.b < end) fail(`tensor ${quote(s.name)} (bytes ${s.b}-${s.e}) overlaps tensor ${quote(prev)} (ends at ${end})`);
    if (s.b > end) fail(`tensor ${quote(s.name)} starts at byte ${s.b}, leaving a gap of ${s.b - end} bytes after ${prev ? `tensor ${quote(prev)}` : 'the header'}`);
    end = s.e;
    prev = s.name;
  }
  if (end < dataBytes) fail(`${dataBytes - end} trailing bytes after the last tensor`);
}

export function loadSafetensors(path: string): { tensors: StateDict; metadata: Record<string, string> } {
  return decodeSafetensors(readFileSync(path), path);
}

export function saveSafetensors(path: string, sd: StateDict, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(sd, metadata));
}
