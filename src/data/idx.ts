// IDX: the MNIST file format. Header = 0x00 0x00 <dtype> <ndims>, then ndims big-endian
// uint32 dims, then the elements in big-endian order. Files are often gzipped.
import { readFileSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { writeFileAtomic } from '../util/atomic.js';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: IdxData;
}

interface DTypeInfo {
  code: number;
  name: IdxDType;
  size: number;
}

const DTYPES: DTypeInfo[] = [
  { code: 0x08, name: 'uint8', size: 1 },
  { code: 0x09, name: 'int8', size: 1 },
  { code: 0x0b, name: 'int16', size: 2 },
  { code: 0x0c, name: 'int32', size: 4 },
  { code: 0x0d, name: 'float32', size: 4 },
  { code: 0x0e, name: 'float64', size: 8 },
];

// More dims than this is certainly not an IDX file; it keeps garbage from reading huge headers.
const MAX_DIMS = 16;
// Deflate's largest expansion (zlib technical details: 1032:1).
const MAX_DEFLATE_RATIO = 1032;

/** Read an IDX file (plain or gzip, detected by content rather than by name). */
export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  // The bytes are ours: uint8 data can be a view of them instead of a copy.
  return parseIdx(bytes, path, { owned: true });
}

/**
 * Gunzip IDX bytes, never inflating past the size the header declares (a gzip bomb stops
 * there): the header comes from the first compressed kilobytes, then the whole stream is
 * inflated with that size as zlib's maxOutputLength.
 */
function gunzipCapped(gz: Uint8Array, name: string): Uint8Array {
  let head: Uint8Array;
  try {
    head = gunzipSync(gz.subarray(0, 4096), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 1 << 24 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw new Error(`${name}: corrupt gzip data: ${(e as Error).message}`);
    head = new Uint8Array(0);
  }
  const info = DTYPES.find((d) => d.code === head[2]);
  const ndims = head[3] ?? 0;
  // Not a readable IDX header: inflate a little and let the parser say what is wrong.
  const headerOk = head.length >= 4 + 4 * ndims && info && ndims > 0 && ndims <= MAX_DIMS;
  let declared = 4096;
  if (headerOk) {
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    declared = 4 + 4 * ndims;
    let count = 1;
    for (let i = 0; i < ndims; i++) count *= view.getUint32(4 + 4 * i, false);
    declared += count * info.size;
  }
  try {
    // One byte more than declared, so trailing data is still reported as such by the parser.
    // One output chunk of that size: zlib's default 16 KiB chunks are concatenated at the end,
    // a transient second copy of the data (with a tuned allocator it stays resident: +70 MB of
    // peak RSS loading Fashion-MNIST's training images). The chunk is allocated up front, so a
    // header is believed only as far as the compressed bytes can reach (deflate inflates at
    // most ~1032:1): a tiny file declaring gigabytes allocates a little and is reported.
    const cap = Math.min(declared + 1, bufferConstants.MAX_LENGTH);
    const reachable = gz.length * MAX_DEFLATE_RATIO + 1024;
    return gunzipSync(gz, { maxOutputLength: cap, chunkSize: Math.max(Math.min(cap, reachable), constants.Z_MIN_CHUNK) });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new Error(`${name}: gzip data inflates to more than the ${declared} bytes its header declares; not a valid IDX file`);
    throw new Error(`${name}: corrupt gzip data: ${(e as Error).message}`);
  }
}

/** Parse IDX bytes; `name` is used in error messages (normally the file path). */
export function parseIdx(bytes: Uint8Array, name = '<idx>', opts: { owned?: boolean } = {}): IdxArray {
  let owned = opts.owned ?? false;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = gunzipCapped(bytes, name);
    owned = true;
  }
  if (bytes.length < 4) {
    throw new Error(`${name}: truncated: file has ${bytes.length} bytes, too short for the 4-byte IDX magic`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${name}: not an IDX file: bad magic ${hex(bytes.subarray(0, 4))} (expected 00 00 <dtype> <ndims>)`);
  }
  const info = DTYPES.find((d) => d.code === bytes[2]);
  if (!info) {
    throw new Error(`${name}: not an IDX file: unknown dtype byte 0x${bytes[2]!.toString(16).padStart(2, '0')}`);
  }
  const ndims = bytes[3]!;
  if (ndims === 0 || ndims > MAX_DIMS) {
    throw new Error(`${name}: not an IDX file: implausible number of dimensions ${ndims}`);
  }
  const headerLen = 4 + 4 * ndims;
  if (bytes.length < headerLen) {
    throw new Error(`${name}: truncated: header needs ${headerLen} bytes for ${ndims} dims but file has ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndims; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const dataLen = count * info.size;
  const have = bytes.length - headerLen;
  if (have !== dataLen) {
    const what = have < dataLen ? 'truncated' : 'trailing bytes';
    throw new Error(
      `${name}: ${what}: header says ${shape.join('x')} ${info.name} (${dataLen} bytes) but file has ${have}`,
    );
  }
  return { dtype: info.name, shape, data: decode(view, headerLen, count, info, owned) };
}

// Multi-byte IDX values are big-endian: each is read and written through a DataView.
type Access = { array: new (n: number) => IdxData; read: (v: DataView, at: number) => number; write: (v: DataView, at: number, x: number) => void };
const ACCESS: Record<IdxDType, Access> = {
  uint8: { array: Uint8Array, read: (v, at) => v.getUint8(at), write: (v, at, x) => v.setUint8(at, x) },
  int8: { array: Int8Array, read: (v, at) => v.getInt8(at), write: (v, at, x) => v.setInt8(at, x) },
  int16: { array: Int16Array, read: (v, at) => v.getInt16(at, false), write: (v, at, x) => v.setInt16(at, x, false) },
  int32: { array: Int32Array, read: (v, at) => v.getInt32(at, false), write: (v, at, x) => v.setInt32(at, x, false) },
  float32: { array: Float32Array, read: (v, at) => v.getFloat32(at, false), write: (v, at, x) => v.setFloat32(at, x, false) },
  float64: { array: Float64Array, read: (v, at) => v.getFloat64(at, false), write: (v, at, x) => v.setFloat64(at, x, false) },
};

function decode(view: DataView, off: number, count: number, info: DTypeInfo, owned: boolean): IdxData {
  const src = new Uint8Array(view.buffer, view.byteOffset + off, count * info.size);
  // A view only of bytes we own (read or inflated here); never alias a caller's buffer.
  if (info.name === 'uint8') return owned ? src : new Uint8Array(src);
  if (info.name === 'int8') return new Int8Array(src.slice().buffer);
  const { array, read } = ACCESS[info.name];
  const out = new array(count);
  for (let i = 0; i < count; i++) out[i] = read(view, off + info.size * i);
  return out;
}

function dtypeOf(data: IdxData): DTypeInfo {
  const name: IdxDType =
    data instanceof Uint8Array
      ? 'uint8'
      : data instanceof Int8Array
        ? 'int8'
        : data instanceof Int16Array
          ? 'int16'
          : data instanceof Int32Array
            ? 'int32'
            : data instanceof Float32Array
              ? 'float32'
              : 'float64';
  return DTYPES.find((d) => d.name === name)!;
}

/** Encode an array as IDX bytes (the dtype follows the typed array's type). */
export function encodeIdx(arr: { shape: number[]; data: IdxData }): Uint8Array {
  const info = dtypeOf(arr.data);
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (count !== arr.data.length) {
    throw new Error(`encodeIdx: shape ${arr.shape.join('x')} has ${count} elements but data has ${arr.data.length}`);
  }
  if (arr.shape.length === 0 || arr.shape.length > MAX_DIMS) {
    throw new Error(`encodeIdx: IDX needs 1..${MAX_DIMS} dims, got ${arr.shape.length}`);
  }
  const headerLen = 4 + 4 * arr.shape.length;
  const out = new Uint8Array(headerLen + count * info.size);
  const view = new DataView(out.buffer);
  out[2] = info.code;
  out[3] = arr.shape.length;
  arr.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const d = arr.data;
  const { write } = ACCESS[info.name];
  for (let i = 0; i < count; i++) write(view, headerLen + i * info.size, d[i]!);
  return out;
}

/** Write an IDX file atomically; a path ending in .gz is gzipped. */
export function writeIdx(path: string, arr: { shape: number[]; data: IdxData }): void {
  const raw = encodeIdx(arr);
  writeFileAtomic(path, path.endsWith('.gz') ? gzipSync(raw) : raw);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}
