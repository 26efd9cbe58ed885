// Small models several tests build the same way.
import type { Tensor } from '../../src/graph/tensor.js';
import { Linear, LSTM, Module } from '../../src/nn/index.js';

/**
 * Sequence autoencoder as the PyTorch fixtures define it (scripts/make_parity_fixtures.py): the
 * encoder's final state seeds a decoder run on zeros, a Linear head maps back to the features.
 */
export class LstmAE extends Module {
  encoder: LSTM;
  decoder: LSTM;
  head: Linear;
  constructor(features: number, hidden: number, layers: number) {
    super();
    this.encoder = new LSTM(features, hidden, layers, true, true);
    this.decoder = new LSTM(features, hidden, layers, true, true);
    this.head = new Linear(hidden, features);
  }
  forward(x: Tensor) {
    const [, state] = this.encoder.call(x);
    const [out] = this.decoder.call(x.zerosLike(), state);
    return this.head.call(out);
  }
}
