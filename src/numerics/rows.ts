// Row-major matrices as flat Float32Arrays: picking rows, standardising columns.

/** Rows `idx` of a row-major matrix, copied into one array. */
export function gatherRows(x: Float32Array, width: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * width);
  for (let k = 0; k < idx.length; k++) out.set(x.subarray(idx[k]! * width, (idx[k]! + 1) * width), k * width);
  return out;
}

/** Column-wise standardisation fitted on the training rows (constant columns are left centred). */
export function standardise(train: Float32Array, test: Float32Array, width: number): [Float32Array, Float32Array] {
  const n = train.length / width;
  const mean = new Float64Array(width), sd = new Float64Array(width);
  for (let i = 0; i < n; i++) for (let j = 0; j < width; j++) mean[j]! += train[i * width + j]!;
  for (let j = 0; j < width; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < width; j++) sd[j]! += (train[i * width + j]! - mean[j]!) ** 2;
  const inv = Float64Array.from(sd, (v) => { const s = Math.sqrt(v / n); return s > 1e-8 ? 1 / s : 1; });
  const f = (x: Float32Array) => {
    const out = new Float32Array(x.length);
    for (let k = 0, j = 0; k < x.length; k++, j = j + 1 === width ? 0 : j + 1) out[k] = (x[k]! - mean[j]!) * inv[j]!;
    return out;
  };
  return [f(train), f(test)];
}

