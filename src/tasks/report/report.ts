// One self-contained HTML report of a run: config, metrics table, loss curves, reconstruction
// grid, latent scatter by label (PCA to 2-D when the code is wider), the generated grid and
// manifold of a VAE, and a histogram of reconstruction-error anomaly scores. Charts are drawn by
// Chart.js, whose UMD bundle is inlined with the data; images are data URIs. No network, no server.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readJsonFile } from '../../data/json-file.js';
import { loadRun, runAutoencoder, type LoadedRun } from '../../train/run-folder.js';
import { pca, pcaTransform } from '../../numerics/pca.js';
import type { ImageSet } from '../../data/dataset.js';
import { FASHION_MNIST_CLASSES } from '../../data/fashion-mnist.js';
import { loadRunImages } from '../../data/run-images.js';
import { imageQuality, type Quality } from '../../metrics/image-quality.js';
import type { EpochRecord } from '../../train/trainer.js';
import { figureScale, reconstructionFigure } from '../../viz/png.js';

export interface ReportOptions {
  dataDir?: string;
  /** Test images for the latent scatter and the anomaly histogram (default 1000). */
  limit?: number;
  checkpoint?: 'best' | 'last';
  title?: string;
}

export interface ReportResult {
  html: string;
  /** Section ids in the report, e.g. ['config', 'metrics', 'loss', 'reconstruction', 'latent', 'anomaly']. */
  sections: string[];
  /** Why a section was left out, by section id. */
  skipped: Record<string, string>;
}

const CLASS_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** JSON safe inside a <script> element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
const dataUri = (mime: string, bytes: Uint8Array) => `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;
const fmt = (x: unknown) => (typeof x === 'number' ? (Number.isInteger(x) ? String(x) : Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(4) : String(Number(x.toPrecision(5)))) : x === undefined ? '' : typeof x === 'object' ? JSON.stringify(x) : String(x));

function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  const path = join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
  return readFileSync(path, 'utf8').replace(/<\/script/gi, '<\\/script');
}

function readHistory(dir: string): EpochRecord[] {
  const path = join(dir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as EpochRecord);
}

function flatten(o: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v) ? flatten(v as Record<string, unknown>, `${prefix}${k}.`) : [[`${prefix}${k}`, v] as [string, unknown]]));
}

/** Equal-width histogram of finite values. */
export function histogram(values: ArrayLike<number>, bins = 40): { edges: number[]; counts: number[] } {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (!Number.isFinite(lo)) return { edges: [], counts: [] };
  if (hi === lo) hi = lo + 1;
  const w = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) counts[Math.min(bins - 1, Math.floor((v - lo) / w))]!++;
  }
  return { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * w), counts };
}

interface VaeApi {
  generateSamples(model: unknown, opts: { n?: number; seed?: number }): Promise<{ images: Float32Array; n: number }>;
  latentManifold(model: unknown, opts: { size?: number }): Promise<{ images: Float32Array; n: number; size: number }>;
  samplesPng(model: unknown, images: Float32Array, n: number, opts: { cols?: number; scale?: number; pad?: number }): Uint8Array;
}

/** The VAE helpers (src/tasks/vae/vae.ts), when this build has them and the run's model is a VAE. */
async function vaeApi(run: LoadedRun): Promise<VaeApi | undefined> {
  const spec = '../vae/vae.js';
  try {
    const mod = (await import(spec)) as Partial<VaeApi> & { loadVaeRun?: unknown };
    const models = (await import('../../models/index.js')) as Record<string, unknown>;
    const Vae = models.VariationalAutoencoder as (abstract new (...a: never[]) => unknown) | undefined;
    if (!Vae || !(run.model instanceof Vae) || !mod.generateSamples || !mod.samplesPng || !mod.latentManifold) return undefined;
    return mod as VaeApi;
  } catch {
    return undefined;
  }
}

/** Images the VAE commands (generate, manifold, interpolate, latent-plot) left in the run folder. */
function runFigures(dir: string): { name: string; uri: string }[] {
  const pick = /^(generated|samples|manifold|interpolation|latent)[^/]*\.(png|svg)$/i;
  return readdirSync(dir)
    .filter((f) => pick.test(f))
    .sort()
    .map((f) => ({ name: f, uri: dataUri(f.endsWith('.svg') ? 'image/svg+xml' : 'image/png', readFileSync(join(dir, f))) }));
}

export async function buildReport(dir: string, o: ReportOptions = {}): Promise<ReportResult> {
  const cfgPath = join(dir, 'config.json');
  if (!existsSync(cfgPath)) throw new Error(`${dir}: not a latentkit run (no config.json); pass the folder that train wrote, e.g. logs/trial_0_autoencoder`);
  const config = readJsonFile(cfgPath, 'run config');
  const summaryPath = join(dir, '_metrics.json');
  const summary = existsSync(summaryPath) ? readJsonFile<{ best?: EpochRecord; last?: EpochRecord }>(summaryPath, 'run metrics') : {};
  const history = readHistory(dir);
  const sections: string[] = [];
  const skipped: Record<string, string> = {};
  const charts: Record<string, unknown> = {};
  const body: string[] = [];
  const preset = String((config.model as { preset?: string } | undefined)?.preset ?? 'model');
  const title = o.title ?? `latentkit report: ${preset} (${dir.replace(/\/+$/, '').split('/').pop()})`;

  // Summary and config.
  const best = summary.best;
  const chips = [
    ['preset', preset],
    ['epochs', history.length || summary.last?.epoch],
    ['best epoch', best?.epoch],
    ['best valid loss', best?.valid?.loss],
    ['last train loss', summary.last?.train?.loss],
  ].filter(([, v]) => v !== undefined);
  body.push(`<div class="chips">${chips.map(([k, v]) => `<div class="chip"><span>${esc(k)}</span><b>${esc(fmt(v))}</b></div>`).join('')}</div>`);
  sections.push('config');
  body.push(`<section id="config"><h2>Config</h2><table class="kv">${flatten(config).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(fmt(v))}</td></tr>`).join('')}</table></section>`);

  // Metrics table and loss curves.
  if (history.length) {
    const trainKeys = [...new Set(history.flatMap((r) => Object.keys(r.train ?? {})))];
    const validKeys = [...new Set(history.flatMap((r) => Object.keys(r.valid ?? {})))];
    const head = ['epoch', 'lr', ...trainKeys.map((k) => `train ${k}`), ...validKeys.map((k) => `valid ${k}`), 'seconds', 'img/s'];
    const rows = history.map((r) => {
      const rec = r as EpochRecord & { seconds?: number; imagesPerSecond?: number };
      const cells = [r.epoch, r.lr, ...trainKeys.map((k) => r.train?.[k]), ...validKeys.map((k) => r.valid?.[k]), rec.seconds, rec.imagesPerSecond];
      return `<tr${best && r.epoch === best.epoch ? ' class="best"' : ''}>${cells.map((c) => `<td>${esc(fmt(c))}</td>`).join('')}</tr>`;
    });
    sections.push('metrics');
    body.push(`<section id="metrics"><h2>Metrics by epoch</h2><div class="scroll"><table class="grid"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>${best ? `<p class="note">Highlighted: the best epoch (${esc(best.epoch)}), whose weights are checkpoints/best.safetensors.</p>` : ''}</section>`);
    const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
    const series = [...trainKeys.map((k) => ({ label: `train ${k}`, data: history.map((r) => r.train?.[k] ?? null) })), ...validKeys.map((k) => ({ label: `valid ${k}`, data: history.map((r) => r.valid?.[k] ?? null) }))];
    charts.loss = {
      type: 'line',
      data: { labels: history.map((r) => r.epoch), datasets: series.map((s, i) => ({ ...s, borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length], tension: 0.15, pointRadius: 3 })) },
      options: { scales: { x: { title: { display: true, text: 'epoch' } }, y: { title: { display: true, text: 'value' } } } },
    };
    sections.push('loss');
    body.push(`<section id="loss"><h2>Loss curves</h2><div class="chart"><canvas id="chart-loss"></canvas></div></section>`);
  } else skipped.metrics = 'no metrics.jsonl in the run folder';

  // Everything that needs the model and data.
  let run: LoadedRun | undefined;
  try {
    run = loadRun(dir, o.checkpoint ?? 'best');
  } catch (e) {
    skipped.model = `the model could not be loaded: ${(e as Error).message}`;
  }
  const [c, h, w] = run?.inputShape ?? [];
  const isImageRun = run && run.inputShape.length === 3 && (c === 1 || c === 3);
  let data: ImageSet | undefined;
  let out: Awaited<ReturnType<typeof runAutoencoder>> | undefined;
  if (run && isImageRun) {
    try {
      // The run's own held-out images (Fashion-MNIST's test split or its folder's 10%), every class.
      data = await loadRunImages(run.config, run.inputShape, { split: 'test', limit: o.limit ?? 1000, dataDir: o.dataDir, classes: 'all' });
      out = await runAutoencoder(run, data.images, data.n);
    } catch (e) {
      skipped.data = `test images could not be loaded or run: ${(e as Error).message}`;
    }
  } else if (run) skipped.data = `input [${run.inputShape}] is not an image`;

  // Reconstruction grid: the run's own figure, else one made now.
  const reconPng = join(dir, 'reconstruction.png');
  let reconUri: string | undefined;
  if (existsSync(reconPng)) reconUri = dataUri('image/png', readFileSync(reconPng));
  else if (data && out) reconUri = dataUri('image/png', reconstructionFigure(data.images, out.recon, { n: Math.min(10, data.n), channels: c as 1 | 3, h: h!, w: w!, scale: figureScale(h!) }));
  if (reconUri) {
    sections.push('reconstruction');
    body.push(`<section id="reconstruction"><h2>Reconstructions</h2><p class="note">Test images on top, their reconstructions below.</p><img class="figure pix" alt="test images and reconstructions" src="${reconUri}"></section>`);
  } else skipped.reconstruction = 'no reconstruction.png and no model to make one';

  // Reconstruction quality of the held-out images, per channel for colour.
  if (data && out) {
    const q = imageQuality(data.images, out.recon, data.n, h!, w!, c!);
    const row = (name: string, x: Quality) => `<tr><th>${esc(name)}</th><td>${x.mse.toExponential(4)}</td><td>${x.psnr.toFixed(2)} dB</td><td>${x.ssim.toFixed(4)}</td></tr>`;
    const channelNames = ['R', 'G', 'B'];
    sections.push('quality');
    body.push(`<section id="quality"><h2>Reconstruction quality</h2><p class="note">${data.n} held-out images of [${esc(data.shape.join(', '))}].</p><table class="grid"><thead><tr><th></th><th>MSE</th><th>PSNR</th><th>SSIM</th></tr></thead><tbody>${row(q.channels ? 'all channels' : 'image', q)}${(q.channels ?? []).map((x, i) => row(channelNames[i]!, x)).join('')}</tbody></table></section>`);
  } else skipped.quality = skipped.data ?? skipped.model ?? 'no images';

  // Latent scatter and anomaly scores.
  if (data && out && out.codeSize > 0) {
    const { codes, codeSize, recon } = out;
    let xy: ArrayLike<number>;
    let axes: [string, string];
    if (codeSize === 1) {
      xy = Float64Array.from({ length: data.n * 2 }, (_, i) => (i % 2 === 0 ? codes[i / 2]! : 0));
      axes = ['z1', '(none)'];
    } else if (codeSize === 2) {
      xy = codes;
      axes = ['z1', 'z2'];
    } else {
      const p = pca(codes, data.n, codeSize, 2);
      xy = pcaTransform(p, codes, data.n);
      const pct = p.explainedVarianceRatio.map((r) => `${(100 * r).toFixed(1)}%`);
      axes = [`PC1 (${pct[0]} of variance)`, `PC2 (${pct[1]})`];
    }
    const names = data.classNames.length ? data.classNames : data.labels.some((l) => l > 0) ? FASHION_MNIST_CLASSES : ['images'];
    const round = (v: number) => Math.round(v * 1e4) / 1e4;
    charts.latent = {
      type: 'scatter',
      data: {
        datasets: names.map((name, c) => ({
          label: name,
          backgroundColor: CLASS_COLOURS[c % CLASS_COLOURS.length],
          pointRadius: 2.5,
          data: Array.from(data!.labels.entries()).filter(([, l]) => l === c).map(([i]) => ({ x: round(xy[2 * i]!), y: round(xy[2 * i + 1]!) })),
        })),
      },
      options: { scales: { x: { title: { display: true, text: axes[0] } }, y: { title: { display: true, text: axes[1] } } } },
    };
    sections.push('latent');
    body.push(`<section id="latent"><h2>Latent space</h2><p class="note">Codes of ${data.n} test images coloured by label${codeSize > 2 ? `: the ${codeSize}-number codes projected onto their first two principal components` : ''}.</p><div class="chart tall"><canvas id="chart-latent"></canvas></div></section>`);

    const size = run!.inputShape.reduce((a, b) => a * b, 1);
    const scores = new Float64Array(data.n);
    for (let i = 0; i < data.n; i++) {
      let s = 0;
      for (let j = i * size; j < (i + 1) * size; j++) s += (recon[j]! - data.images[j]!) ** 2;
      scores[i] = s / size;
    }
    const h = histogram(scores, 40);
    const sorted = Float64Array.from(scores).sort();
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))]!;
    charts.anomaly = {
      type: 'bar',
      data: { labels: h.edges.slice(0, -1).map((e, i) => ((e + h.edges[i + 1]!) / 2).toPrecision(3)), datasets: [{ label: 'test images', data: h.counts, backgroundColor: '#3a7bd5', barPercentage: 1, categoryPercentage: 1 }] },
      options: { scales: { x: { title: { display: true, text: 'anomaly score: per-image reconstruction MSE' } }, y: { title: { display: true, text: 'images' } } } },
    };
    sections.push('anomaly');
    body.push(`<section id="anomaly"><h2>Anomaly scores</h2><p class="note">Per-image reconstruction error of ${data.n} test images (what <code>latentkit anomaly</code> thresholds). Median ${q(0.5).toExponential(3)}, 95th percentile ${q(0.95).toExponential(3)}, 99th ${q(0.99).toExponential(3)}.</p><div class="chart"><canvas id="chart-anomaly"></canvas></div></section>`);
  } else skipped.latent = skipped.anomaly = skipped.data ?? skipped.model ?? 'no codes';

  // VAE figures: the ones the VAE commands wrote into the run folder, else made now.
  const figures = runFigures(dir);
  const vae = run ? await vaeApi(run) : undefined;
  if (vae && run) {
    const have = (p: RegExp) => figures.some((f) => p.test(f.name));
    try {
      if (!have(/^(generated|samples)/i)) {
        const s = await vae.generateSamples(run.model, { n: 64, seed: 0 });
        figures.push({ name: 'generated (64 samples from the prior, seed 0)', uri: dataUri('image/png', vae.samplesPng(run.model, s.images, s.n, { cols: 8, scale: 2 })) });
      }
      const latent = (run.model as unknown as { latent?: number }).latent;
      if (!have(/^manifold/i) && latent === 2) {
        const m = await vae.latentManifold(run.model, { size: 20 });
        figures.push({ name: 'manifold (20 x 20 codes at normal quantiles)', uri: dataUri('image/png', vae.samplesPng(run.model, m.images, m.n, { cols: m.size, scale: 1, pad: 0 })) });
      }
    } catch (e) {
      skipped.generated = `VAE figures failed: ${(e as Error).message}`;
    }
  }
  if (figures.length) {
    sections.push('generated');
    body.push(`<section id="generated"><h2>Generated images</h2><div class="figures">${figures.map((f) => `<figure><img class="figure pix" alt="${esc(f.name)}" src="${f.uri}"><figcaption>${esc(f.name)}</figcaption></figure>`).join('')}</div></section>`);
  } else skipped.generated ??= 'not a VAE run and no generated figures in the run folder';

  // One line per reason: 'latent' and 'anomaly' often share the 'model' or 'data' one.
  const byReason = new Map<string, string[]>();
  for (const [k, v] of Object.entries(skipped)) byReason.set(v, [...(byReason.get(v) ?? []), k]);
  const notes = [...byReason].map(([v, ks]) => [ks.join(', '), v] as const);
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${esc(title)}</title>
<style>
:root { font-family: system-ui, sans-serif; color: #1d2330; background: #f3f4f7; }
body { max-width: 1100px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin: 0.3rem 0; } h2 { font-size: 1.15rem; margin: 0 0 0.6rem; }
section { background: #fff; border-radius: 10px; box-shadow: 0 1px 3px #0002; padding: 1rem 1.2rem; margin: 1rem 0; }
.sub { color: #5b6475; margin: 0 0 0.8rem; }
.chips { display: flex; gap: 0.6rem; flex-wrap: wrap; }
.chip { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px #0002; padding: 0.4rem 0.8rem; display: flex; flex-direction: column; }
.chip span { font-size: 0.75rem; color: #5b6475; } .chip b { font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
.kv th { text-align: left; font-weight: 500; color: #5b6475; padding: 0.15rem 1.2rem 0.15rem 0; } .kv td { padding: 0.15rem 0; }
.grid th, .grid td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #e6e9ef; text-align: right; }
.grid th { background: #f7f8fb; } .grid tr.best td { background: #e8f1ff; font-weight: 600; }
.scroll { overflow-x: auto; }
.chart { position: relative; height: 320px; } .chart.tall { height: 480px; }
.figure { max-width: 100%; } .pix { image-rendering: pixelated; }
.figures { display: flex; gap: 1rem; flex-wrap: wrap; } figure { margin: 0; } figcaption { font-size: 0.8rem; color: #5b6475; }
.note { color: #5b6475; font-size: 0.85rem; margin: 0 0 0.6rem; }
footer { color: #8a93a6; font-size: 0.8rem; }
</style>
</head>
<body data-sections="${esc(sections.join(' '))}">
<h1>${esc(title)}</h1>
<p class="sub">Run folder <code>${esc(dir)}</code>, checkpoint ${esc(o.checkpoint ?? 'best')}.</p>
${body.join('\n')}
${notes.length ? `<section id="skipped"><h2>Not in this report</h2><ul>${notes.map(([k, v]) => `<li><b>${esc(k)}</b>: ${esc(v)}</li>`).join('')}</ul></section>` : ''}
<footer>Written by <code>latentkit report</code>; charts by Chart.js, inlined. This file needs no network.</footer>
<script>${chartJsSource()}</script>
<script>
(function () {
  var charts = ${scriptJson(charts)};
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.responsive = true;
  var rendered = [];
  Object.keys(charts).forEach(function (id) {
    var el = document.getElementById('chart-' + id);
    if (el) { new Chart(el, charts[id]); rendered.push(id); }
  });
  document.body.setAttribute('data-charts', rendered.join(' '));
})();
</script>
</body>
</html>
`;
  return { html, sections, skipped };
}
