// The HTTP service over real sockets: every endpoint, bad requests answered 4xx with a message,
// many concurrent requests, and a graceful SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { loadRun, runAutoencoder } from '../../src/train/run-folder.js';
import { embedRun } from '../../src/tasks/embed/embed.js';
import { decodeImage } from '../../src/data/image-file.js';
import { loadFashionMnist } from '../../src/data/fashion-mnist.js';
import type { ImageSet } from '../../src/data/dataset.js';
import { createService, type Service } from '../../src/serve/server.js';
import { encodePng } from '../../src/viz/png.js';
import { testDataDir, tinyRun, tmp } from '../helpers/tiny-run.js';

const BIN = new URL('../../bin/latentkit.js', import.meta.url).pathname;

let run: string;
let svc: Service;
let url: string;
let data: ImageSet;
let ref: { codes: Float32Array; recon: Float32Array };

before(async () => {
  run = await tinyRun();
  await embedRun(run, { out: join(tmp(), 'codes.parquet'), limit: 1000, dataDir: testDataDir() });
  data = await loadFashionMnist('test', { dataDir: testDataDir(), searchSystem: false, download: false, limit: 64 });
  ref = await runAutoencoder(loadRun(run), data.images, data.n);
  svc = await createService(run, { workers: 1, bodyLimit: 512 * 1024, maxRequestBatch: 64, threshold: 0.05 });
  url = await svc.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await svc?.close();
});

const img = (i: number) => Array.from(data.images.subarray(i * 784, (i + 1) * 784));
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : body instanceof Uint8Array ? new Blob([body as Uint8Array<ArrayBuffer>]) : JSON.stringify(body),
  });
const pngOf = (i: number) => encodePng(Uint8Array.from(data.images.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)), 28, 28, 1);
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]!) <= tol);

test('decodeImage: the pngjs fast path gives what sharp gives; other sizes and colours go through sharp', async () => {
  const { default: sharp } = await import('sharp');
  const viaSharp = async (b: Uint8Array) => Float32Array.from((await sharp(b).flatten({ background: '#000000' }).resize(28, 28, { fit: 'fill' }).grayscale().raw().toBuffer()), (v) => v / 255);
  const gray = pngOf(7);
  assert.deepEqual(await decodeImage(gray, [1, 28, 28]), await viaSharp(gray));
  const rgb = encodePng(Uint8Array.from({ length: 28 * 28 * 3 }, (_, i) => (i * 37) % 256), 28, 28, 3);
  assert.deepEqual(await decodeImage(rgb, [1, 28, 28]), await viaSharp(rgb));
  const big = encodePng(Uint8Array.from({ length: 56 * 56 }, (_, i) => (i * 11) % 256), 56, 56, 1);
  assert.equal((await decodeImage(big, [1, 28, 28])).length, 784);
  await assert.rejects(decodeImage(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), [1, 28, 28]), /not a decodable image/);
});

test('GET /health and /metrics', async () => {
  const h = await fetch(url + '/health');
  assert.equal(h.status, 200);
  const j = (await h.json()) as Record<string, any>;
  assert.equal(j.status, 'ok');
  assert.deepEqual(j.inputShape, [1, 28, 28]);
  assert.equal(j.codeSize, 4);
  assert.equal(j.index.rows, 1000);
  assert.equal(j.pool.executors, 1);
  await post('/embed', { image: img(0) });
  const m = await (await fetch(url + '/metrics')).text();
  assert.match(m, /latentkit_http_requests_total\{method="POST",route="\/embed",status="200"\} \d+/);
  assert.match(m, /latentkit_http_request_duration_seconds_bucket\{method="POST",route="\/embed",le="\+Inf"\} \d+/);
  assert.match(m, /latentkit_inference_samples_total \d+/);
});

test('POST /embed: JSON (flat and nested), PNG and raw float32 give the model\'s codes', async () => {
  const r = await post('/embed', { images: [img(0), img(1)] });
  assert.equal(r.status, 200);
  const j = (await r.json()) as { n: number; dim: number; codes: number[][] };
  assert.equal(j.n, 2);
  assert.ok(close(j.codes.flat(), ref.codes.subarray(0, 8)));
  const nested = Array.from({ length: 28 }, (_, y) => img(2).slice(y * 28, y * 28 + 28));
  const jn = (await (await post('/embed', { images: [[nested]] })).json()) as { codes: number[][] };
  assert.ok(close(jn.codes[0]!, ref.codes.subarray(8, 12)));
  // A PNG of 8-bit pixels decodes back to exactly the same input.
  const jp = (await (await post('/embed', pngOf(3), { 'content-type': 'image/png' })).json()) as { codes: number[][] };
  assert.ok(close(jp.codes[0]!, ref.codes.subarray(12, 16)));
  const jb = (await (await post('/embed', { png: [pngOf(3).toString('base64'), pngOf(4).toString('base64')] })).json()) as { codes: number[][] };
  assert.ok(close(jb.codes.flat(), ref.codes.subarray(12, 20)));
  const raw = new Uint8Array(data.images.slice(0, 3 * 784).buffer);
  const rr = await post('/embed', raw, { 'content-type': 'application/octet-stream', accept: 'application/octet-stream' });
  assert.equal(rr.status, 200);
  assert.equal(rr.headers.get('x-shape'), '3,4');
  assert.ok(close(new Float32Array(await rr.arrayBuffer()), ref.codes.subarray(0, 12)));
});

test('POST /reconstruct (JSON and PNG) and /score', async () => {
  const r = (await (await post('/reconstruct', { images: [img(5)] })).json()) as { reconstructions: number[][]; mse: number[] };
  assert.ok(close(r.reconstructions[0]!, ref.recon.subarray(5 * 784, 6 * 784)));
  const p = await post('/reconstruct', pngOf(5), { 'content-type': 'image/png', accept: 'image/png' });
  assert.equal(p.headers.get('content-type'), 'image/png');
  const png = PNG.sync.read(Buffer.from(await p.arrayBuffer()));
  assert.deepEqual([png.width, png.height], [28, 28]);
  const s = (await (await post('/score', { images: [img(5), img(6)] })).json()) as { scores: number[]; threshold: number; anomalous: boolean[] };
  assert.ok(Math.abs(s.scores[0]! - r.mse[0]!) < 1e-7);
  assert.equal(s.threshold, 0.05);
  assert.deepEqual(s.anomalous, s.scores.map((v) => v > 0.05));
  const sp = (await (await post('/score?pixels=1', { image: img(5) })).json()) as { pixelErrors: number[][] };
  assert.equal(sp.pixelErrors[0]!.length, 784);
});

test('POST /search by id, vector and image', async () => {
  const byId = (await (await post('/search', { id: 3, k: 5 })).json()) as { results: { neighbors: { id: number; distance: number }[] }[] };
  const ns = byId.results[0]!.neighbors;
  assert.equal(ns.length, 5);
  assert.ok(ns.every((x) => x.id !== 3));
  const byVec = (await (await post('/search', { vector: Array.from(ref.codes.subarray(12, 16)), k: 6 })).json()) as typeof byId;
  // The query's own stored code is at distance 0 (sample 3 is in the index).
  assert.equal(byVec.results[0]!.neighbors[0]!.distance, 0);
  assert.deepEqual(byVec.results[0]!.neighbors.slice(1).map((x) => x.id), ns.map((x) => x.id));
  const byImg = await post('/search?k=3', pngOf(3), { 'content-type': 'image/png' });
  assert.equal(byImg.status, 200);
  assert.equal(((await byImg.json()) as typeof byId).results[0]!.neighbors.length, 3);
});

test('malformed requests get 4xx with a message', async () => {
  const cases: [string, Promise<Response>, number, RegExp][] = [
    ['bad JSON', post('/embed', '{"images": [1, 2'), 400, /not valid JSON/],
    ['empty JSON', post('/embed', ''), 400, /cannot be empty/],
    ['JSON not an object', post('/embed', '[1,2]'), 400, /must be an object/],
    ['unknown field', post('/embed', { foo: 1 }), 400, /unknown field "foo" in the body; it takes "images", "image", "png"/],
    ['no images key', post('/embed', {}), 400, /expected exactly one of "images"/],
    ['two kinds of samples', post('/embed', { images: [], png: [] }), 400, /expected exactly one of "images"/],
    ['images not an array', post('/embed', { images: 5 }), 400, /"images" must be an array of samples, got 5/],
    ['charset still validated', post('/embed', '{"images": 5}', { 'content-type': 'application/json; charset=utf-8' }), 400, /"images" must be an array/],
    ['wrong shape', post('/embed', { images: [[1, 2, 3]] }), 400, /3 values; expected 784/],
    ['too many values', post('/embed', { image: new Array(800).fill(0) }), 400, /more than 784 values/],
    ['not numbers', post('/embed', { image: new Array(784).fill('a') }), 400, /finite numbers/],
    ['no samples', post('/embed', { images: [] }), 400, /no samples/],
    ['batch too large', post('/embed', { images: new Array(65).fill([0]) }), 413, /limit is 64/],
    ['oversized body', post('/embed', new Uint8Array(600 * 1024), { 'content-type': 'application/octet-stream' }), 413, /exceeds the limit/],
    ['non-image bytes', post('/embed', new TextEncoder().encode('definitely not a png'), { 'content-type': 'image/png' }), 400, /not a decodable image/],
    ['bad base64 image', post('/embed', { png: ['aGVsbG8='] }), 400, /png\[0\]: not a decodable image/],
    ['raw size', post('/embed', new Uint8Array(100), { 'content-type': 'application/octet-stream' }), 400, /not a whole number of samples/],
    ['raw NaN', post('/embed', new Uint8Array(new Float32Array(784).fill(NaN).buffer), { 'content-type': 'application/octet-stream' }), 400, /not finite/],
    ['content type', post('/embed', 'hello', { 'content-type': 'text/plain' }), 415, /unsupported Content-Type/],
    ['bad k', post('/search', { id: 1, k: 0 }), 400, /k must be an integer from 1 to 100, got 0/],
    ['k as text in JSON', post('/search', { id: 1, k: '3' }), 400, /k must be an integer from 1 to 100, got "3"/],
    ['bad k in the query', post('/search?k=abc', { id: 1 }), 400, /k must be an integer from 1 to 100, got "abc"/],
    ['bad id', post('/search', { id: 1.5 }), 400, /"id" must be an integer \(or a list\)/],
    ['two queries', post('/search', { id: 1, vector: [1, 2, 3, 4] }), 400, /expected exactly one query/],
    ['vector beyond float32', post('/search', { vector: [1, 2, 3, 1e39] }), 400, /32-bit float range/],
    ['unknown id', post('/search', { id: 123456 }), 404, /no sample with id 123456/],
    ['bad vector', post('/search', { vector: [1, 2] }), 400, /expected 4 finite numbers/],
    ['unknown route', post('/nope', {}), 404, /no route POST \/nope/],
  ];
  for (const [name, pr, status, msg] of cases) {
    const r = await pr;
    const body = (await r.json()) as { message: string; statusCode: number };
    assert.equal(r.status, status, `${name}: ${r.status} ${body.message}`);
    assert.equal(body.statusCode, status);
    assert.match(body.message, msg, name);
  }
  // The service is still fine afterwards.
  assert.equal((await fetch(url + '/health')).status, 200);
});

test('/search without an index answers 404 with the fix', async () => {
  const bare = await createService(run, { workers: 0, index: false });
  try {
    const r = await bare.app.inject({ method: 'POST', url: '/search', payload: { id: 1 } });
    assert.equal(r.statusCode, 404);
    assert.match(r.json().message, /latentkit embed/);
  } finally {
    await bare.close();
  }
});

test('/generate: only for models with a prior; a VAE decodes seeded samples', async () => {
  const plain = await svc.app.inject({ method: 'POST', url: '/generate', payload: { n: 2 } });
  assert.equal(plain.statusCode, 404);
  const vae = await createService(await tinyRun({ preset: 'vae-mlp' }), { workers: 0, index: false });
  try {
    const a = await vae.app.inject({ method: 'POST', url: '/generate', payload: { n: 3, seed: 7 } });
    assert.equal(a.statusCode, 200, a.body);
    const j = a.json() as { n: number; images: number[][]; codes: number[][] };
    assert.equal(j.images.length, 3);
    assert.equal(j.images[0]!.length, 784);
    const b = await vae.app.inject({ method: 'POST', url: '/generate', payload: { n: 3, seed: 7 } });
    assert.deepEqual(b.json().images, j.images);
    const png = await vae.app.inject({ method: 'POST', url: '/generate', headers: { accept: 'image/png' }, payload: { n: 1 } });
    assert.equal(png.headers['content-type'], 'image/png');
    // The query string is text: numbers are read from it; a JSON body's numbers must be numbers.
    const q = await vae.app.inject({ method: 'POST', url: '/generate?n=3&seed=7' });
    assert.equal(q.statusCode, 200, q.body);
    assert.deepEqual(q.json().images, j.images);
    for (const [payload, msg] of [
      [{ n: 0 }, /"n" must be a positive integer, got 0/],
      [{ n: '3' }, /"n" must be a positive integer, got "3"/],
      [{ std: 0 }, /"std" must be a positive number, got 0/],
      [{ seed: 1.5 }, /"seed" must be an integer, got 1.5/],
      [{ temperature: 2 }, /unknown field "temperature" in the body; it takes "n", "seed", "std"/],
    ] as const) {
      const r = await vae.app.inject({ method: 'POST', url: '/generate', payload });
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
      assert.match(r.json().message, msg);
    }
    const badQuery = await vae.app.inject({ method: 'POST', url: '/generate?n=two' });
    assert.equal(badQuery.statusCode, 400);
    assert.match(badQuery.json().message, /"n" must be a positive integer, got "two"/);
  } finally {
    await vae.close();
  }
});

test('concurrent requests all succeed, and are merged into fewer onnxruntime calls', async () => {
  const before = svc.pool.stats();
  const jobs = Array.from({ length: 80 }, (_, i) => {
    const kind = i % 4;
    if (kind === 0) return post('/embed', { images: [img(i % 64), img((i + 1) % 64)] });
    if (kind === 1) return post('/reconstruct', { image: img(i % 64) });
    if (kind === 2) return post('/score', pngOf(i % 64), { 'content-type': 'image/png' });
    return post('/search', { id: i, k: 3 });
  });
  const rs = await Promise.all(jobs);
  assert.deepEqual(rs.map((r) => r.status), new Array(80).fill(200));
  const bodies = (await Promise.all(rs.map((r) => r.json()))) as Record<string, any>[];
  // Each caller gets its own slice of a merged batch.
  for (let i = 0; i < 80; i += 4) assert.ok(close(bodies[i]!.codes.flat(), [...ref.codes.subarray((i % 64) * 4, (i % 64) * 4 + 4), ...ref.codes.subarray(((i + 1) % 64) * 4, ((i + 1) % 64) * 4 + 4)]));
  const st = svc.pool.stats();
  assert.equal(st.requests - before.requests, 60);
  assert.ok(st.batches - before.batches <= 60);
});

test('CLI serve: SIGTERM lets requests in flight finish, then exits 0', async () => {
  // --log writes a line per request as the server starts it: SIGTERM goes once all 12 requests
  // are in flight at the server (a connection still in the kernel's accept queue, or a request
  // not yet read, is not in flight and may be refused).
  const child = spawn(process.execPath, [BIN, 'serve', run, '--port', '0', '--workers', '1', '--log'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let started = 0;
  let timer: NodeJS.Timeout | undefined;
  child.stdout.on('data', (d: Buffer) => {
    started += (d.toString().match(/"msg":"incoming request"/g) ?? []).length;
    if (started >= 12 && child.exitCode === null && !child.killed) child.kill('SIGTERM');
  });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = / on (http:\/\/[\d.:]+)/.exec(err);
        if (m) resolve(m[1]!);
      });
      child.on('exit', () => reject(new Error(`serve exited: ${err}`)));
      timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 60_000);
    });
    const body = JSON.stringify({ images: new Array(64).fill(img(0)) });
    const rs = await Promise.all(
      Array.from({ length: 12 }, () =>
        fetch(address + '/reconstruct', { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(
          async (r) => {
            // Read each ~0.5 MB answer: unread bodies back up the server's writes, and a
            // graceful shutdown rightly waits for them (up to its 10 s limit).
            await r.arrayBuffer();
            return r.status;
          },
          (e: Error & { cause?: Error }) => `${e.message}: ${e.cause?.message}`,
        ),
      ),
    );
    assert.deepEqual(rs, new Array(12).fill(200));
    assert.ok(child.killed, 'SIGTERM was not sent: the server did not log 12 requests');
    const [code] = child.exitCode === null ? await once(child, 'exit') : [child.exitCode];
    assert.equal(code, 0, err);
    assert.match(err, /SIGTERM: finishing requests in flight/);
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
