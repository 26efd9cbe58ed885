// A tiny static file server (node:http) for the browser playground: the built web app
// (web/dist) at /, and a web bundle of a run (see web-bundle.ts) at /model/.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** web/dist of this package (the same relative path from src/ under tsx and from dist/ when compiled). */
export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../../web/dist', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

export interface PlaygroundServerOptions {
  /** Folder written by writeWebBundle, served at /model/. */
  modelDir: string;
  /** Built web app (default web/dist of this package). */
  distDir?: string;
  port?: number;
  host?: string;
}

export interface PlaygroundServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Resolve a URL path inside root, or undefined when it escapes root or names no file. */
function fileIn(root: string, urlPath: string): string | undefined {
  const rel = normalize(decodeURIComponent(urlPath)).replace(/^([/\\])+/, '');
  const full = resolve(root, rel);
  if (full !== resolve(root) && !full.startsWith(resolve(root) + sep)) return undefined;
  if (!existsSync(full)) return undefined;
  const st = statSync(full);
  if (st.isDirectory()) {
    const index = join(full, 'index.html');
    return existsSync(index) ? index : undefined;
  }
  return st.isFile() ? full : undefined;
}

export async function startPlaygroundServer(o: PlaygroundServerOptions): Promise<PlaygroundServer> {
  const dist = o.distDir ?? DEFAULT_WEB_DIST;
  if (!existsSync(join(dist, 'index.html')))
    throw new Error(`${dist}: the playground is not built (no index.html); run \`npm run build:web\` in the latentkit folder first`);
  if (!existsSync(join(o.modelDir, 'manifest.json'))) throw new Error(`${o.modelDir}: no manifest.json; write it with \`latentkit web-bundle RUN -o DIR\``);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let file: string | undefined;
    try {
      file = path.startsWith('/model/') ? fileIn(o.modelDir, path.slice('/model/'.length)) : fileIn(dist, path);
    } catch {
      file = undefined;
    }
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}\n`);
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': body.byteLength,
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(o.port ?? 8080, o.host ?? '127.0.0.1', () => ok());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/`,
    server,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
