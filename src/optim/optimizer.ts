// Optimizers as graph builders: the update for each parameter is appended to the training
// graph; host-side scalars (learning rate, bias corrections) are fed every step so that
// schedules need no rebuild.
import type { Tensor } from '../graph/tensor.js';
import type { Slot, UpdateKernels } from './kernels.js';

export interface ParamUpdate {
  param: Tensor;
  state: Tensor[];
}

export abstract class Optimizer {
  constructor(public lr: number) {}
  abstract readonly name: string;
  /** Names of the per-parameter state tensors (zero-initialised, same shape as the parameter). */
  abstract stateNames(): string[];
  /** Scalar inputs for optimizer step `t` (1-based). */
  abstract scalars(t: number): Record<string, number>;
  abstract update(p: Tensor, grad: Tensor, state: Tensor[], s: Record<string, Tensor>): ParamUpdate;
  /**
   * The same update on host arrays, in place, bit for bit what `update` computes (the same
   * float32 operations in the same order); `grad` may be overwritten. Optimizers without it
   * are applied in the graph only.
   */
  hostUpdate?(k: UpdateKernels, p: Slot, grad: Slot, state: Slot[], t: number): void;
  /** Hyperparameters for checkpoints. */
  abstract config(): Record<string, unknown>;
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weight_decay?: number;
}

/** Adam (and AdamW with decoupled weight decay), following torch.optim.Adam step by step. */
export class Adam extends Optimizer {
  readonly name: string = 'adam';
  readonly betas: [number, number];
  readonly eps: number;
  readonly weight_decay: number;
  protected decoupled = false;
  constructor(opts: AdamOptions = {}) {
    super(opts.lr ?? 1e-3);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weight_decay = opts.weight_decay ?? 0;
  }
  stateNames() {
    return ['exp_avg', 'exp_avg_sq'];
  }
  scalars(t: number) {
    const [b1, b2] = this.betas;
    return {
      step_size: this.lr / (1 - b1 ** t),
      inv_sqrt_bc2: 1 / Math.sqrt(1 - b2 ** t),
      decay: this.decoupled ? 1 - this.lr * this.weight_decay : 1,
    };
  }
  update(p: Tensor, grad: Tensor, [m, v]: Tensor[], s: Record<string, Tensor>): ParamUpdate {
    const [b1, b2] = this.betas;
    const g = !this.decoupled && this.weight_decay ? grad.add(p.mul(this.weight_decay)) : grad;
    const m2 = m!.mul(b1).add(g.mul(1 - b1));
    const v2 = v!.mul(b2).add(g.square().mul(1 - b2));
    const denom = v2.sqrt().mul(s.inv_sqrt_bc2!).add(this.eps);
    const base = this.decoupled && this.weight_decay ? p.mul(s.decay!) : p;
    return { param: base.sub(m2.div(denom).mul(s.step_size!)), state: [m2, v2] };
  }
  hostUpdate(k: UpdateKernels, p: Slot, grad: Slot, [m, v]: Slot[], t: number): void {
    const [b1, b2] = this.betas;
    const s = this.scalars(t);
    if (!this.decoupled && this.weight_decay) k.axpy(grad, p, this.weight_decay);
    if (this.decoupled && this.weight_decay) k.scale(p, s.decay);
    k.adam(p, grad, m!, v!, { b1, b2, invSqrtBc2: s.inv_sqrt_bc2, eps: this.eps, stepSize: s.step_size });
  }
  config() {
    return { name: this.name, lr: this.lr, betas: this.betas, eps: this.eps, weight_decay: this.weight_decay };
  }
}

export class AdamW extends Adam {
  override readonly name: string = 'adamw';
  constructor(opts: AdamOptions = {}) {
    super({ weight_decay: 0.01, ...opts });
    this.decoupled = true;
  }
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  weight_decay?: number;
}

/** SGD with momentum (PyTorch form: buf = μ·buf + g; dampening 0), optional Nesterov. */
export class SGD extends Optimizer {
  readonly name = 'sgd';
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weight_decay: number;
  constructor(opts: SGDOptions) {
    super(opts.lr);
    this.momentum = opts.momentum ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weight_decay = opts.weight_decay ?? 0;
    if (this.nesterov && this.momentum <= 0) throw new Error('Nesterov momentum requires a momentum > 0');
  }
  stateNames() {
    return this.momentum ? ['momentum_buffer'] : [];
  }
  scalars() {
    return { lr: this.lr };
  }
  update(p: Tensor, grad: Tensor, state: Tensor[], s: Record<string, Tensor>): ParamUpdate {
    let g = this.weight_decay ? grad.add(p.mul(this.weight_decay)) : grad;
    const newState: Tensor[] = [];
    if (this.momentum) {
      const buf = state[0]!.mul(this.momentum).add(g);
      newState.push(buf);
      g = this.nesterov ? g.add(buf.mul(this.momentum)) : buf;
    }
    return { param: p.sub(g.mul(s.lr!)), state: newState };
  }
  hostUpdate(k: UpdateKernels, p: Slot, grad: Slot, state: Slot[]): void {
    if (this.weight_decay) k.axpy(grad, p, this.weight_decay);
    let step = grad;
    if (this.momentum) {
      const buf = state[0]!;
      k.scale(buf, this.momentum);
      k.add(buf, grad);
      if (this.nesterov) k.axpy(grad, buf, this.momentum);
      else step = buf;
    }
    // p - step*lr, as p + step*(-lr): float32 negation is exact.
    k.axpy(p, step, -this.scalars().lr);
  }
  config() {
    return { name: this.name, lr: this.lr, momentum: this.momentum, nesterov: this.nesterov, weight_decay: this.weight_decay };
  }
}

export type OptimizerKind = 'adam' | 'adamw' | 'sgd';

/** The optimizer a preset or config file names; SGD gets momentum 0.9, weight decay the class default unless given. */
export function makeOptimizer(kind: OptimizerKind, lr: number, weightDecay?: number): Optimizer {
  const wd = weightDecay === undefined ? {} : { weight_decay: weightDecay };
  if (kind === 'adamw') return new AdamW({ lr, ...wd });
  if (kind === 'sgd') return new SGD({ lr, momentum: 0.9 });
  return new Adam({ lr, ...wd });
}
