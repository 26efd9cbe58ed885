// LSTM with PyTorch's parameter layout (gates i, f, g, o), unrolled at trace time.
import { formatShape } from '../graph/ir.js';
import { Tensor } from '../graph/tensor.js';
import { fanInBound, uniform } from './init.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';

export type LSTMState = [Tensor, Tensor];

export class LSTM extends Module {
  [name: string]: any;
  constructor(
    readonly input_size: number,
    readonly hidden_size: number,
    readonly num_layers = 1,
    readonly bias = true,
    readonly batch_first = false,
  ) {
    super();
    const b = fanInBound(hidden_size);
    const h4 = 4 * hidden_size;
    for (let l = 0; l < num_layers; l++) {
      const inp = l === 0 ? input_size : hidden_size;
      this[`weight_ih_l${l}`] = new Parameter(uniform(h4 * inp, b), [h4, inp]);
      this[`weight_hh_l${l}`] = new Parameter(uniform(h4 * hidden_size, b), [h4, hidden_size]);
      if (bias) {
        this[`bias_ih_l${l}`] = new Parameter(uniform(h4, b), [h4]);
        this[`bias_hh_l${l}`] = new Parameter(uniform(h4, b), [h4]);
      }
    }
  }

  /**
   * x: [N, T, F] if batch_first else [T, N, F]. state: (h0, c0), each [num_layers, N, H].
   * Returns [output (same layout as x, H features), [h_n, c_n]]. With x = null the inputs are
   * zeros for `steps` steps (an unconditioned decoder).
   */
  forward(x: Tensor | null, state?: LSTMState, steps?: number): [Tensor, LSTMState] {
    if (x === null) {
      if (!state || !steps) throw new Error('an LSTM fed zeros (x = null) needs an initial state and a number of steps');
      return this.forwardZeros(steps, state);
    }
    if (x.rank !== 3 || x.shape[2] !== this.input_size) throw new Error(`expected 3-D input with ${this.input_size} features, got ${formatShape(x.shape)}`);
    const seq = this.batch_first ? x : x.transpose([1, 0, 2]); // [N, T, F]
    const T = seq.shape[1];
    if (typeof T !== 'number') throw new Error('sequence length must be static');
    return this.unroll(seq, T, state);
  }

  /**
   * Run `steps` steps on all-zero inputs from `state` (an unconditioned decoder): the input
   * projection is then just the bias, so it is skipped. Output layout as in forward.
   */
  forwardZeros(steps: number, state: LSTMState): [Tensor, LSTMState] {
    return this.unroll(undefined, steps, state);
  }

  private unroll(seq: Tensor | undefined, T: number, state?: LSTMState): [Tensor, LSTMState] {
    const anchor = seq ?? state![0];
    const x = anchor;
    const H = this.hidden_size;
    let layerIn = seq;
    const hn: Tensor[] = [];
    const cn: Tensor[] = [];
    for (let l = 0; l < this.num_layers; l++) {
      const wih = this.param(x.g, this[`weight_ih_l${l}`]);
      const whh = this.param(x.g, this[`weight_hh_l${l}`]);
      // All input projections at once: one [N*T, F] x [F, 4H] product instead of T small ones.
      const bias = this.bias ? this.param(x.g, this[`bias_ih_l${l}`]).add(this.param(x.g, this[`bias_hh_l${l}`])) : undefined;
      let steps: (Tensor | undefined)[];
      if (layerIn) {
        let proj = layerIn.matmul(wih.transpose([1, 0]));
        if (bias) proj = proj.add(bias);
        steps = (T === 1 ? [proj] : proj.split(new Array(T).fill(1), 1)).map((t) => t.squeeze([1]));
      } else {
        void wih;
        steps = new Array(T).fill(bias);
      }
      let h = state ? state[0].slice([l], [l + 1], [0]).squeeze([0]) : undefined;
      let c = state ? state[1].slice([l], [l + 1], [0]).squeeze([0]) : undefined;
      const outs: Tensor[] = [];
      for (let t = 0; t < T; t++) {
        const rec = h ? h.gemm(whh, undefined, { transB: 1 }) : undefined; // [N, 4H]
        const inp = steps[t];
        const gates = inp && rec ? rec.add(inp) : (rec ?? inp);
        if (!gates) throw new Error('an LSTM fed zeros needs a bias or an initial state');
        const [i, f, gg, o] = gates.split([H, H, H, H], 1) as [Tensor, Tensor, Tensor, Tensor];
        const ig = i.sigmoid().mul(gg.tanh());
        c = c ? f.sigmoid().mul(c).add(ig) : ig;
        h = o.sigmoid().mul(c.tanh());
        outs.push(h.unsqueeze([1]));
      }
      layerIn = T === 1 ? outs[0]! : Tensor.concat(outs, 1);
      hn.push(h!.unsqueeze([0]));
      cn.push(c!.unsqueeze([0]));
    }
    const out = this.batch_first ? layerIn! : layerIn!.transpose([1, 0, 2]);
    const stack = (ts: Tensor[]) => (ts.length === 1 ? ts[0]! : Tensor.concat(ts, 0));
    return [out, [stack(hn), stack(cn)]];
  }
}
