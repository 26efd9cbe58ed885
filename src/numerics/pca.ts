// Principal component analysis of small-dimensional data (codes, embeddings): the top k
// eigenvectors of the covariance matrix by power iteration with deflation, in float64.
import { Rng } from '../util/random.js';

export interface PcaResult {
  /** Feature count of the input. */
  dim: number;
  /** Per-feature mean that was subtracted. */
  mean: Float64Array;
  /** k unit-length principal axes, row-major [k, dim], by decreasing variance; sign fixed so the largest |entry| is positive. */
  components: Float64Array;
  /** Variance along each axis (eigenvalues of the covariance, divisor n - 1). */
  explainedVariance: number[];
  /** explainedVariance / total variance. */
  explainedVarianceRatio: number[];
}

/**
 * PCA of `n` rows of `dim` values (row-major). Deterministic for a given seed. Suited to dim up
 * to a few hundred (the covariance matrix is formed explicitly).
 */
export function pca(data: ArrayLike<number>, n: number, dim: number, k = 2, opts: { iterations?: number; tol?: number; seed?: number } = {}): PcaResult {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(dim) || dim < 1) throw new Error(`pca: need n >= 1 rows of dim >= 1 values, got n=${n}, dim=${dim}`);
  if (data.length < n * dim) throw new Error(`pca: ${n} rows of ${dim} values need ${n * dim} numbers, got ${data.length}`);
  if (!Number.isInteger(k) || k < 1 || k > dim) throw new Error(`pca: k must be in 1..${dim}, got ${k}`);
  const iterations = opts.iterations ?? 1000;
  const tol = opts.tol ?? 1e-12;
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j]! += data[i * dim + j]! / n;
  // Covariance (divisor n - 1, as numpy.cov and sklearn).
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) row[j] = data[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      for (let b = a; b < dim; b++) cov[a * dim + b]! += ra * row[b]!;
    }
  }
  const div = Math.max(1, n - 1);
  for (let a = 0; a < dim; a++)
    for (let b = a; b < dim; b++) {
      const v = cov[a * dim + b]! / div;
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  let total = 0;
  for (let a = 0; a < dim; a++) total += cov[a * dim + a]!;

  const rng = new Rng(opts.seed ?? 0);
  const components = new Float64Array(k * dim);
  const variances: number[] = [];
  const v = new Float64Array(dim);
  const w = new Float64Array(dim);
  for (let c = 0; c < k; c++) {
    for (let j = 0; j < dim; j++) v[j] = rng.uniform() - 0.5;
    orthogonalise(v, components, c, dim);
    normalise(v);
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      matVec(cov, v, w, dim);
      orthogonalise(w, components, c, dim);
      const norm = normalise(w);
      if (norm === 0) break; // the remaining variance is zero: any orthogonal unit vector will do
      let diff = 0;
      for (let j = 0; j < dim; j++) diff += (w[j]! - v[j]!) ** 2;
      v.set(w);
      lambda = norm;
      if (diff < tol) break;
    }
    // Rayleigh quotient as the variance along v.
    matVec(cov, v, w, dim);
    lambda = 0;
    for (let j = 0; j < dim; j++) lambda += v[j]! * w[j]!;
    let big = 0;
    for (let j = 0; j < dim; j++) if (Math.abs(v[j]!) > Math.abs(v[big]!)) big = j;
    const sign = v[big]! < 0 ? -1 : 1;
    for (let j = 0; j < dim; j++) components[c * dim + j] = sign * v[j]!;
    variances.push(Math.max(0, lambda));
  }
  return {
    dim,
    mean,
    components,
    explainedVariance: variances,
    explainedVarianceRatio: variances.map((x) => (total > 0 ? x / total : 0)),
  };
}

/** Project rows onto the principal axes: [n, k] row-major. */
export function pcaTransform(p: PcaResult, data: ArrayLike<number>, n: number): Float64Array {
  const k = p.components.length / p.dim;
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < p.dim; j++) s += (data[i * p.dim + j]! - p.mean[j]!) * p.components[c * p.dim + j]!;
      out[i * k + c] = s;
    }
  return out;
}

function matVec(m: Float64Array, v: Float64Array, out: Float64Array, d: number): void {
  for (let a = 0; a < d; a++) {
    let s = 0;
    for (let b = 0; b < d; b++) s += m[a * d + b]! * v[b]!;
    out[a] = s;
  }
}

/** Remove the components along the first `count` rows of `basis` (Gram–Schmidt, twice for stability). */
function orthogonalise(v: Float64Array, basis: Float64Array, count: number, d: number): void {
  for (let pass = 0; pass < 2; pass++)
    for (let c = 0; c < count; c++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += v[j]! * basis[c * d + j]!;
      for (let j = 0; j < d; j++) v[j]! -= dot * basis[c * d + j]!;
    }
}

function normalise(v: Float64Array): number {
  let s = 0;
  for (let j = 0; j < v.length; j++) s += v[j]! * v[j]!;
  const norm = Math.sqrt(s);
  if (norm > 0) for (let j = 0; j < v.length; j++) v[j]! /= norm;
  return norm;
}
