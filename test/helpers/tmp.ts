// Temporary folders for tests, removed when the test process exits (set LATENTKIT_KEEP_TMP=1 to
// keep them for a post-mortem).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const created: string[] = [];

process.on('exit', () => {
  if (process.env.LATENTKIT_KEEP_TMP) return;
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'latentkit-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}
