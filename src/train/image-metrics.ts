// Image reconstruction quality: MSE, PSNR and SSIM (Wang et al. 2004: 11x11 Gaussian window,
// σ = 1.5, K1 = 0.01, K2 = 0.03) for images with values in [0, dataRange].

export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

export function psnr(mseValue: number, dataRange = 1): number {
  return mseValue === 0 ? Infinity : 10 * Math.log10((dataRange * dataRange) / mseValue);
}

function gaussianWindow(size = 11, sigma = 1.5): Float64Array {
  const w = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) sum += w[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  return w.map((v) => v / sum);
}

/** Mean SSIM of one single-channel h x w image pair (valid windows only, as skimage's default crop). */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, h: number, w: number, dataRange = 1): number {
  const win = gaussianWindow();
  const k = win.length, r = (k - 1) / 2;
  const c1 = (0.01 * dataRange) ** 2, c2 = (0.03 * dataRange) ** 2;
  let total = 0, count = 0;
  for (let y = r; y < h - r; y++)
    for (let x = r; x < w - r; x++) {
      let ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
      for (let i = 0; i < k; i++)
        for (let j = 0; j < k; j++) {
          const wt = win[i]! * win[j]!;
          const p = (y - r + i) * w + (x - r + j);
          const va = a[p]!, vb = b[p]!;
          ma += wt * va; mb += wt * vb; saa += wt * va * va; sbb += wt * vb * vb; sab += wt * va * vb;
        }
      const va = saa - ma * ma, vb = sbb - mb * mb, cov = sab - ma * mb;
      total += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      count++;
    }
  return total / count;
}

/** Mean MSE, PSNR (of each image, averaged) and SSIM over n images of h x w. */
export function imageQuality(orig: Float32Array, recon: Float32Array, n: number, h: number, w: number) {
  const size = h * w;
  let m = 0, p = 0, s = 0;
  for (let i = 0; i < n; i++) {
    const a = orig.subarray(i * size, (i + 1) * size), b = recon.subarray(i * size, (i + 1) * size);
    const e = mse(a, b);
    m += e;
    p += psnr(Math.max(e, 1e-10));
    s += ssim(a, b, h, w);
  }
  return { mse: m / n, psnr: p / n, ssim: s / n };
}
