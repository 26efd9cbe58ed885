// MLP and LSTM autoencoders used by the benchmarks and as building blocks.
import type { Tensor } from '../graph/tensor.js';
import { Linear, LSTM, ReLU, Sequential, Sigmoid } from '../nn/index.js';
import type { Module } from '../nn/module.js';
import { Autoencoder } from './conv-autoencoder.js';

/** Fully connected autoencoder: sizes [in, h1, ..., code]; the decoder mirrors them, Sigmoid out. */
export class MLPAutoencoder extends Autoencoder {
  encoder: Sequential;
  decoder: Sequential;
  constructor(readonly sizes: number[]) {
    super();
    if (sizes.length < 2) throw new Error('MLPAutoencoder needs at least [input, code] sizes');
    const enc: Module[] = [];
    for (let i = 0; i + 1 < sizes.length; i++) {
      enc.push(new Linear(sizes[i]!, sizes[i + 1]!));
      if (i + 2 < sizes.length) enc.push(new ReLU());
    }
    const rev = [...sizes].reverse();
    const dec: Module[] = [];
    for (let i = 0; i + 1 < rev.length; i++) {
      dec.push(new Linear(rev[i]!, rev[i + 1]!));
      dec.push(i + 2 < rev.length ? new ReLU() : new Sigmoid());
    }
    this.encoder = new Sequential(...enc);
    this.decoder = new Sequential(...dec);
  }
  codeShape() {
    return [this.sizes[this.sizes.length - 1]!];
  }
}

/**
 * Sequence autoencoder (Srivastava et al. 2015, the chapter's Figure 5.2): the encoder LSTM's
 * final (h, c) is the code; an unconditioned decoder LSTM fed zeros from that state emits the
 * sequence in reverse order through a linear head. Input [N, T, F], batch first.
 */
export class LSTMAutoencoder extends Autoencoder {
  encoder: LSTM;
  decoder: LSTM;
  head: Linear;
  constructor(readonly features: number, readonly hidden: number, readonly steps: number, numLayers = 1) {
    super();
    this.encoder = new LSTM(features, hidden, numLayers, true, true);
    this.decoder = new LSTM(features, hidden, numLayers, true, true);
    this.head = new Linear(hidden, features);
  }
  codeShape() {
    return [2 * this.encoder.num_layers * this.hidden];
  }
  /** The code: final hidden and cell states of every layer, concatenated per sample. */
  encode(x: Tensor): Tensor {
    const [, [h, c]] = this.encoder.call(x);
    return h.op('Concat', [c], { axis: 0 }).transpose([1, 0, 2]).flatten(1);
  }
  decode(code: Tensor): Tensor {
    const L = this.encoder.num_layers, H = this.hidden;
    const hc = code.reshape([code.shape[0]!, 2 * L, H]).transpose([1, 0, 2]);
    const [h, c] = hc.split([L, L], 0) as [Tensor, Tensor];
    const [out] = this.decoder.call(null, [h, c], this.steps);
    return this.head.call(out);
  }
  /** Reconstruction target: the input reversed in time. */
  static reversed(x: Tensor): Tensor {
    const T = x.shape[1] as number;
    return x.gather(x.ints(Array.from({ length: T }, (_, i) => T - 1 - i)), 1);
  }
}
