// One command-line convention for every command (README "Command line"), checked on the command
// tree itself so a new command cannot drift from it, plus the exit codes of the real binary.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Command, Option } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { runCli } from '../helpers/cli.js';

const program = buildProgram();
const leaves = (c: Command): Command[] => (c.commands.length ? c.commands.flatMap(leaves) : [c]);
const commands = leaves(program).filter((c) => c.name() !== 'help');
const option = (c: Command, long: string): Option | undefined => c.options.find((o) => o.long === long);
const readsRun = (c: Command) => c.registeredArguments[0]?.name() === 'run';

/** Commands that report numbers, so scripts want them as JSON. */
const REPORTING = ['train', 'train-seq', 'train-tabular', 'eval', 'search', 'embed-eval', 'anomaly', 'compress', 'probe', 'column-errors'];
/** Commands that read a run but no weights (loss curves come from metrics.jsonl). */
const NO_WEIGHTS = ['plot'];

test('the tree has every command', () => {
  assert.ok(commands.length >= 25, commands.map((c) => c.name()).join(' '));
});

test('an output is -o everywhere: --output, or --out for the run folder of the train commands', () => {
  for (const c of commands) {
    const o = c.options.find((x) => x.short === '-o');
    const long = c.options.find((x) => x.long === '--out' || x.long === '--output');
    if (!o && !long) continue;
    assert.ok(o, `${c.name()}: ${long!.long} has no -o`);
    assert.equal(o.long, c.name().startsWith('train') ? '--out' : '--output', `${c.name()}: -o is ${o.long}`);
  }
});

test('every command that reads a run takes --checkpoint best|last', () => {
  for (const c of commands.filter(readsRun)) {
    if (NO_WEIGHTS.includes(c.name())) continue;
    const o = option(c, '--checkpoint');
    assert.ok(o, `${c.name()} has no --checkpoint`);
    assert.deepEqual(o.argChoices, ['best', 'last'], c.name());
  }
});

test('counts are spelled -n/--count', () => {
  for (const c of commands) {
    for (const o of c.options) assert.ok(!['--n', '--num', '--number'].includes(o.long ?? ''), `${c.name()} ${o.flags}`);
    const count = option(c, '--count');
    if (count) assert.equal(count.short, '-n', `${c.name()}: --count without -n`);
  }
});

test('every command that reports numbers has a --json switch', () => {
  for (const name of REPORTING) {
    const c = commands.find((x) => x.name() === name);
    assert.ok(c, `no command ${name}`);
    const o = option(c, '--json');
    assert.ok(o, `${name} has no --json`);
    assert.equal(o.required || o.optional, false, `${name}: --json takes a value; it must be a switch`);
  }
});

test('--version prints the package version; usage errors exit 2, failures exit 1', () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const v = runCli(['--version']);
  assert.equal(v.code, 0);
  assert.equal(v.out.trim(), version);
  const unknown = runCli(['eval', 'somewhere', '--no-such-option']);
  assert.equal(unknown.code, 2, unknown.err);
  assert.match(unknown.err, /unknown option '--no-such-option'/);
  const badValue = runCli(['train', '--epochs', 'many']);
  assert.equal(badValue.code, 2, badValue.err);
  const badFormat = runCli(['explain', 'conv-transpose', '-o', 'figure.jpg']);
  assert.equal(badFormat.code, 2, badFormat.err);
  assert.match(badFormat.err, /figure\.jpg: cannot write "\.jpg" files; use \.png/);
  const failure = runCli(['eval', '/nonexistent-run']);
  assert.equal(failure.code, 1, failure.err);
  assert.match(failure.err, /\/nonexistent-run: not a latentkit run/);
});

test('-o - writes the one output file to stdout and keeps status lines off it', () => {
  const r = runCli(['explain', 'conv-transpose', '-o', '-'], { encoding: 'buffer' });
  assert.equal(r.code, 0);
  const out = r.out as unknown as Buffer;
  assert.deepEqual([...out.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'stdout is not a PNG');
});
