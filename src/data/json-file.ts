// JSON files a run folder or the user provides: every failure names the file.
import { readFileSync } from 'node:fs';

/** Parse a JSON file; "PATH: cannot read WHAT (reason)" when it is missing or not JSON. */
export function readJsonFile<T = Record<string, unknown>>(path: string, what = 'JSON file'): T {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a JSON object');
    return v as T;
  } catch (e) {
    throw new Error(`${path}: ${what} is not valid JSON: ${(e as Error).message}`);
  }
}
