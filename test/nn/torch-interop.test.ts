// Weights written by latentkit load into the chapter's PyTorch module (strict state_dict) and
// give the same reconstructions. Needs a Python with torch (Debian python3-torch); skipped otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConvAutoencoder } from '../../src/models/conv-autoencoder.js';
import { manualSeed } from '../../src/nn/init.js';
import { saveSafetensors } from '../../src/nn/safetensors.js';
import { ForwardGraph, ParamStore } from '../../src/runtime/compile.js';
import { Rng } from '../../src/util/random.js';
import { tempDir } from '../helpers/tmp.js';

const PY = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);

test('latentkit safetensors load into PyTorch and reconstruct identically', { skip: PY ? false : 'no Python with torch here' }, async () => {
  manualSeed(11);
  const model = new ConvAutoencoder();
  const dir = tempDir('latentkit-torch-');
  const weights = join(dir, 'w.safetensors');
  saveSafetensors(weights, model.stateDict());
  const B = 3;
  const x = new Rng(4).fillUniform(new Float32Array(B * 784));
  writeFileSync(join(dir, 'x.f32'), Buffer.from(x.buffer));
  const fg = await ForwardGraph.create(model, [{ name: 'x', shape: [1, 28, 28] }], (m, [t]) => ({ loss: t!.sum(), outputs: { y: m.call(t!) } }), new ParamStore(model));
  const ours = (await fg.run([x], B)).outputs.y!;
  const script = new URL('../../scripts/torch_load_check.py', import.meta.url).pathname;
  const r = spawnSync(PY!, [script, weights, join(dir, 'x.f32'), String(B)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const theirs = JSON.parse(r.stdout).output as number[];
  assert.equal(theirs.length, ours.length);
  theirs.forEach((v, i) => assert.ok(Math.abs(v - ours[i]!) < 1e-5, `pixel ${i}: torch ${v} vs latentkit ${ours[i]}`));
});
