// --resume takes the model and the training settings from the run folder: a non-default run
// resumes to the same numbers as an uninterrupted one, flags that would change it are refused
// by name, allowed overrides are recorded, and a refused or failed resume rewrites nothing.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fashionDataDir } from '../helpers/fashion-data.js';
import { tempDir } from '../helpers/tmp.js';

const DATA = fashionDataDir();
const tmp = () => tempDir('latentkit-resume-');
const cli = (args: string[]) => runCli(args, { timeoutMs: 300_000 });
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const history = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
/** Every metric of every epoch, without the timings. */
const losses = (dir: string) => history(dir).map((r: any) => ({ epoch: r.epoch, lr: r.lr, train: r.train, valid: r.valid, steps: r.steps }));

/** Every file under dir with its bytes, to show that nothing was rewritten. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out[p] = readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}

const small = ['--data-dir', DATA, '--limit-train', '256', '--limit-valid', '64', '--no-progress'];

test('train --bottleneck 10, then --resume --epochs 2: same losses as an uninterrupted run; config keeps the model; eval works', () => {
  const base = tmp();
  const full = join(base, 'full'), cut = join(base, 'cut');
  assert.equal(cli(['train', ...small, '--bottleneck', '10', '--seed', '2', '--epochs', '2', '--out', full]).code, 0);
  const first = cli(['train', ...small, '--bottleneck', '10', '--seed', '2', '--epochs', '1', '--out', cut]);
  assert.equal(first.code, 0, first.err);
  const resumed = cli(['train', '--data-dir', DATA, '--no-progress', '--out', cut, '--resume', '--epochs', '2']);
  assert.equal(resumed.code, 0, resumed.err);
  assert.deepEqual(losses(cut), losses(full));
  const cfg = readJson(join(cut, 'config.json'));
  assert.equal(cfg.model.bottleneck, 10);
  assert.equal(cfg.seed, 2);
  assert.equal(cfg.limitTrain, 256);
  assert.equal(cfg.epochs, 2);
  assert.deepEqual(cfg.resumes.map((r: any) => ({ afterEpoch: r.afterEpoch, overrides: r.overrides })), [{ afterEpoch: 1, overrides: { epochs: { run: 1, now: 2 } } }]);
  const ev = cli(['eval', cut, '--data-dir', DATA, '--limit', '64']);
  assert.equal(ev.code, 0, ev.err);
});

test('--resume refuses flags that would change the model or data, naming each, and rewrites nothing', () => {
  const cut = join(tmp(), 'cut');
  assert.equal(cli(['train', ...small, '--bottleneck', '10', '--epochs', '1', '--out', cut]).code, 0);
  const before = snapshot(cut);
  const r = cli(['train', '--data-dir', DATA, '--out', cut, '--resume', '--epochs', '2', '--seed', '5', '--limit-train', '100', '--bottleneck', '4', '--preset', 'cnn']);
  assert.notEqual(r.code, 0);
  for (const flag of ['--seed 5', '--limit-train 100', '--bottleneck 4', '--preset cnn']) assert.ok(r.err.includes(flag), `${flag} not named in: ${r.err}`);
  assert.match(r.err, /config\.json/);
  assert.match(r.err, /--epochs.*--lr/s, 'the message says what may be changed');
  assert.deepEqual(snapshot(cut), before);
  // Flags that repeat the run's own values are fine.
  const same = cli(['train', ...small, '--bottleneck', '10', '--epochs', '2', '--out', cut, '--resume']);
  assert.equal(same.code, 0, same.err);
});

test('--resume --lr is an override: used from the next epoch and recorded in config.json', () => {
  const cut = join(tmp(), 'cut');
  assert.equal(cli(['train', ...small, '--epochs', '1', '--out', cut]).code, 0);
  const r = cli(['train', '--data-dir', DATA, '--no-progress', '--out', cut, '--resume', '--epochs', '2', '--lr', '0.001']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(history(cut).map((h: any) => h.lr), [0.02, 0.001]);
  const cfg = readJson(join(cut, 'config.json'));
  assert.equal(cfg.lr, 0.001);
  assert.deepEqual(cfg.resumes[0].overrides, { epochs: { run: 1, now: 2 }, lr: { run: 0.02, now: 0.001 } });
});

test('a resume whose checkpoint cannot be loaded fails by file name and rewrites nothing', () => {
  const cut = join(tmp(), 'cut');
  assert.equal(cli(['train', ...small, '--bottleneck', '10', '--epochs', '1', '--out', cut]).code, 0);
  const last = join(cut, 'checkpoints', 'last.safetensors');
  writeFileSync(last, readFileSync(last).subarray(0, 100));
  const before = snapshot(cut);
  const r = cli(['train', '--data-dir', DATA, '--out', cut, '--resume', '--epochs', '2']);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /last\.safetensors/);
  assert.deepEqual(snapshot(cut), before);
  // A run folder whose config.json is not JSON: the error names the file.
  writeFileSync(join(cut, 'config.json'), '{"model": ');
  const bad = cli(['train', '--data-dir', DATA, '--out', cut, '--resume', '--epochs', '2']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /config\.json/);
  for (const cmd of [['eval', cut, '--data-dir', DATA, '--limit', '8'], ['report', cut, '-o', join(cut, '..', 'r.html')]]) {
    const r2 = cli(cmd);
    assert.notEqual(r2.code, 0, cmd[0]);
    assert.match(r2.err, /config\.json: run config is not valid JSON/, cmd[0]);
  }
});

/** A small table: two correlated numeric columns and a category. */
function tableCsv(): string {
  const p = join(tmp(), 'data.csv');
  const lines = ['a,b,c'];
  for (let i = 0; i < 200; i++) lines.push(`${Math.sin(i)},${Math.sin(i) * 2 + (i % 7) / 10},${['x', 'y', 'z'][i % 3]}`);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

test('train-tabular (mlp, --bottleneck 3) resumed equals the uninterrupted run; changed flags are refused', () => {
  const csv = tableCsv();
  const base = tmp();
  const args = ['train-tabular', csv, '--preset', 'mlp', '--hidden', '16', '--bottleneck', '3', '--seed', '4', '--batch-size', '32', '--no-progress'];
  assert.equal(cli([...args, '--epochs', '2', '--out', join(base, 'full')]).code, 0);
  assert.equal(cli([...args, '--epochs', '1', '--out', join(base, 'cut')]).code, 0);
  const refused = cli(['train-tabular', csv, '--out', join(base, 'cut'), '--resume', '--epochs', '2', '--bottleneck', '5', '--valid-fraction', '0.5']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /--bottleneck 5/);
  assert.match(refused.err, /--valid-fraction 0\.5/);
  const r = cli(['train-tabular', csv, '--out', join(base, 'cut'), '--resume', '--epochs', '2', '--no-progress']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(losses(join(base, 'cut')), losses(join(base, 'full')));
  assert.equal(readJson(join(base, 'cut', 'config.json')).model.bottleneck, 3);
});

test('train-seq (lstm-timeseries, --hidden 6 --window 8) resumed equals the uninterrupted run', () => {
  const p = join(tmp(), 'ts.csv');
  const lines = ['x,y'];
  for (let i = 0; i < 120; i++) lines.push(`${Math.sin(i / 5)},${Math.cos(i / 7)}`);
  writeFileSync(p, lines.join('\n') + '\n');
  const base = tmp();
  const args = ['train-seq', '--csv', p, '--hidden', '6', '--window', '8', '--stride', '2', '--seed', '1', '--no-progress'];
  assert.equal(cli([...args, '--epochs', '2', '--out', join(base, 'full')]).code, 0);
  assert.equal(cli([...args, '--epochs', '1', '--out', join(base, 'cut')]).code, 0);
  const refused = cli(['train-seq', '--csv', p, '--out', join(base, 'cut'), '--resume', '--window', '10']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /--window 10/);
  const r = cli(['train-seq', '--csv', p, '--out', join(base, 'cut'), '--resume', '--epochs', '2', '--no-progress']);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(losses(join(base, 'cut')), losses(join(base, 'full')));
  assert.equal(readJson(join(base, 'cut', 'config.json')).model.hidden, 6);
});
