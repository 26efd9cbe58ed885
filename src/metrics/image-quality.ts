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

export interface Quality {
  mse: number;
  psnr: number;
  ssim: number;
}

export interface ImageQuality extends Quality {
  /** Colour images: the same three numbers for each channel (R, G, B). */
  channels?: Quality[];
}

/**
 * Mean MSE, PSNR (of each image, averaged) and SSIM over n images of c x h x w (NCHW). For
 * colour, SSIM is the mean of the channels' SSIM (skimage's channel_axis convention) and the
 * per-channel numbers come in `channels`.
 */
export function imageQuality(orig: Float32Array, recon: Float32Array, n: number, h: number, w: number, c = 1): ImageQuality {
  const plane = h * w;
  const size = c * plane;
  const sum = { mse: 0, psnr: 0, ssim: 0 };
  const per = Array.from({ length: c }, () => ({ mse: 0, psnr: 0, ssim: 0 }));
  for (let i = 0; i < n; i++) {
    const e = mse(orig.subarray(i * size, (i + 1) * size), recon.subarray(i * size, (i + 1) * size));
    sum.mse += e;
    sum.psnr += psnr(Math.max(e, 1e-10));
    for (let ch = 0; ch < c; ch++) {
      const o = i * size + ch * plane;
      const a = orig.subarray(o, o + plane), b = recon.subarray(o, o + plane);
      const ec = mse(a, b);
      const sc = ssim(a, b, h, w);
      per[ch]!.mse += ec;
      per[ch]!.psnr += psnr(Math.max(ec, 1e-10));
      per[ch]!.ssim += sc;
      sum.ssim += sc / c;
    }
  }
  const mean = (q: Quality): Quality => ({ mse: q.mse / n, psnr: q.psnr / n, ssim: q.ssim / n });
  return c === 1 ? mean(sum) : { ...mean(sum), channels: per.map(mean) };
}

/** "MSE 0.01  PSNR 20.0 dB  SSIM 0.5"; for colour, one line per channel follows. */
export function formatQuality(q: ImageQuality, indent = '  '): string {
  const one = (x: Quality) => `MSE ${x.mse.toFixed(6)}  PSNR ${x.psnr.toFixed(2)} dB  SSIM ${x.ssim.toFixed(4)}`;
  const names = ['R', 'G', 'B'];
  return [one(q), ...(q.channels ?? []).map((x, i) => `${indent}${names[i] ?? `channel ${i}`}: ${one(x)}`)].join('\n');
}
