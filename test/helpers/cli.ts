// Run the latentkit command as a user would (a child process), for end-to-end tests.
import { spawnSync } from 'node:child_process';

export const BIN = new URL('../../bin/latentkit.js', import.meta.url).pathname;

export function runCli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; encoding?: 'utf8' | 'buffer' } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: opts.encoding ?? 'utf8', env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000 });
  return { code: r.status, out: r.stdout as string, err: String(r.stderr) };
}
