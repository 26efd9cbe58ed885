// The service against hostile clients, over a real socket on 127.0.0.1: values that overflow
// float32, slow bodies (short timeouts configured for the test), a connection cap, a pixel
// budget per request, a bearer token, and answers that reveal no absolute paths.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { createService, serve, type Service } from '../../src/serve/server.js';
import { encodePng } from '../../src/viz/png.js';
import { tinyRun } from '../helpers/tiny-run.js';

let run: string;
let svc: Service;
let url: string;
const TOKEN = 's3cret-token';

before(async () => {
  run = await tinyRun();
  svc = await createService(run, {
    workers: 0, index: false, token: TOKEN, maxPixelsPerRequest: 3 * 64 * 64, maxConnections: 8,
    timeouts: { headersMs: 1000, requestMs: 1500, keepAliveMs: 500, connectionMs: 1500 },
  });
  url = await svc.app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await svc?.close();
});

const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const post = (path: string, body: unknown, headers: Record<string, string> = auth) => fetch(url + path, { method: 'POST', headers, body: JSON.stringify(body) });
const zeros = () => new Array(784).fill(0);

test('a bearer token is required when configured: 401 without or with a wrong one', async () => {
  assert.equal((await post('/embed', { image: zeros() }, { 'content-type': 'application/json' })).status, 401);
  assert.equal((await post('/embed', { image: zeros() }, { ...auth, authorization: 'Bearer nope' })).status, 401);
  assert.equal((await fetch(url + '/health')).status, 401);
  assert.equal((await post('/embed', { image: zeros() })).status, 200);
});

test('pixels of 1e308 (finite in JSON, Infinity in float32) are a 400 naming the value, not 200 with nulls', async () => {
  const px = zeros();
  px[5] = 1e308;
  for (const path of ['/embed', '/reconstruct', '/score']) {
    const r = await post(path, { images: [px] });
    assert.equal(r.status, 400, path);
    assert.match(((await r.json()) as { message: string }).message, /images\[0\].*1e\+308.*32-bit/);
  }
  const raw = await fetch(url + '/embed', { method: 'POST', headers: { authorization: auth.authorization, 'content-type': 'application/octet-stream' }, body: Buffer.from(new Float32Array(784).fill(Infinity).buffer) });
  assert.equal(raw.status, 400);
});

test('/health and errors reveal no absolute paths', async () => {
  const h = await fetch(url + '/health', { headers: auth });
  const text = await h.text();
  assert.doesNotMatch(text, /"\/(tmp|home|work|usr)\//, text);
  const s = await post('/search', { id: 0 });
  assert.doesNotMatch(await s.text(), /\/(tmp|home|work)\//);
});

test('the decoded pixels of one request are capped: many large PNGs are a 413 before decoding', async () => {
  const big = encodePng(new Uint8Array(64 * 64), 64, 64, 1);
  const r = await post('/embed', { png: [big, big, big, big].map((b) => Buffer.from(b).toString('base64')) });
  assert.equal(r.status, 413);
  assert.match(((await r.json()) as { message: string }).message, /16384 pixels.*limit.*12288/);
});

test('a body trickled slowly is timed out (408 or closed) within the configured request timeout', async () => {
  const { port } = new URL(url);
  const sock = connect(Number(port), '127.0.0.1');
  await once(sock, 'connect');
  const t0 = Date.now();
  sock.write(`POST /embed HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"image": [`);
  const timer = setInterval(() => sock.writable && sock.write('0,'), 200);
  let answer = '';
  sock.on('data', (d) => (answer += d));
  sock.on('error', () => {});
  await Promise.race([once(sock, 'close'), new Promise((r) => setTimeout(r, 10_000))]);
  clearInterval(timer);
  const took = Date.now() - t0;
  assert.ok(sock.destroyed || sock.readableEnded, 'connection closed by the server');
  assert.ok(took < 6000, `closed after ${took} ms`);
  assert.ok(answer === '' || /^HTTP\/1\.1 408/.test(answer), answer.slice(0, 80));
  sock.destroy();
});

test('connections beyond the cap are refused while the service still answers others', async () => {
  const { port } = new URL(url);
  const socks = await Promise.all(Array.from({ length: 12 }, async () => {
    const s = connect(Number(port), '127.0.0.1');
    s.on('error', () => {});
    await once(s, 'connect');
    return s;
  }));
  await new Promise((r) => setTimeout(r, 200));
  const closed = socks.filter((s) => s.destroyed || s.readableEnded).length;
  assert.ok(closed >= 4, `${closed} of 12 connections closed with a cap of 8`);
  for (const s of socks) s.destroy();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await fetch(url + '/health', { headers: auth })).status, 200);
});

test('binding beyond localhost without a token is refused unless --insecure', async () => {
  await assert.rejects(serve(run, { host: '0.0.0.0', port: 0, workers: 0, index: false }), /--token.*LATENTKIT_TOKEN.*--insecure/);
});

test('close (SIGTERM): new connections are refused at once, the request in flight is answered', async () => {
  const own = await createService(run, { workers: 0, index: false });
  const at = await own.app.listen({ port: 0, host: '127.0.0.1' });
  const body = JSON.stringify({ images: new Array(64).fill(zeros()) });
  const inFlight = fetch(at + '/reconstruct', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await new Promise((r) => setTimeout(r, 20));
  const closed = own.close();
  await new Promise((r) => setTimeout(r, 50));
  const { port } = new URL(at);
  const refused = await new Promise<string>((resolve) => {
    const s = connect(Number(port), '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve('accepted'); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  assert.equal(refused, 'ECONNREFUSED');
  const r = await inFlight;
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  await closed;
});

test('a JSON answer over the answer limit is a 413 before it is built; the binary answer still works', async () => {
  // 8 samples x 784 numbers is ~138 kB of JSON: over a 100 kB limit.
  const small = await createService(run, { workers: 0, index: false, maxAnswerBytes: 100_000 });
  try {
    const payload = { images: new Array(8).fill(zeros()) };
    const json = await small.app.inject({ method: 'POST', url: '/reconstruct', payload });
    assert.equal(json.statusCode, 413, json.body);
    assert.match(json.json().message, /JSON answer would take about 135 KiB \(8 x 784 numbers\); the limit is 98 KiB.*application\/octet-stream/);
    const pixels = await small.app.inject({ method: 'POST', url: '/score?pixels=1', payload });
    assert.equal(pixels.statusCode, 413);
    const scores = await small.app.inject({ method: 'POST', url: '/score', payload });
    assert.equal(scores.statusCode, 200);
    const raw = await small.app.inject({ method: 'POST', url: '/reconstruct', headers: { accept: 'application/octet-stream' }, payload });
    assert.equal(raw.statusCode, 200);
    assert.equal(raw.rawPayload.length, 8 * 784 * 4);
    const one = await small.app.inject({ method: 'POST', url: '/reconstruct', payload: { images: [zeros()] } });
    assert.equal(one.statusCode, 200);
  } finally {
    await small.close();
  }
});
