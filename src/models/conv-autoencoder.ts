// The chapter's ConvAutoencoder, layer for layer, and a stronger variant with the same
// 4-number bottleneck.
import type { Tensor } from '../graph/tensor.js';
import { AvgPool2d, Conv2d, ConvTranspose2d, Flatten, Linear, MaxPool2d, ReLU, Sequential, Sigmoid, Unflatten } from '../nn/index.js';
import { Module } from '../nn/module.js';

export abstract class Autoencoder extends Module {
  abstract encoder: Module;
  abstract decoder: Module;
  /** Per-sample shape of the code the encoder emits (e.g. [4, 1, 1]). */
  abstract codeShape(): number[];
  /** Number of values in one code. */
  bottleneckShape(): number {
    return this.codeShape().reduce((a, b) => a * b, 1);
  }
  /** The bottleneck: the code (embedding) of each input. */
  encode(x: Tensor): Tensor {
    return this.encoder.call(x);
  }
  decode(z: Tensor): Tensor {
    return this.decoder.call(z);
  }
  forward(x: Tensor): Tensor {
    return this.decode(this.encode(x));
  }
}

/**
 * encoder: Conv2d(1,16,4) ReLU MaxPool2d(2,2) Conv2d(16,K,4) ReLU AvgPool2d(9)  -> [N, K, 1, 1]
 * decoder: ConvTranspose2d(K,16,5,s2) ReLU ConvTranspose2d(16,4,5,s2) ReLU ConvTranspose2d(4,1,4,s2) Sigmoid
 */
export class ConvAutoencoder extends Autoencoder {
  encoder: Sequential;
  decoder: Sequential;
  codeShape() {
    return [this.bottleneck, 1, 1];
  }
  constructor(readonly bottleneck = 4) {
    super();
    this.encoder = new Sequential(new Conv2d(1, 16, 4), new ReLU(), new MaxPool2d(2, 2), new Conv2d(16, bottleneck, 4), new ReLU(), new AvgPool2d(9));
    this.decoder = new Sequential(
      new ConvTranspose2d(bottleneck, 16, 5, { stride: 2 }),
      new ReLU(),
      new ConvTranspose2d(16, 4, 5, { stride: 2 }),
      new ReLU(),
      new ConvTranspose2d(4, 1, 4, { stride: 2 }),
      new Sigmoid(),
    );
  }
}

/**
 * Same 4-number code, more capacity at little cost: strided 3x3 convolutions down to 7x7, a
 * linear bottleneck, and transposed convolutions back up. Trains to a far lower MSE than the
 * chapter's model while staying fast on a CPU.
 */
export class DeepConvAutoencoder extends Autoencoder {
  encoder: Sequential;
  decoder: Sequential;
  codeShape() {
    return [this.bottleneck];
  }
  constructor(readonly bottleneck = 4, width = 16) {
    super();
    const w = width;
    this.encoder = new Sequential(
      new Conv2d(1, w, 3, { stride: 2, padding: 1 }), new ReLU(), // 14x14
      new Conv2d(w, 2 * w, 3, { stride: 2, padding: 1 }), new ReLU(), // 7x7
      new Flatten(),
      new Linear(2 * w * 49, bottleneck),
    );
    this.decoder = new Sequential(
      new Linear(bottleneck, 2 * w * 49), new ReLU(),
      new Unflatten(1, [2 * w, 7, 7]),
      new ConvTranspose2d(2 * w, w, 4, { stride: 2, padding: 1 }), new ReLU(), // 14x14
      new ConvTranspose2d(w, 1, 4, { stride: 2, padding: 1 }), new Sigmoid(), // 28x28
    );
  }
}
