// The command line's output convention, in one place:
// - a command's one output file is `-o PATH`; `-o -` writes it to stdout (status lines then go
//   to stderr, so the data stays clean);
// - the file format follows the extension, and an extension the command cannot write is an error;
// - `--json` prints one JSON object on stdout instead of the human-readable lines.
import { InvalidArgumentError, Option } from 'commander';
import { extname } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';

export const STDOUT = '-';

export const outputOption = (what: string, fallback?: string) => {
  const o = new Option('-o, --output <PATH>', `${what} ("-": stdout)`);
  return fallback === undefined ? o : o.default(fallback);
};

/** `-o DIR` for commands that write a folder (stdout cannot hold one). */
export const outputDirOption = (what: string, fallback?: string) => {
  const o = new Option('-o, --output <DIR>', what).argParser((v: string) => {
    if (v === STDOUT) throw new InvalidArgumentError('this command writes a folder, which cannot go to stdout');
    return v;
  });
  return fallback === undefined ? o : o.default(fallback);
};

/** `-o PATH` for a command whose output cannot go to stdout (several files, or one it reads back). */
export const filesOutputOption = (what: string, why: string) =>
  new Option('-o, --output <PATH>', what).argParser((v: string) => {
    if (v === STDOUT) throw new InvalidArgumentError(`this command writes ${why}, which cannot go to stdout`);
    return v;
  });

export const jsonOption = () => new Option('--json', 'print one JSON object on stdout instead of text');

/** A mistake in how the command was called: exits with code 2, like commander's own. */
export class UsageError extends Error {}

/**
 * The format a path asks for by its extension, from the ones the command writes. `-` (stdout)
 * takes the first one.
 */
export function formatOf<F extends string>(path: string, formats: Record<string, F>, flag = '-o'): F {
  const known = Object.keys(formats);
  if (path === STDOUT) return formats[known[0]!]!;
  const lower = path.toLowerCase();
  const ext = known.find((e) => lower.endsWith(e));
  if (!ext) throw new UsageError(`${flag} ${path}: cannot write "${extname(path) || '(no extension)'}" files; use ${known.join(' or ')}`);
  return formats[ext]!;
}

/** Write a command's output file, or stdout for `-`. */
export function writeOutput(path: string, data: Uint8Array | string): void {
  if (path === STDOUT) process.stdout.write(data);
  else writeFileAtomic(path, data);
}

export interface Reporter {
  /** A status line ("wrote x.png"): stdout, or stderr when the data goes to stdout. */
  status(line: string): void;
  /** The command's result: `text` lines, or `data` as one JSON object with --json. */
  result(data: object, text: string | string[]): void;
}

export function reporter(o: { output?: unknown; json?: boolean }): Reporter {
  const dataOnStdout = o.output === STDOUT || o.json === true;
  return {
    status: (line) => (dataOnStdout ? process.stderr : process.stdout).write(`${line}\n`),
    result: (data, text) => {
      if (o.json) process.stdout.write(`${JSON.stringify(data)}\n`);
      else (o.output === STDOUT ? process.stderr : process.stdout).write([text].flat().map((l) => `${l}\n`).join(''));
    },
  };
}
