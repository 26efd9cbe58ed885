// Loss curves as a small hand-written SVG (axes, ticks, grid, legend), and the same chart
// rasterised to PNG via sharp for places that want a bitmap.

export interface Series {
  name: string;
  x: number[];
  y: number[];
}

export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Pixels (default 640 x 400). */
  width?: number;
  height?: number;
  /** Logarithmic y axis; points with y <= 0 are then skipped. */
  logY?: boolean;
}

// matplotlib's tab10: distinct and familiar from PyTorch tutorials.
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const FONT = 'DejaVu Sans, Arial, Helvetica, sans-serif';

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Round to 3 decimals for compact, stable SVG coordinates. */
const r = (v: number) => Math.round(v * 1000) / 1000;

/** Tick label text: plain decimals in a readable range, otherwise 1e-4 style. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) {
    const [m, e] = v.toExponential().split('e');
    return `${parseFloat(Number(m).toPrecision(3))}e${Number(e)}`;
  }
  return String(parseFloat(v.toPrecision(6)));
}

/** About `count` evenly spaced "nice" (1, 2, 5 x 10^k) ticks covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo) || !Number.isFinite(hi - lo)) return Number.isFinite(lo) ? [lo] : [];
  // Pick the 1/2/5/10 multiple nearest (geometrically) to the raw step, as d3 does.
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const e = raw / mag;
  const step = (e >= Math.sqrt(50) ? 10 : e >= Math.sqrt(10) ? 5 : e >= Math.sqrt(2) ? 2 : 1) * mag;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : parseFloat(t.toPrecision(12)));
  }
  return ticks;
}

interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  /** Data value → 0..1 along the axis. */
  frac: (v: number) => number;
}

// Loops, not Math.min(...v): spreading a long per-step series overflows the call stack.
function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function linearAxis(values: number[], niceBounds: boolean): Axis {
  let [lo, hi] = values.length ? extent(values) : [0, 1];
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  let ticks = niceTicks(lo, hi);
  if (niceBounds) {
    // Extend to whole ticks so the curve never touches the frame.
    const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : hi - lo;
    if (ticks[0]! > lo) ticks.unshift(parseFloat((ticks[0]! - step).toPrecision(12)));
    if (ticks[ticks.length - 1]! < hi) ticks.push(parseFloat((ticks[ticks.length - 1]! + step).toPrecision(12)));
    lo = ticks[0]!;
    hi = ticks[ticks.length - 1]!;
  }
  ticks = ticks.filter((t) => t >= lo - 1e-12 && t <= hi + 1e-12);
  return { lo, hi, ticks, frac: (v) => (v - lo) / (hi - lo) };
}

function logAxis(values: number[]): Axis {
  const pos = values.filter((v) => v > 0);
  const [min, max] = extent(pos);
  let lo = pos.length ? Math.floor(Math.log10(min)) : 0;
  const hi = pos.length ? Math.ceil(Math.log10(max)) : 1;
  if (lo === hi) {
    lo -= 1; // keep at least one decade so the axis has two labelled ticks
  }
  const every = Math.max(1, Math.ceil((hi - lo) / 8));
  const ticks: number[] = [];
  for (let k = lo; k <= hi; k += every) ticks.push(10 ** k);
  return { lo: 10 ** lo, hi: 10 ** hi, ticks, frac: (v) => (Math.log10(v) - lo) / (hi - lo) };
}

/** An SVG line chart with one <path class="series"> per series. Non-finite points break the line. */
export function lossCurvesSvg(series: Series[], opts: PlotOptions = {}): string {
  const W = opts.width ?? 640;
  const H = opts.height ?? 400;
  const logY = opts.logY ?? false;
  const ok = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of series) {
    if (s.x.length !== s.y.length) throw new Error(`lossCurvesSvg: series "${s.name}" has ${s.x.length} x but ${s.y.length} y`);
    s.x.forEach((x, i) => {
      if (ok(x, s.y[i]!)) {
        xs.push(x);
        ys.push(s.y[i]!);
      }
    });
  }
  const xAxis = linearAxis(xs, false);
  const yAxis = logY ? logAxis(ys) : linearAxis(ys, true);

  const m = { top: opts.title ? 34 : 14, right: 16, bottom: opts.xLabel ? 48 : 32, left: opts.yLabel ? 72 : 56 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const px = (x: number) => r(m.left + xAxis.frac(x) * pw);
  const py = (y: number) => r(m.top + (1 - yAxis.frac(y)) * ph);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  );
  if (opts.title) {
    out.push(`<text x="${r(m.left + pw / 2)}" y="20" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`);
  }
  // Grid and ticks.
  for (const t of yAxis.ticks) {
    const y = py(t);
    out.push(`<line class="grid" x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${m.left - 4}" y1="${y}" x2="${m.left}" y2="${y}" stroke="black"/>`);
    out.push(`<text class="ytick" x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(formatTick(t))}</text>`);
  }
  for (const t of xAxis.ticks) {
    const x = px(t);
    out.push(`<line class="grid" x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${x}" y1="${m.top + ph}" x2="${x}" y2="${m.top + ph + 4}" stroke="black"/>`);
    out.push(`<text class="xtick" x="${x}" y="${m.top + ph + 16}" text-anchor="middle">${esc(formatTick(t))}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  if (opts.xLabel) {
    out.push(`<text x="${r(m.left + pw / 2)}" y="${H - 10}" text-anchor="middle" font-size="12">${esc(opts.xLabel)}</text>`);
  }
  if (opts.yLabel) {
    const cy = r(m.top + ph / 2);
    out.push(`<text x="16" y="${cy}" text-anchor="middle" font-size="12" transform="rotate(-90 16 ${cy})">${esc(opts.yLabel)}</text>`);
  }

  series.forEach((s, k) => {
    const d: string[] = [];
    let run = 0; // points in the current unbroken run
    s.x.forEach((x, i) => {
      const y = s.y[i]!;
      if (!ok(x, y)) {
        if (run === 1) d.push('h0'); // a lone point becomes a dot via the round line cap
        run = 0;
        return;
      }
      d.push(`${run === 0 ? 'M' : 'L'}${px(x)} ${py(y)}`);
      run++;
    });
    if (run === 1) d.push('h0');
    const color = PALETTE[k % PALETTE.length];
    out.push(
      `<path class="series" data-name="${esc(s.name)}" d="${d.join(' ')}" fill="none" stroke="${color}" stroke-width="1.75" stroke-linejoin="round" stroke-linecap="round"/>`,
    );
  });

  // Legend, top-right inside the plot; width estimated from the text length.
  if (series.length > 0) {
    const lw = 36 + 6.5 * Math.max(...series.map((s) => s.name.length));
    const lx = m.left + pw - lw - 8;
    const ly = m.top + 8;
    out.push(`<rect class="legend" x="${r(lx)}" y="${ly}" width="${r(lw)}" height="${series.length * 16 + 8}" fill="white" fill-opacity="0.85" stroke="#bbbbbb"/>`);
    series.forEach((s, k) => {
      const y = ly + 12 + k * 16;
      const color = PALETTE[k % PALETTE.length];
      out.push(`<line x1="${r(lx + 6)}" y1="${y}" x2="${r(lx + 26)}" y2="${y}" stroke="${color}" stroke-width="2"/>`);
      out.push(`<text x="${r(lx + 31)}" y="${y}" dominant-baseline="middle">${esc(s.name)}</text>`);
    });
  }
  out.push('</svg>');
  return out.join('\n');
}

/** The lossCurvesSvg chart rasterised to a PNG of the same pixel size. */
export async function lossCurvesPng(series: Series[], opts: PlotOptions = {}): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp(Buffer.from(lossCurvesSvg(series, opts))).png().toBuffer();
}

export function lossCurves(history: readonly { epoch: number; train: Record<string, number>; valid: Record<string, number> }[]): string {
  const x = history.map((r) => r.epoch);
  const series = [{ name: 'train loss', x, y: history.map((r) => r.train.loss!) }];
  if (history.some((r) => r.valid.loss !== undefined)) series.push({ name: 'valid loss', x, y: history.map((r) => r.valid.loss ?? NaN) });
  return lossCurvesSvg(series, { title: 'Reconstruction loss', xLabel: 'epoch', yLabel: 'loss' });
}
