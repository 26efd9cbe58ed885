// In a real browser: the playground (web/, onnxruntime-web) and the HTML report, driven by
// Playwright through Debian's headless Chromium. Trains a small run, builds the page with Vite,
// serves it with the playground server, and saves screenshots as test artefacts in
// test-artifacts/ (LATENTKIT_UPDATE_DOCS=1 writes them to docs/ for the README instead).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import type { BrowserContext, Page } from 'playwright-core';
import { startPlaygroundServer, type PlaygroundServer } from '../../src/tasks/playground/server.js';
import { trainImageAutoencoder } from '../../src/tasks/image/train.js';
import { writeWebBundle } from '../../src/tasks/playground/web-bundle.js';
import { loadFashionMnist, locateFashionMnist } from '../../src/data/fashion-mnist.js';
import { buildReport } from '../../src/tasks/report/report.js';
import { writeImageFolder } from '../helpers/colour-images.js';
import { tempDir } from '../helpers/tmp.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = join(ROOT, process.env.LATENTKIT_UPDATE_DOCS ? 'docs' : 'test-artifacts');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function haveData(): Promise<boolean> {
  try {
    await locateFashionMnist({ download: false, splits: ['train', 'test'] });
    return true;
  } catch {
    return false;
  }
}
const skip = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is absent (apt-get install -y chromium)`
  : !(await haveData())
    ? 'Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist)'
    : false;

function run(cmd: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((ok, fail) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) ok();
      else fail(new Error(`${args.join(' ')} exited with ${code}: ${err.slice(-2000)}`));
    });
  });
}

/** Grey values (0..255) of a canvas, read in the page. */
const canvasPixels = (page: Page, sel: string) =>
  page.$eval(sel, (c) => {
    const cv = c as HTMLCanvasElement;
    const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
    return Array.from({ length: d.length / 4 }, (_, i) => d[4 * i]!);
  });
const mse = (a: number[], b: number[]) => a.reduce((s, v, i) => s + ((v - b[i]!) / 255) ** 2, 0) / a.length;

describe('in Chromium', { skip, timeout: 150_000 }, () => {
  const tmp = tempDir('latentkit-browser-');
  const runDir = join(tmp, 'run');
  const dist = join(tmp, 'dist');
  const modelDir = join(tmp, 'model');
  let server: PlaygroundServer;
  let ctx: BrowserContext;
  let page: Page;
  const problems: string[] = [];
  const offsite: string[] = [];

  before(async () => {
    // Train a small run and build the page at the same time.
    await Promise.all([
      run(process.execPath, [join(ROOT, 'bin/latentkit.js'), 'train', '--preset', 'seed-cnn', '--limit-train', '2000', '--limit-valid', '300', '--epochs', '2', '--out', runDir, '--no-progress'], 120_000),
      run(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', join(ROOT, 'web'), '--outDir', dist, '--logLevel', 'error'], 60_000),
    ]);
    await writeWebBundle(runDir, modelDir, { neighbours: 300, trainSamples: 256 });
    server = await startPlaygroundServer({ modelDir, distDir: dist, port: 0 });
    const { chromium } = await import('playwright-core');
    ctx = await chromium.launchPersistentContext(join(tmp, 'user-data'), { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1200, height: 1250 } });
    // Nothing may leave the machine: every request must go to the playground server or be a file/data URL.
    await ctx.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(server.url) || url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      offsite.push(url);
      return route.abort();
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  });

  after(async () => {
    await ctx?.close();
    await server?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('loads the playground with no console errors', async () => {
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready]', { timeout: 30_000 });
    assert.equal(await page.getAttribute('body', 'data-ready'), '1', await page.textContent('#status') ?? '');
    assert.deepEqual(problems, []);
    assert.deepEqual(offsite, []);
    assert.equal(await page.locator('#sliders input[type=range]').count(), 4);
    assert.equal(await page.locator('#neighbours figure').count(), 8);
  });

  it('reconstructs a dropped-in image file', async () => {
    const test = await loadFashionMnist('test', { limit: 2 });
    const png = new PNG({ width: 28, height: 28 });
    for (let i = 0; i < 784; i++) {
      const v = Math.round(test.images[784 + i]! * 255);
      png.data.set([v, v, v, 255], 4 * i);
    }
    const before = Number(await page.getAttribute('#recon', 'data-version'));
    await page.setInputFiles('#file', { name: 'pullover.png', mimeType: 'image/png', buffer: PNG.sync.write(png) });
    await page.waitForFunction((v) => Number(document.getElementById('recon')!.dataset.version) > v, before);
    const input = await canvasPixels(page, '#input');
    const recon = await canvasPixels(page, '#recon');
    const expected = Array.from(test.images.subarray(784, 1568), (v) => Math.round(v * 255));
    assert.ok(mse(input, expected) < 1e-4, 'the page did not read the file as the model input');
    const blank = new Array<number>(784).fill(0);
    assert.ok(recon.some((v) => v > 20), 'the reconstruction is empty');
    assert.ok(mse(recon, input) < 0.5 * mse(blank, input), `reconstruction MSE ${mse(recon, input)} vs blank ${mse(blank, input)}`);
    assert.deepEqual(problems, []);
  });

  it('decodes a new image when a latent slider moves', async () => {
    // The slider with the widest range (a code number the model uses).
    const ranges = await page.$$eval('#sliders input', (els) => els.map((e) => Number((e as HTMLInputElement).max) - Number((e as HTMLInputElement).min)));
    const k = ranges.indexOf(Math.max(...ranges));
    const before = await canvasPixels(page, '#decoded');
    const version = Number(await page.getAttribute('#decoded', 'data-version'));
    await page.$eval(`#sliders input[data-index="${k}"]`, (e) => {
      const s = e as HTMLInputElement;
      s.value = s.value === s.max ? s.min : s.max;
      s.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await page.waitForFunction((v) => Number(document.getElementById('decoded')!.dataset.version) > v, version);
    const after = await canvasPixels(page, '#decoded');
    const changed = after.filter((v, i) => Math.abs(v - before[i]!) > 8).length;
    assert.ok(changed > 40, `only ${changed} of 784 pixels changed`);
  });

  it('trains an MLP autoencoder in the browser and the loss falls', async () => {
    await page.fill('#train-steps', '60');
    await page.click('#train');
    await page.waitForSelector('body[data-trained-steps="60"]', { timeout: 40_000 });
    const losses = (await page.evaluate(() => (window as unknown as { playground: { losses: number[] } }).playground.losses)) as number[];
    assert.equal(losses.length, 60);
    assert.ok(losses.every(Number.isFinite));
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-10).reduce((a, b) => a + b) / 10;
    assert.ok(last < 0.6 * first, `loss went from ${first} to ${last}`);
    assert.deepEqual(problems, []);
    assert.deepEqual(offsite, []);
    mkdirSync(DOCS, { recursive: true });
    await page.screenshot({ path: join(DOCS, 'playground.png'), fullPage: true });
  });

  it('opens the HTML report offline and renders its charts', async () => {
    const r = await buildReport(runDir, { limit: 600 });
    const file = join(tmp, 'report.html');
    writeFileSync(file, r.html);
    for (const s of ['config', 'metrics', 'loss', 'reconstruction', 'latent', 'anomaly']) assert.ok(r.sections.includes(s), `section ${s} missing`);
    const requests: string[] = [];
    const rp = await ctx.newPage();
    rp.on('request', (q) => {
      if (!q.url().startsWith('file:') && !q.url().startsWith('data:')) requests.push(q.url());
    });
    rp.on('console', (m) => {
      if (m.type() === 'error') problems.push(`report console: ${m.text()}`);
    });
    rp.on('pageerror', (e) => problems.push(`report page error: ${e.message}`));
    await rp.setViewportSize({ width: 1100, height: 1000 });
    await rp.goto(pathToFileURL(file).href);
    await rp.waitForSelector('body[data-charts]');
    assert.equal(await rp.getAttribute('body', 'data-charts'), 'loss latent anomaly');
    for (const id of ['chart-loss', 'chart-latent', 'chart-anomaly']) {
      const painted = await rp.$eval(`#${id}`, (c) => {
        const cv = c as HTMLCanvasElement;
        const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
        let n = 0;
        for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
        return { n, w: cv.width, h: cv.height };
      });
      assert.ok(painted.w > 200 && painted.h > 100, `${id} is ${painted.w}x${painted.h}`);
      assert.ok(painted.n > 2000, `${id}: only ${painted.n} painted pixels`);
    }
    const img = await rp.$eval('#reconstruction img', (e) => ({ w: (e as HTMLImageElement).naturalWidth, ok: (e as HTMLImageElement).complete }));
    assert.ok(img.ok && img.w > 280, 'reconstruction image did not load');
    assert.deepEqual(requests, []);
    assert.deepEqual(problems, []);
    mkdirSync(DOCS, { recursive: true });
    await rp.screenshot({ path: join(DOCS, 'report.png'), fullPage: true });
    await rp.close();
  });

  it('a colour run: the playground draws its images and reconstructions in colour, and trains on them', async () => {
    const images = await writeImageFolder(join(tmp, 'colour'), { n: 40, width: 16, height: 16 });
    const colourRun = join(tmp, 'colour-run');
    await trainImageAutoencoder({ images, preset: 'cnn', epochs: 1, out: colourRun, progress: false, workers: 1, log: () => {} });
    const colourModel = join(tmp, 'colour-model');
    await writeWebBundle(colourRun, colourModel, { neighbours: 4, trainSamples: 32, batchSize: 8 });
    // The same page, now serving the colour run's bundle (the offsite guard reads `server`).
    await server.close();
    server = await startPlaygroundServer({ modelDir: colourModel, distDir: dist, port: 0 });
    await page.goto(server.url);
    await page.waitForSelector('body[data-ready]', { timeout: 30_000 });
    assert.equal(await page.getAttribute('body', 'data-ready'), '1', await page.textContent('#status') ?? '');
    assert.match((await page.textContent('#status')) ?? '', /16×16 RGB input/);
    const before = Number(await page.getAttribute('#recon', 'data-version'));
    await page.setInputFiles('#file', { name: 'disc.png', mimeType: 'image/png', buffer: readFileSync(join(images, 'img0005.png')) });
    await page.waitForFunction((v) => Number(document.getElementById('recon')!.dataset.version) > v, before);
    const rgb = (sel: string) =>
      page.$eval(sel, (c) => {
        const cv = c as HTMLCanvasElement;
        return Array.from(cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data);
      });
    const input = await rgb('#input');
    const chroma = (d: number[]) => Array.from({ length: d.length / 4 }, (_, i) => Math.abs(d[4 * i]! - d[4 * i + 1]!) + Math.abs(d[4 * i + 1]! - d[4 * i + 2]!)).filter((v) => v > 30).length;
    assert.ok(chroma(input) > 128, `input canvas has ${chroma(input)} coloured pixels of 256`);
    // The file as the model saw it: its own RGB values (16x16 already, no resampling).
    const file = PNG.sync.read(readFileSync(join(images, 'img0005.png')));
    const off = Array.from({ length: 256 }, (_, i) => Math.abs(input[4 * i]! - file.data[4 * i]!) + Math.abs(input[4 * i + 2]! - file.data[4 * i + 2]!)).reduce((a, b) => a + b) / 256;
    assert.ok(off < 2, `input differs from the file by ${off} per pixel`);
    assert.ok(chroma(await rgb('#recon')) > 0, 'the reconstruction is gray');
    await page.fill('#train-steps', '5');
    await page.click('#train');
    await page.waitForSelector('body[data-trained-steps="5"]', { timeout: 40_000 });
    assert.deepEqual(problems, []);
    assert.deepEqual(offsite, []);
  });
});
