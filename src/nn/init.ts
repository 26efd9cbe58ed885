// PyTorch's default initialisations, drawn from latentkit's seeded generator.
import { Rng } from '../util/random.js';

let globalRng = new Rng(0);

/** Like torch.manual_seed: fixes every later default initialisation. */
export function manualSeed(seed: number): void {
  globalRng = new Rng(seed);
}

export function initRng(): Rng {
  return globalRng;
}

export function uniform(n: number, bound: number, rng = globalRng): Float32Array {
  return rng.fillUniform(new Float32Array(n), -bound, bound);
}

export function normal(n: number, std = 1, rng = globalRng): Float32Array {
  return rng.fillNormal(new Float32Array(n), 0, std);
}

/** kaiming_uniform_(a=√5) as used by Linear/Conv reduces to U(±1/√fan_in); biases use the same bound. */
export function fanInBound(fanIn: number): number {
  return fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
}
