// The HTTP service: a trained run behind /embed, /reconstruct, /score, /search, /health and
// /metrics, plus /generate for models with a prior (VAEs) (fastify). Inference runs in worker threads with micro-batching (pool.ts), so
// concurrent requests share onnxruntime calls and the HTTP thread never blocks on a model.
//
// Bodies: JSON {"images": [[...784 numbers], ...]} (nested [1][28][28] or [28][28] also fine),
// {"png": ["<base64>", ...]}, one image as image/png (or JPEG, WebP...), or raw little-endian
// float32 samples as application/octet-stream. Answers are JSON, or with Accept: image/png
// (reconstruct) or application/octet-stream (embed, reconstruct) binary.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { Server as NetServer } from 'node:net';
import { basename, resolve } from 'node:path';
import { loadRun } from '../train/run-folder.js';
import { decodeImage, ImageDecodeError, imagePixels } from '../data/image-file.js';
import { EmbeddingSearch, resolveEmbeddings, type NeighborRow } from '../tasks/embed/search.js';
import { VariationalAutoencoder } from '../models/vae.js';
import { Rng } from '../util/random.js';
import { imageGridPng } from '../viz/png.js';
import { Metrics } from './metrics.js';
import { InferencePool, OverloadedError, type PoolOptions } from './pool.js';

export interface ServeOptions extends PoolOptions {
  port?: number;
  host?: string;
  /** Largest request body in bytes (default 8 MiB). */
  bodyLimit?: number;
  /** Most samples in one request (default 256, and never above maxBatch). */
  maxRequestBatch?: number;
  /** Largest k for /search (default 100). */
  maxK?: number;
  /**
   * Embeddings for /search: a Parquet file written by `embed` (its index beside it); default
   * the run's latest; false for none.
   */
  index?: string | false;
  /** Anomaly threshold for /score (samples above it are flagged). */
  threshold?: number;
  /** fastify's request log on stdout (default off). */
  logger?: boolean;
  /** Required as `Authorization: Bearer TOKEN` on every request when set. */
  token?: string;
  /** Allow binding beyond localhost without a token. */
  insecure?: boolean;
  /** Most open connections (default 1024); more are closed at once. */
  maxConnections?: number;
  /** Most image pixels decoded for one request, all images together (default 64 Mi). */
  maxPixelsPerRequest?: number;
  /** Slow-client limits in ms: headers, whole request (body included), idle keep-alive, idle socket. */
  timeouts?: { headersMs?: number; requestMs?: number; keepAliveMs?: number; connectionMs?: number };
}

/** Absolute paths in a message shown as their last part: answers do not reveal the server's files. */
export function redactPaths(message: string): string {
  return message.replace(/(^|[\s"'(=:])\/(?:[^\s"'():,]+\/)+([^\s"'():,/]*)/g, (_m, pre: string, last: string) => `${pre}…/${last}`);
}

export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

const STATUS_NAMES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 408: 'Request Timeout', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 500: 'Internal Server Error', 503: 'Service Unavailable' };

interface Samples {
  data: Float32Array;
  n: number;
}

export interface Service {
  app: FastifyInstance;
  pool: InferencePool;
  search?: EmbeddingSearch;
  /** Stop accepting requests, finish those in flight, stop the workers. */
  close(): Promise<void>;
}

/** Build the service (not listening yet; see serve()). */
export async function createService(runDir: string, opts: ServeOptions = {}): Promise<Service> {
  const run = loadRun(runDir, opts.checkpoint ?? 'best');
  const pool = await InferencePool.create(runDir, opts);
  let search: EmbeddingSearch | undefined;
  if (opts.index !== false) {
    try {
      search = await EmbeddingSearch.open(resolveEmbeddings(runDir, opts.index));
    } catch (e) {
      if (opts.index) {
        await pool.close();
        throw e;
      }
      // No embeddings yet: /search answers 404 until the service is started with some.
    }
    if (search && search.embeddings.dim !== pool.codeSize) {
      await pool.close();
      throw new Error(`${search.parquet}: codes of ${search.embeddings.dim} values, but this run's codes have ${pool.codeSize}; embed with this run first`);
    }
  }
  const inputShape = pool.inputShape;
  const inputSize = pool.inputSize;
  const codeSize = pool.codeSize;
  const maxReq = Math.min(opts.maxRequestBatch ?? 256, pool.maxBatch);
  const maxK = opts.maxK ?? 100;
  const bodyLimit = opts.bodyLimit ?? 8 * 1024 * 1024;
  const started = Date.now();
  let closing = false;

  // Shutdown: stop accepting connections, but answer every request that reached us, on
  // connections that then close (see close() below); no 503s or resets for work already sent.
  const t = opts.timeouts ?? {};
  const requestTimeout = t.requestMs ?? 30_000, headersTimeout = Math.min(t.headersMs ?? 10_000, requestTimeout);
  const app = Fastify({
    logger: opts.logger ?? false, bodyLimit, return503OnClosing: false, forceCloseConnections: false,
    // A client that trickles its headers or body, or idles, is cut off (408 or closed). Node
    // checks these limits every connectionsCheckingInterval (30 s by default), so check as often
    // as the shortest limit needs.
    serverFactory: (handler) => {
      const server = createServer({ requestTimeout, headersTimeout, keepAliveTimeout: t.keepAliveMs ?? 5_000, connectionsCheckingInterval: Math.max(100, Math.min(headersTimeout, requestTimeout) / 4) }, handler);
      server.setTimeout(t.connectionMs ?? 60_000, (socket) => socket.destroy());
      server.maxConnections = opts.maxConnections ?? 1024;
      return server;
    },
  });
  const maxPixels = opts.maxPixelsPerRequest ?? 64 * 1024 * 1024;
  const expectedAuth = opts.token ? Buffer.from(`Bearer ${opts.token}`) : undefined;
  let lastRequestAt = 0;
  app.addHook('onRequest', async (req, reply) => {
    lastRequestAt = Date.now();
    if (closing) void reply.header('connection', 'close');
    if (expectedAuth) {
      const given = Buffer.from(String(req.headers.authorization ?? ''));
      // Constant-time comparison: the answer time does not leak how much of the token matched.
      if (given.length !== expectedAuth.length || !timingSafeEqual(given, expectedAuth)) {
        void reply.header('www-authenticate', 'Bearer');
        throw new HttpError(401, 'missing or wrong bearer token: send "Authorization: Bearer TOKEN"');
      }
    }
  });
  const metrics = new Metrics();
  metrics.gauge('latentkit_inference_queue_samples', 'Samples waiting for an executor.', () => pool.stats().queuedSamples);
  metrics.gauge('latentkit_inference_busy_executors', 'Executors running a batch now.', () => pool.stats().busy);
  metrics.gauge('latentkit_inference_executors', 'Inference executors (worker threads).', () => pool.stats().executors);
  metrics.counter('latentkit_inference_batches_total', 'onnxruntime calls made.', () => pool.stats().batches);
  metrics.counter('latentkit_inference_samples_total', 'Samples run through the model.', () => pool.stats().samples);
  metrics.counter('latentkit_inference_worker_restarts_total', 'Inference workers replaced after a crash.', () => pool.stats().restarts);
  metrics.gauge('process_resident_memory_bytes', 'Resident memory of the process.', () => process.memoryUsage().rss);

  // Binary bodies: images (decoded by sharp) and raw float32. Plain text is not an input.
  app.removeContentTypeParser('text/plain');
  for (const type of ['application/octet-stream', /^image\/[\w.+-]+$/])
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    let status = err.statusCode ?? 500;
    let message = err.message;
    if (err instanceof ImageDecodeError) status = 400;
    if (err instanceof OverloadedError) status = 503;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = `request body exceeds the limit of ${bodyLimit} bytes`;
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') message = `unsupported Content-Type "${req.headers['content-type'] ?? ''}"; send application/json, image/png (or another image type) or application/octet-stream (raw float32)`;
    if (status >= 500 && !(err instanceof OverloadedError)) {
      req.log.error(err);
      message = `internal error: ${err.message}`;
    }
    void reply.code(status).send({ error: STATUS_NAMES[status] ?? 'Error', statusCode: status, message: redactPaths(message) });
  });
  const hasPrior = run.model instanceof VariationalAutoencoder;
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'Not Found', statusCode: 404, message: `no route ${req.method} ${req.url.split('?')[0]}; routes: GET /health, GET /metrics, POST /embed, /reconstruct, /score, /search${hasPrior ? ', /generate' : ''}` });
  });

  // ------------------------------------------------------------------------------------------
  // Reading samples from a request.

  const checkCount = (n: number) => {
    if (n === 0) throw new HttpError(400, 'no samples in the request');
    if (n > maxReq) throw new HttpError(413, `${n} samples in one request; the limit is ${maxReq}`);
  };

  /** Copy one (possibly nested) array of numbers into dst[off..off+size). */
  const fillSample = (v: unknown, dst: Float32Array, off: number, where: string) => {
    let k = 0;
    const walk = (x: unknown, depth: number): void => {
      if (Array.isArray(x)) {
        if (depth > 4) throw new HttpError(400, `${where}: arrays nested too deep; expected shape [${inputShape}] or ${inputSize} flat values`);
        for (const y of x) walk(y, depth + 1);
        return;
      }
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new HttpError(400, `${where}: expected finite numbers, found ${JSON.stringify(x)?.slice(0, 20)}`);
      if (!Number.isFinite(Math.fround(x))) throw new HttpError(400, `${where}: ${x} is beyond the 32-bit floats the model computes in (3.4e38)`);
      if (k >= inputSize) throw new HttpError(400, `${where}: more than ${inputSize} values; expected shape [${inputShape}]`);
      dst[off + k++] = x;
    };
    walk(v, 0);
    if (k !== inputSize) throw new HttpError(400, `${where}: ${k} values; expected ${inputSize} (shape [${inputShape}])`);
  };

  const fromRaw = (body: Buffer, size: number, what: string): Samples => {
    const bytes = size * 4;
    if (body.length === 0) throw new HttpError(400, 'empty body');
    if (body.length % bytes !== 0) throw new HttpError(400, `raw body of ${body.length} bytes is not a whole number of ${what} (${size} float32 values = ${bytes} bytes each)`);
    const n = body.length / bytes;
    checkCount(n);
    const data = new Float32Array(n * size);
    new Uint8Array(data.buffer).set(body);
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw new HttpError(400, `raw body: value ${i} is not finite`);
    return { data, n };
  };

  const fromPng = async (list: unknown): Promise<Samples> => {
    const items = typeof list === 'string' ? [list] : list;
    if (!Array.isArray(items) || items.some((s) => typeof s !== 'string')) throw new HttpError(400, '"png" must be a base64 string or an array of them');
    checkCount(items.length);
    const data = new Float32Array(items.length * inputSize);
    const decoded = (items as string[]).map((s) => Buffer.from(s, 'base64'));
    // Read every image's size from its header first: the request's pixels are capped before any decoding.
    let pixels = 0;
    for (const b of decoded) pixels += await imagePixels(b);
    if (pixels > maxPixels) throw new HttpError(413, `the images of this request hold ${pixels} pixels; the limit is ${maxPixels} per request`);
    await Promise.all(
      decoded.map(async (bytes, i) => {
        if (!bytes.length) throw new HttpError(400, `png[${i}]: empty or not base64`);
        try {
          data.set(await decodeImage(bytes, inputShape), i * inputSize);
        } catch (e) {
          throw new HttpError(400, `png[${i}]: ${(e as Error).message}`);
        }
      }),
    );
    return { data, n: items.length };
  };

  const fromJson = async (b: Record<string, unknown>): Promise<Samples> => {
    if (b.png !== undefined) return fromPng(b.png);
    let items: unknown[];
    let name: string;
    if (b.images !== undefined) {
      if (!Array.isArray(b.images)) throw new HttpError(400, '"images" must be an array of samples');
      items = b.images;
      name = 'images';
    } else if (b.image !== undefined) {
      items = [b.image];
      name = 'image';
    } else throw new HttpError(400, `expected "images" (an array of samples of shape [${inputShape}]), "image" (one sample) or "png" (base64 strings)`);
    checkCount(items.length);
    const data = new Float32Array(items.length * inputSize);
    items.forEach((s, i) => fillSample(s, data, i * inputSize, name === 'image' ? 'image' : `images[${i}]`));
    return { data, n: items.length };
  };

  const jsonBody = (req: FastifyRequest): Record<string, unknown> | undefined => {
    const b = req.body;
    if (Buffer.isBuffer(b) || b === undefined || b === null) return undefined;
    if (typeof b !== 'object' || Array.isArray(b)) throw new HttpError(400, 'the JSON body must be an object, e.g. {"images": [[...]]}');
    return b as Record<string, unknown>;
  };

  const samplesOf = async (req: FastifyRequest): Promise<Samples> => {
    const b = req.body;
    if (Buffer.isBuffer(b)) {
      const ct = String(req.headers['content-type'] ?? '').toLowerCase();
      if (ct.startsWith('image/')) {
        if (!b.length) throw new HttpError(400, 'empty image body');
        const pixels = await imagePixels(b);
        if (pixels > maxPixels) throw new HttpError(413, `the image holds ${pixels} pixels; the limit is ${maxPixels} per request`);
        return { data: await decodeImage(b, inputShape), n: 1 };
      }
      return fromRaw(b, inputSize, 'samples');
    }
    const j = jsonBody(req);
    if (!j) throw new HttpError(400, 'missing body: send JSON {"images": [...]}, an image, or raw float32');
    return fromJson(j);
  };

  const sendImages = (reply: FastifyReply, images: Float32Array, n: number) => {
    const [c, h, w] = inputShape as [number, number, number];
    if (inputShape.length !== 3 || (c !== 1 && c !== 3)) throw new HttpError(406, 'this model does not output images');
    return reply.type('image/png').send(imageGridPng(images, { n, channels: c, height: h, width: w, cols: Math.min(n, 16), pad: n === 1 ? 0 : 2 }));
  };
  const wants = (req: FastifyRequest, type: string) => String(req.headers.accept ?? '').toLowerCase().includes(type);
  /** Model outputs as JSON rows; a non-finite value is a 500 with a message, never a null in a 200. */
  const rows = (a: Float32Array, n: number, size: number) => {
    const bad = a.subarray(0, n * size).findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new HttpError(500, `the model produced a non-finite value (${a[bad]}) for sample ${Math.floor(bad / size)}`);
    return Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * size, (i + 1) * size)));
  };
  const sendRaw = (reply: FastifyReply, a: Float32Array, shape: number[]) =>
    reply.type('application/octet-stream').header('x-shape', shape.join(',')).send(Buffer.from(a.buffer, a.byteOffset, a.byteLength));

  // ------------------------------------------------------------------------------------------
  // Routes.

  app.get('/health', async (_req, reply) => {
    const body = {
      status: closing ? 'shutting down' : 'ok',
      run: basename(resolve(runDir)),
      model: run.modelConfig,
      inputShape,
      codeSize,
      index: search ? { file: basename(search.parquet), rows: search.embeddings.n } : null,
      generate: hasPrior,
      threshold: opts.threshold ?? null,
      limits: { bodyBytes: bodyLimit, batch: maxReq, k: maxK },
      pool: pool.stats(),
      uptimeSeconds: (Date.now() - started) / 1000,
    };
    return reply.code(closing ? 503 : 200).send(body);
  });

  app.get('/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()));

  app.post('/embed', async (req, reply) => {
    const s = await samplesOf(req);
    const { codes } = await pool.submit('encode', s.data, s.n);
    if (wants(req, 'application/octet-stream')) return sendRaw(reply, codes!, [s.n, codeSize]);
    return { n: s.n, dim: codeSize, codes: rows(codes!, s.n, codeSize) };
  });

  app.post('/reconstruct', async (req, reply) => {
    const s = await samplesOf(req);
    const { recon } = await pool.submit('forward', s.data, s.n);
    if (wants(req, 'image/png')) return sendImages(reply, recon!, s.n);
    if (wants(req, 'application/octet-stream')) return sendRaw(reply, recon!, [s.n, ...inputShape]);
    const mse = Array.from({ length: s.n }, (_, i) => {
      let e = 0;
      for (let j = i * inputSize; j < (i + 1) * inputSize; j++) e += (recon![j]! - s.data[j]!) ** 2;
      return e / inputSize;
    });
    return { n: s.n, shape: inputShape, reconstructions: rows(recon!, s.n, inputSize), mse };
  });

  app.post('/score', async (req) => {
    const s = await samplesOf(req);
    const { recon } = await pool.submit('forward', s.data, s.n);
    const pixels = (req.query as Record<string, string | undefined>).pixels;
    const withPixels = pixels === '1' || pixels === 'true';
    const scores: number[] = [];
    const errors: number[][] = [];
    for (let i = 0; i < s.n; i++) {
      let e = 0;
      const px: number[] = [];
      for (let j = i * inputSize; j < (i + 1) * inputSize; j++) {
        const d = (recon![j]! - s.data[j]!) ** 2;
        e += d;
        if (withPixels) px.push(d);
      }
      scores.push(e / inputSize);
      if (withPixels) errors.push(px);
    }
    const t = opts.threshold;
    return { n: s.n, scores, threshold: t ?? null, anomalous: t === undefined ? null : scores.map((v) => v > t), ...(withPixels ? { pixelErrors: errors } : {}) };
  });

  app.post('/search', async (req) => {
    if (!search) throw new HttpError(404, 'no embeddings index loaded; run latentkit embed RUN, then start the service again (or pass --index FILE.parquet)');
    const q = req.query as Record<string, string | undefined>;
    const j = jsonBody(req);
    const kRaw = j?.k ?? q.k ?? 10;
    const k = Number(kRaw);
    if (!Number.isInteger(k) || k < 1 || k > maxK) throw new HttpError(400, `k must be an integer from 1 to ${maxK}, got ${JSON.stringify(kRaw)}`);
    const exact = j?.exact === true || q.exact === '1' || q.exact === 'true';
    type Result = { query: Record<string, unknown>; neighbors: Omit<NeighborRow, 'row'>[] };
    const strip = (ns: NeighborRow[]) => ns.map(({ id, label, split, distance }) => ({ id, label, split, distance }));
    const results: Result[] = [];
    if (j && j.id !== undefined) {
      const ids = Array.isArray(j.id) ? j.id : [j.id];
      checkCount(ids.length);
      for (const id of ids) {
        if (!Number.isInteger(id)) throw new HttpError(400, `"id" must be an integer (or a list), got ${JSON.stringify(id)}`);
        if (j.split !== undefined && typeof j.split !== 'string') throw new HttpError(400, '"split" must be a string');
        let ns: NeighborRow[];
        try {
          ns = search.searchId(id as number, k, { exact, split: j.split as string | undefined });
        } catch (e) {
          throw new HttpError(404, (e as Error).message);
        }
        results.push({ query: { id }, neighbors: strip(ns) });
      }
      return { k, results };
    }
    let vectors: Float32Array;
    let n: number;
    if (j && j.vector !== undefined) {
      const vs = Array.isArray(j.vector) && Array.isArray(j.vector[0]) ? (j.vector as unknown[]) : [j.vector];
      checkCount(vs.length);
      vectors = new Float32Array(vs.length * codeSize);
      vs.forEach((v, i) => {
        if (!Array.isArray(v) || v.length !== codeSize || v.some((x) => typeof x !== 'number' || !Number.isFinite(Math.fround(x))))
          throw new HttpError(400, `vector${vs.length > 1 ? `[${i}]` : ''}: expected ${codeSize} finite numbers within the 32-bit float range (3.4e38)`);
        vectors.set(v as number[], i * codeSize);
      });
      n = vs.length;
    } else {
      const s = await samplesOf(req);
      vectors = (await pool.submit('encode', s.data, s.n)).codes!;
      n = s.n;
    }
    for (let i = 0; i < n; i++) results.push({ query: { index: i }, neighbors: strip(search.searchVector(vectors.subarray(i * codeSize, (i + 1) * codeSize), k, { exact })) });
    return { k, results };
  });

  if (hasPrior)
    app.post('/generate', async (req, reply) => {
      // Samples from the prior N(0, std² I), decoded: {"n": 16, "seed": 0, "std": 1}.
      const j = jsonBody(req) ?? {};
      const q = req.query as Record<string, string | undefined>;
      const num = (name: string, def: number) => {
        const v = j[name] ?? q[name] ?? def;
        const x = Number(v);
        if (typeof v === 'boolean' || !Number.isFinite(x)) throw new HttpError(400, `"${name}" must be a number, got ${JSON.stringify(v)}`);
        return x;
      };
      const n = num('n', 1);
      if (!Number.isInteger(n) || n < 1) throw new HttpError(400, `"n" must be a positive integer, got ${n}`);
      checkCount(n);
      const seed = num('seed', Math.floor(Math.random() * 2 ** 31));
      const std = num('std', 1);
      if (!(std > 0)) throw new HttpError(400, `"std" must be positive, got ${std}`);
      const codes = new Rng(seed).fillNormal(new Float32Array(n * codeSize), 0, std);
      const { recon } = await pool.submit('decode', codes, n);
      if (wants(req, 'image/png')) return sendImages(reply, recon!, n);
      if (wants(req, 'application/octet-stream')) return sendRaw(reply, recon!, [n, ...inputShape]);
      return { n, seed, std, codes: rows(codes, n, codeSize), images: rows(recon!, n, inputSize) };
    });

  return {
    app,
    pool,
    search,
    async close() {
      if (closing) return;
      closing = true;
      // Stop accepting at once. http's server.close() would also destroy connections with no
      // request in progress, including those whose request is sent but not yet read (the client
      // sees a reset), so only the listening socket is closed here (net.Server's close). Then
      // drain: answers carry Connection: close, /health says 503, until no request has started
      // for 300 ms (at most 3 s); then close the rest.
      // net.Server emits 'close' once the listening socket is closed AND every connection has
      // ended: that, not app.close() (which returns at once on a server no longer listening),
      // is when every request in flight has been answered.
      const drained = new Promise<void>((resolve) => app.server.once('close', () => resolve()));
      if (app.server.listening) NetServer.prototype.close.call(app.server);
      const t0 = Date.now();
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      await sleep(300);
      while (Date.now() - lastRequestAt < 300 && Date.now() - t0 < 3000) await sleep(50);
      // Keep-alive connections that become idle later would hold the server open: close them.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 250);
      try {
        await Promise.race([drained, sleep(8000)]);
        await app.close();
      } catch (e) {
        // The listening socket is already closed (above): that is not a failure.
        if ((e as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') throw e;
      } finally {
        clearInterval(sweep);
      }
      await pool.close();
    },
  };
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

export interface RunningService extends Service {
  url: string;
}

/** Listen on host:port; SIGTERM and SIGINT shut down gracefully (in-flight requests finish). */
export async function serve(runDir: string, opts: ServeOptions = {}, onLog: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<RunningService> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host) && !opts.token && !opts.insecure)
    throw new Error(`--host ${host} exposes the service beyond this machine: give a token (--token or LATENTKIT_TOKEN) that clients send as "Authorization: Bearer TOKEN", or --insecure to serve without one`);
  const svc = await createService(runDir, opts);
  const url = await svc.app.listen({ port: opts.port ?? 8080, host: opts.host ?? '127.0.0.1' });
  const stop = (signal: string) => {
    onLog(`${signal}: finishing requests in flight, then exiting`);
    const force = setTimeout(() => {
      onLog('shutdown took over 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    svc.close().then(
      () => process.exit(0),
      (e) => {
        onLog(`shutdown failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return { ...svc, url };
}
