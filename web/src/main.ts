// The latentkit playground: an exported autoencoder (model/*.onnx from `latentkit web-bundle`)
// running in the browser on onnxruntime-web's WASM backend. Draw or drop an image to see its
// code and reconstruction, move sliders over the code, find nearest neighbours in a bundled
// embedding set, and train a small MLP autoencoder in the page with latentkit's own
// training-step graph.
import * as ort from 'onnxruntime-web/wasm';
import './style.css';

ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.logLevel = 'error';

const MODEL = new URL('./model/', document.baseURI).href;
const MAX_SLIDERS = 64;

interface Manifest {
  model: Record<string, unknown>;
  input: { name: string; shape: (number | string)[] };
  code: { size: number };
}
interface Embeddings {
  n: number;
  codeSize: number;
  /** Channels (1 gray, 3 RGB); absent in bundles from before colour runs. */
  c?: number;
  h: number;
  w: number;
  classNames: string[];
  labels: number[];
  codes: number[][];
  min: number[];
  max: number[];
  thumbs: string;
}
interface TrainInput {
  name: string;
  role: 'data' | 'param' | 'buffer' | 'state' | 'scalar' | 'random';
  dtype: 'float32' | 'int64' | 'int32' | 'bool';
  shape: (number | string)[];
  dist?: 'uniform' | 'normal';
  offset?: number;
  length?: number;
  zeros?: boolean;
}
interface TrainMeta {
  model: string;
  init: string;
  data: string;
  n: number;
  c?: number;
  h: number;
  w: number;
  sizes: number[];
  lr: number;
  batchSize: number;
  loss: string;
  feedback: [string, string][];
  inputs: TrainInput[];
  scalars: Record<string, number[]>;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = $<HTMLParagraphElement>('status');
const setStatus = (text: string, error = false) => {
  statusEl.textContent = text;
  statusEl.classList.toggle('error', error);
};

async function fetchOk(name: string): Promise<Response> {
  const r = await fetch(MODEL + name);
  if (!r.ok) throw new Error(`model/${name}: HTTP ${r.status}`);
  return r;
}
async function fetchOptional(name: string): Promise<Response | undefined> {
  const r = await fetch(MODEL + name);
  return r.ok ? r : undefined;
}
const session = async (name: string) =>
  ort.InferenceSession.create(new Uint8Array(await (await fetchOk(name)).arrayBuffer()), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });

/** Channels of the model input, set once the manifest is read (1 gray, 3 RGB). */
let C = 1;
const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v * 255)));

/** Draw [C*h*w] values in [0, 1] (planar CHW, gray or RGB) into a canvas of that size. */
function paint(canvas: HTMLCanvasElement, px: ArrayLike<number>, h: number, w: number): void {
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(w, h);
  const plane = h * w;
  for (let i = 0; i < plane; i++) {
    for (let ch = 0; ch < 3; ch++) img.data[4 * i + ch] = byte(px[(C === 3 ? ch : 0) * plane + i]!);
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** RGBA canvas bytes -> planar CHW values in [0, 1]: RGB for colour models, luminance for gray. */
function fromRgba(d: Uint8ClampedArray, plane: number): Float32Array {
  const out = new Float32Array(C * plane);
  for (let i = 0; i < plane; i++) {
    if (C === 3) for (let ch = 0; ch < 3; ch++) out[ch * plane + i] = d[4 * i + ch]! / 255;
    else out[i] = (0.299 * d[4 * i]! + 0.587 * d[4 * i + 1]! + 0.114 * d[4 * i + 2]!) / 255;
  }
  return out;
}

function drawCode(canvas: HTMLCanvasElement, code: ArrayLike<number>, lo: number[], hi: number[]): void {
  const ctx = canvas.getContext('2d')!;
  const { width: W, height: H } = canvas;
  ctx.clearRect(0, 0, W, H);
  const n = code.length;
  const bw = W / n;
  const mid = H / 2;
  ctx.strokeStyle = '#c4cad6';
  ctx.beginPath();
  ctx.moveTo(0, mid);
  ctx.lineTo(W, mid);
  ctx.stroke();
  for (let i = 0; i < n; i++) {
    const span = Math.max(Math.abs(lo[i] ?? -1), Math.abs(hi[i] ?? 1), 1e-6);
    const v = Math.max(-1, Math.min(1, code[i]! / span));
    ctx.fillStyle = v >= 0 ? '#3a7bd5' : '#d5603a';
    ctx.fillRect(i * bw + bw * 0.1, v >= 0 ? mid - v * mid : mid, Math.max(1, bw * 0.8), Math.abs(v) * mid);
  }
}

function drawLoss(canvas: HTMLCanvasElement, losses: number[]): void {
  const ctx = canvas.getContext('2d')!;
  const { width: W, height: H } = canvas;
  const pad = { l: 56, r: 12, t: 12, b: 26 };
  ctx.clearRect(0, 0, W, H);
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#5b6475';
  ctx.strokeStyle = '#c4cad6';
  ctx.strokeRect(pad.l, pad.t, W - pad.l - pad.r, H - pad.t - pad.b);
  if (!losses.length) return;
  const max = Math.max(...losses);
  const min = Math.min(...losses, 0);
  const x = (i: number) => pad.l + ((W - pad.l - pad.r) * i) / Math.max(1, losses.length - 1);
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - (v - min) / Math.max(1e-12, max - min));
  ctx.fillText(max.toFixed(4), 4, pad.t + 10);
  ctx.fillText(min.toFixed(4), 4, H - pad.b);
  ctx.fillText(`step ${losses.length}`, W - pad.r - 70, H - 8);
  ctx.strokeStyle = '#3a7bd5';
  ctx.lineWidth = 2;
  ctx.beginPath();
  losses.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
  ctx.stroke();
}

const decodeBase64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

async function main(): Promise<void> {
  const manifest = (await (await fetchOk('manifest.json')).json()) as Manifest;
  const [, channels, H, W] = manifest.input.shape as [string, number, number, number];
  C = channels;
  const codeSize = manifest.code.size;
  const [ae, enc, dec] = await Promise.all([session('autoencoder.onnx'), session('encoder.onnx'), session('decoder.onnx')]);
  const embRes = await fetchOptional('embeddings.json');
  const emb = embRes ? ((await embRes.json()) as Embeddings) : undefined;
  const thumbs = emb ? decodeBase64(emb.thumbs) : undefined;
  // Slider ranges: the bundled codes' range per number, widened by a quarter (±3 without a set).
  const span = (i: number) => (emb ? emb.max[i]! - emb.min[i]! || 1 : 0);
  const lo = Array.from({ length: codeSize }, (_, i) => (emb ? emb.min[i]! - 0.25 * span(i) : -3));
  const hi = Array.from({ length: codeSize }, (_, i) => (emb ? emb.max[i]! + 0.25 * span(i) : 3));
  $('code-size').textContent = `(${codeSize} numbers)`;

  const draw = $<HTMLCanvasElement>('draw');
  const dctx = draw.getContext('2d', { willReadFrequently: true })!;
  const small = document.createElement('canvas');
  small.width = W;
  small.height = H;
  const sctx = small.getContext('2d', { willReadFrequently: true })!;
  let input: Float32Array = new Float32Array(C * H * W);
  let code: Float32Array = new Float32Array(codeSize);

  const clearDraw = () => {
    dctx.fillStyle = '#000';
    dctx.fillRect(0, 0, draw.width, draw.height);
  };
  /** Show a [H*W] image on the drawing canvas (scaled up). */
  const showOnDraw = (px: ArrayLike<number>) => {
    paint(small, px, H, W);
    dctx.imageSmoothingEnabled = false;
    dctx.drawImage(small, 0, 0, draw.width, draw.height);
  };
  const readDraw = (): Float32Array => {
    sctx.imageSmoothingEnabled = true;
    sctx.imageSmoothingQuality = 'high';
    sctx.clearRect(0, 0, W, H);
    sctx.drawImage(draw, 0, 0, W, H);
    return fromRgba(sctx.getImageData(0, 0, W, H).data, H * W);
  };

  // --- sliders over the code, decoded as they move -------------------------------------------
  const sliderBox = $<HTMLDivElement>('sliders');
  const decoded = $<HTMLCanvasElement>('decoded');
  const shown = Math.min(codeSize, MAX_SLIDERS);
  const sliders: HTMLInputElement[] = [];
  const outputs: HTMLOutputElement[] = [];
  const sliderCode = new Float32Array(codeSize);
  for (let i = 0; i < shown; i++) {
    const label = document.createElement('label');
    const name = document.createElement('span');
    name.textContent = `z${i}`;
    const s = document.createElement('input');
    s.type = 'range';
    s.min = String(lo[i]);
    s.max = String(hi[i]);
    s.step = String((hi[i]! - lo[i]!) / 400 || 0.01);
    s.value = '0';
    s.dataset.index = String(i);
    const out = document.createElement('output');
    out.textContent = '0.00';
    label.append(name, s, out);
    sliderBox.append(label);
    sliders.push(s);
    outputs.push(out);
  }
  if (codeSize > shown) sliderBox.insertAdjacentHTML('beforeend', `<p class="hint">showing the first ${shown} of ${codeSize} code numbers</p>`);

  let decoding = false;
  let decodeAgain = false;
  const decodeSliders = async () => {
    if (decoding) {
      decodeAgain = true;
      return;
    }
    decoding = true;
    try {
      do {
        decodeAgain = false;
        sliders.forEach((s, i) => {
          sliderCode[i] = Number(s.value);
          outputs[i]!.textContent = Number(s.value).toFixed(2);
        });
        const r = await dec.run({ [dec.inputNames[0]!]: new ort.Tensor('float32', sliderCode.slice(), [1, codeSize]) });
        paint(decoded, r[dec.outputNames[0]!]!.data as Float32Array, H, W);
        decoded.dataset.version = String(Number(decoded.dataset.version ?? 0) + 1);
      } while (decodeAgain);
    } finally {
      decoding = false;
    }
  };
  sliders.forEach((s) => s.addEventListener('input', () => void decodeSliders()));
  const setSliders = (c: Float32Array) => {
    sliderCode.set(c);
    sliders.forEach((s, i) => (s.value = String(c[i])));
  };
  $('reset-sliders').addEventListener('click', () => {
    setSliders(code);
    void decodeSliders();
  });

  // --- nearest neighbours ------------------------------------------------------------------------
  const nbBox = $<HTMLDivElement>('neighbours');
  const thumb = (k: number) => Float32Array.from(thumbs!.subarray(k * C * H * W, (k + 1) * C * H * W), (v) => v / 255);
  const showNeighbours = () => {
    if (!emb) {
      nbBox.textContent = 'no embeddings.json in model/';
      return;
    }
    const d = emb.codes.map((c, k) => [c.reduce((s, v, j) => s + (v - code[j]!) ** 2, 0), k] as const).sort((a, b) => a[0] - b[0]).slice(0, 8);
    nbBox.replaceChildren(
      ...d.map(([dist, k]) => {
        const fig = document.createElement('figure');
        const c = document.createElement('canvas');
        paint(c, thumb(k), H, W);
        const cap = document.createElement('figcaption');
        cap.textContent = `${emb.classNames[emb.labels[k]!] ?? emb.labels[k]} · ${Math.sqrt(dist).toFixed(2)}`;
        fig.title = `test image ${k}: click to use it as the input`;
        fig.append(c, cap);
        fig.addEventListener('click', () => {
          showOnDraw(thumb(k));
          void update(thumb(k));
        });
        return fig;
      }),
    );
  };

  // --- input -> code, reconstruction --------------------------------------------------------------
  let running = false;
  let pending: Float32Array | undefined;
  const update = async (px?: Float32Array) => {
    pending = px ?? readDraw();
    if (running) return;
    running = true;
    try {
      while (pending) {
        input = pending;
        pending = undefined;
        const x = new ort.Tensor('float32', input, [1, C, H, W]);
        const [r, e] = [await ae.run({ [ae.inputNames[0]!]: x }), await enc.run({ [enc.inputNames[0]!]: x })];
        paint($('input'), input, H, W);
        const recon = $<HTMLCanvasElement>('recon');
        paint(recon, r[ae.outputNames[0]!]!.data as Float32Array, H, W);
        recon.dataset.version = String(Number(recon.dataset.version ?? 0) + 1);
        code = Float32Array.from(e[enc.outputNames[0]!]!.data as Float32Array);
        drawCode($('code'), code, lo, hi);
        setSliders(code);
        await decodeSliders();
        showNeighbours();
      }
    } finally {
      running = false;
    }
  };

  // Drawing: white strokes on black, like Fashion-MNIST.
  let drawing = false;
  let last: [number, number] | undefined;
  const pos = (ev: PointerEvent): [number, number] => {
    const r = draw.getBoundingClientRect();
    return [((ev.clientX - r.left) * draw.width) / r.width, ((ev.clientY - r.top) * draw.height) / r.height];
  };
  draw.addEventListener('pointerdown', (ev) => {
    drawing = true;
    draw.setPointerCapture(ev.pointerId);
    last = pos(ev);
  });
  draw.addEventListener('pointermove', (ev) => {
    if (!drawing || !last) return;
    const p = pos(ev);
    dctx.strokeStyle = '#fff';
    dctx.lineWidth = draw.width / 12;
    dctx.lineCap = 'round';
    dctx.beginPath();
    dctx.moveTo(...last);
    dctx.lineTo(...p);
    dctx.stroke();
    last = p;
    void update();
  });
  const stop = () => {
    drawing = false;
    last = undefined;
  };
  draw.addEventListener('pointerup', stop);
  draw.addEventListener('pointercancel', stop);
  $('clear').addEventListener('click', () => {
    clearDraw();
    void update();
  });
  $('random').addEventListener('click', () => {
    if (!emb) return;
    const k = Math.floor(Math.random() * emb.n);
    showOnDraw(thumb(k));
    void update(thumb(k));
  });

  // Image files: scaled to the model's size; light backgrounds inverted (the model saw white on black).
  const loadFile = async (file: File) => {
    const bmp = await createImageBitmap(file);
    sctx.clearRect(0, 0, W, H);
    sctx.drawImage(bmp, 0, 0, W, H);
    const px = fromRgba(sctx.getImageData(0, 0, W, H).data, H * W);
    // Gray models saw white on black; colour photos are taken as they are.
    if (C === 1) {
      let border = 0;
      for (let i = 0; i < W; i++) border += px[i]! + px[(H - 1) * W + i]!;
      if (border / (2 * W) > 0.5) px.forEach((v, i) => (px[i] = 1 - v));
    }
    showOnDraw(px);
    await update(px);
  };
  $<HTMLInputElement>('file').addEventListener('change', (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) void loadFile(f).catch(fail);
  });
  draw.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    draw.classList.add('over');
  });
  draw.addEventListener('dragleave', () => draw.classList.remove('over'));
  draw.addEventListener('drop', (ev) => {
    ev.preventDefault();
    draw.classList.remove('over');
    const f = ev.dataTransfer?.files[0];
    if (f) void loadFile(f).catch(fail);
  });

  // --- training in the browser --------------------------------------------------------------------
  const trainRes = await fetchOptional('train.json');
  const trainBtn = $<HTMLButtonElement>('train');
  const losses: number[] = [];
  let trainer: ((steps: number) => Promise<void>) | undefined;
  if (!trainRes) {
    trainBtn.disabled = true;
    $('train-info').textContent = 'No training bundle (train.json) in model/.';
  } else {
    const meta = (await trainRes.json()) as TrainMeta;
    const [bytes, init, data] = await Promise.all([meta.model, meta.init, meta.data].map(async (f) => new Uint8Array(await (await fetchOk(f)).arrayBuffer())));
    const tsess = await ort.InferenceSession.create(bytes!, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const size = (meta.c ?? 1) * meta.h * meta.w;
    const state: Record<string, ort.Tensor> = {};
    for (const i of meta.inputs) {
      if (i.length === undefined) continue;
      const dims = i.shape.map(Number);
      if (i.zeros) {
        state[i.name] = i.dtype === 'int64' ? new ort.Tensor('int64', new BigInt64Array(i.length), dims) : new ort.Tensor('float32', new Float32Array(i.length), dims);
        continue;
      }
      if (i.offset === undefined) continue;
      const buf = init!.buffer.slice(init!.byteOffset + i.offset, init!.byteOffset + i.offset + i.length * (i.dtype === 'int64' ? 8 : 4));
      state[i.name] = i.dtype === 'int64' ? new ort.Tensor('int64', new BigInt64Array(buf), dims) : new ort.Tensor('float32', new Float32Array(buf), dims);
    }
    const params = meta.inputs.filter((i) => i.role === 'param').reduce((s, i) => s + (i.length ?? 0), 0);
    $('train-info').textContent = `An MLP autoencoder [${meta.sizes.join(' → ')}] (${params.toLocaleString()} parameters) on ${meta.n} of the run's training images, batch ${meta.batchSize}, Adam lr ${meta.lr}: latentkit's own training-step graph (forward, gradients and the Adam update in one ONNX model), run by onnxruntime-web with its outputs fed back as the next step's inputs.`;
    const order = Array.from({ length: meta.n }, (_, i) => i);
    let cursor = meta.n;
    let step = 0;
    const normal = () => Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
    trainer = async (steps: number) => {
      const B = Math.min(meta.batchSize, meta.n);
      for (let s = 0; s < steps; s++) {
        const x = new Float32Array(B * size);
        for (let b = 0; b < B; b++) {
          if (cursor >= meta.n) {
            for (let i = meta.n - 1; i > 0; i--) {
              const j = Math.floor(Math.random() * (i + 1));
              [order[i], order[j]] = [order[j]!, order[i]!];
            }
            cursor = 0;
          }
          const k = order[cursor++]!;
          for (let p = 0; p < size; p++) x[b * size + p] = data![k * size + p]! / 255;
        }
        step++;
        const feeds: Record<string, ort.Tensor> = { ...state };
        for (const i of meta.inputs) {
          if (i.role === 'data') feeds[i.name] = new ort.Tensor('float32', x, i.shape.map((d) => (typeof d === 'number' ? d : B)));
          else if (i.role === 'scalar') {
            const table = meta.scalars[i.name]!;
            feeds[i.name] = new ort.Tensor('float32', Float32Array.of(table[Math.min(step, table.length) - 1]!), []);
          } else if (i.role === 'random') {
            const dims = i.shape.map((d) => (typeof d === 'number' ? d : B));
            const r = new Float32Array(dims.reduce((a, b) => a * b, 1));
            for (let j = 0; j < r.length; j++) r[j] = i.dist === 'normal' ? normal() : Math.random();
            feeds[i.name] = new ort.Tensor('float32', r, dims);
          }
        }
        const out = await tsess.run(feeds);
        const loss = (out[meta.loss]!.data as Float32Array)[0]!;
        if (!Number.isFinite(loss)) throw new Error(`step ${step}: the loss is ${loss}`);
        for (const [o, i] of meta.feedback) state[i] = out[o]!;
        losses.push(loss);
        if (s % 5 === 4 || s === steps - 1) {
          $('loss-text').textContent = `step ${step}: loss ${loss.toFixed(5)} (first ${losses[0]!.toFixed(5)})`;
          drawLoss($('loss-chart'), losses);
          await new Promise((ok) => setTimeout(ok, 0));
        }
      }
    };
    trainBtn.addEventListener('click', async () => {
      trainBtn.disabled = true;
      document.body.dataset.training = '1';
      try {
        await trainer!(Math.max(1, Math.min(5000, Number($<HTMLInputElement>('train-steps').value) || 150)));
      } catch (e) {
        fail(e);
      } finally {
        trainBtn.disabled = false;
        document.body.dataset.training = '0';
        document.body.dataset.trainedSteps = String(losses.length);
      }
    });
    drawLoss($('loss-chart'), losses);
  }

  // Start from the first bundled test image (or a blank canvas).
  clearDraw();
  if (emb) {
    showOnDraw(thumb(0));
    await update(thumb(0));
  } else await update();

  const api = { manifest, losses, setInput: (px: ArrayLike<number>) => (showOnDraw(px), update(Float32Array.from(px))), code: () => Array.from(code), train: (n: number) => trainer?.(n) };
  (window as unknown as { playground: typeof api }).playground = api;
  setStatus(`${String(manifest.model.preset ?? 'model')}: ${H}×${W}${C === 3 ? ' RGB' : ''} input, ${codeSize}-number code; running on onnxruntime-web (WASM).`);
  document.body.dataset.ready = '1';
}

function fail(e: unknown): void {
  console.error(e);
  setStatus(`error: ${(e as Error).message ?? e}`, true);
  document.body.dataset.ready = 'error';
}

main().catch(fail);
