// The npm package as a user gets it: `npm pack`, install the tarball into a fresh project with the
// README's install command, then type-check and run the README's TypeScript examples verbatim,
// a plain-JavaScript consumer, and the installed `latentkit` command (version, a tiny data-parallel
// training run, the playground).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fashionDataDir, HAVE_FASHION } from '../helpers/fashion-data.js';
import { readmeBlocks } from '../helpers/readme.js';
import { tempDir } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}, timeout = 600_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

test('the packed package installs, type-checks and runs from a fresh project', { timeout: 900_000 }, async (t) => {
  const work = tempDir('latentkit-pkg-');
  const packed = sh('npm', ['pack', '--pack-destination', work, '--json'], ROOT);
  assert.equal(packed.code, 0, packed.err);
  const [info] = JSON.parse(packed.out.slice(packed.out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  const tarball = join(work, info!.filename);
  const files = info!.files.map((f) => f.path);

  await t.test('the tarball holds the compiled library, its types, the worker, the playground and a LICENSE, and no tests or sources', () => {
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/runtime/grad-worker.mjs', 'dist/serve/worker.js', 'web/dist/index.html', 'bin/latentkit.js', 'bin/malloc-tuning.js', 'LICENSE', 'README.md'])
      assert.ok(files.includes(f), `${f} missing from the tarball`);
    assert.ok(files.some((f) => /^web\/dist\/assets\/.*\.wasm$/.test(f)), 'the playground has no onnxruntime-web WASM');
    const stray = files.filter((f) => /^(test|bench|scripts|src|\.ci|web\/src|web\/public)\/|^tsconfig|\.ts$/.test(f) && !f.endsWith('.d.ts'));
    assert.deepEqual(stray, []);
    assert.equal(PKG.dependencies.tsx, undefined, 'tsx must not be a runtime dependency');
  });

  // The README's install command, with the package name pointing at the tarball.
  const project = join(work, 'consumer');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const [install] = readmeBlocks('## Install as a package', 'sh');
  const command = install!.trim().replace(/ latentkit$/, ` ${tarball}`);
  assert.notEqual(command, install!.trim(), `the README's install command does not end with the package name: ${install}`);
  const installed = sh('sh', ['-c', command], project, { npm_config_audit: 'false', npm_config_fund: 'false', npm_config_prefer_offline: 'true' });
  assert.equal(installed.code, 0, installed.err);
  assert.doesNotMatch(installed.err, /EBADENGINE/, 'installing warned about engines');
  assert.ok(!existsSync(join(project, 'node_modules/tsx')), 'tsx was installed with the package');
  const bin = join(project, 'node_modules/.bin/latentkit');

  await t.test("the README's TypeScript examples compile under strict tsc and run", () => {
    const examples = readmeBlocks('## Use from TypeScript', 'ts');
    examples.forEach((code, i) => writeFileSync(join(project, `example${i}.ts`), code));
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out', skipLibCheck: false },
      include: ['*.ts'],
    }));
    const tsc = sh(process.execPath, [TSC, '-p', '.'], project);
    assert.equal(tsc.code, 0, tsc.out + tsc.err);
    const mlp = sh(process.execPath, ['out/example0.js'], project);
    assert.equal(mlp.code, 0, mlp.err);
    const m = /MSE ([\d.]+) -> ([\d.]+)/.exec(mlp.out);
    assert.ok(m, mlp.out);
    assert.ok(Number(m[2]) < Number(m[1]) / 4, `the loss did not fall: ${mlp.out}`);
    if (!HAVE_FASHION) return t.diagnostic('Fashion-MNIST not installed: the ConvAutoencoder example was compiled, not run');
    const conv = sh(process.execPath, ['out/example1.js'], project);
    assert.equal(conv.code, 0, conv.err);
    const losses = [...conv.out.matchAll(/MSE ([\d.]+)/g)].map((x) => Number(x[1]));
    assert.equal(losses.length, 10, conv.out);
    assert.ok(losses.every((l) => l > 0 && l < 0.5), conv.out);
  });

  await t.test('a plain JavaScript ES module imports the root and the serve entry', () => {
    writeFileSync(join(project, 'plain.mjs'), `
      import { Sequential, Linear, Tanh, SGD, mseLoss, TrainingStep } from 'latentkit';
      import { serve } from 'latentkit/serve';
      const model = new Sequential(new Linear(4, 2), new Tanh(), new Linear(2, 4));
      const step = await TrainingStep.create(model, [{ name: 'x', shape: [4] }], (m, [x]) => ({ loss: mseLoss(m.call(x), x) }), { optimizer: new SGD({ lr: 0.1 }) });
      const x = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i));
      const first = (await step.run([x], 8)).loss;
      let last = first;
      for (let i = 0; i < 100; i++) last = (await step.run([x], 8)).loss;
      console.log(JSON.stringify({ first, last, serve: typeof serve }));
    `);
    const r = sh(process.execPath, ['plain.mjs'], project);
    assert.equal(r.code, 0, r.err);
    const o = JSON.parse(r.out) as { first: number; last: number; serve: string };
    assert.ok(o.last < o.first, r.out);
    assert.equal(o.serve, 'function');
  });

  const data = fashionDataDir();
  const run = join(project, 'run');

  await t.test('the installed command prints its version and trains with two workers', () => {
    const v = sh(bin, ['--version'], project);
    assert.equal(v.code, 0, v.err);
    assert.equal(v.out.trim(), PKG.version);
    const r = sh(bin, ['train', '--data-dir', data, '--limit-train', '256', '--limit-valid', '64', '--epochs', '1', '--workers', '2', '--out', run, '--no-progress'], project);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /2 data-parallel workers/);
    const metrics = JSON.parse(readFileSync(join(run, '_metrics.json'), 'utf8'));
    assert.ok(metrics.best.valid.loss > 0 && metrics.best.valid.loss < 0.5, JSON.stringify(metrics.best));
  });

  await t.test('the installed command serves the prebuilt playground', async () => {
    const child = spawn(bin, ['playground', run, '--port', '0', '--data-dir', data], { cwd: project });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.stderr.on('data', (d) => (out += d));
        child.on('exit', (code) => reject(new Error(`playground exited ${code}: ${out}`)));
      });
      const page = await (await fetch(url)).text();
      assert.match(page, /<html/);
      const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(page);
      assert.ok(script, page);
      assert.equal((await fetch(url + script[1])).status, 200);
      const manifest = (await (await fetch(url + 'model/manifest.json')).json()) as { code: { size: number } };
      assert.equal(manifest.code.size, 4);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
