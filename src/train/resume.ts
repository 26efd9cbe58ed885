// Resuming a run: the run folder's config.json decides the model, the data and the training
// settings. Flags that would change them are refused by name; --epochs (extends the run) and
// --lr (an override from the next epoch) may change, and are recorded in config.json.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { readJsonFile } from '../data/json-file.js';
import { quote } from '../util/quote.js';

/** How a run is computed or shown, never what it computes: free to differ on --resume. */
export const EXECUTION_OPTIONS = ['out', 'resume', 'dataDir', 'steps', 'logEvery', 'earlyStopping', 'threads', 'workers', 'progress', 'log', 'callbacks'];

/** Settings a resume may change; the change is recorded as an override. */
export const RESUME_OVERRIDABLE = ['epochs', 'lr'];

/** A flag's value as the user would type it (a short string bare), else quoted and cut short. */
const asTyped = (v: unknown) => (typeof v === 'string' && v.length <= 40 ? v : quote(v));

export type Overrides = Record<string, { run: unknown; now: unknown }>;

/** One setting the user gave: its flag, the value given and the run's value. */
export interface GivenSetting {
  key: string;
  label: string;
  given: unknown;
  run: unknown;
}

export function runConfigPath(dir: string): string {
  return join(dir, 'config.json');
}

/** The run's config.json, or an error naming it. */
export function readRunConfig(dir: string): Record<string, unknown> {
  const path = runConfigPath(dir);
  if (!existsSync(path)) throw new Error(`--resume: ${path} does not exist; nothing to resume (pass the --out folder of an earlier run)`);
  return readJsonFile(path, 'run config');
}

/** Options whose flag turns them off. */
const NEGATED: Record<string, string> = { progress: '--no-progress', shuffle: '--no-shuffle' };

export const flagName = (key: string) => NEGATED[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * The settings among `given` (the options the user typed; undefined = not given) other than
 * execution options, each with the run's value from `run` (undefined = the run has none).
 */
export function givenSettings(given: Record<string, unknown>, run: Record<string, unknown>): GivenSetting[] {
  return Object.entries(given)
    .filter(([k, v]) => v !== undefined && !EXECUTION_OPTIONS.includes(k))
    .map(([key, v]) => ({ key, label: flagName(key), given: v, run: run[key] }));
}

/**
 * Check what a resume was given against the run. Throws, naming every flag that would change
 * the model or the data; returns the overrides (given settings that may change, and do).
 */
export function checkResume(dir: string, settings: GivenSetting[]): Overrides {
  const overrides: Overrides = {};
  const changed: string[] = [];
  for (const s of settings) {
    if (isDeepStrictEqual(s.given, s.run)) continue;
    if (RESUME_OVERRIDABLE.includes(s.key)) overrides[s.key] = { run: s.run, now: s.given };
    else changed.push(`${s.label} ${asTyped(s.given)} (run: ${s.run === undefined ? 'not set' : asTyped(s.run)})`);
  }
  if (changed.length)
    throw new Error(
      `${runConfigPath(dir)}: --resume continues the run as configured there; these flags would change its model or data: ${changed.join(', ')}. ` +
        `With --resume you may give --epochs (extends the run), --lr (an override from the next epoch, recorded in config.json) and ${EXECUTION_OPTIONS.filter((k) => !['log', 'callbacks', 'resume'].includes(k)).map(flagName).join(', ')}; ` +
        'to train something else, use a new --out folder',
    );
  return overrides;
}

/** A resume's entry in config.json `resumes`: where it started and what it overrode. */
export interface ResumeRecord {
  afterEpoch: number;
  step: number;
  overrides: Overrides;
  at: string;
}
