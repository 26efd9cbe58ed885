// The chapter's ConvAutoencoder, layer for layer, and a stronger variant with the same
// 4-number bottleneck.
import type { Tensor } from '../graph/tensor.js';
import { AvgPool2d, BatchNorm2d, Conv2d, ConvTranspose2d, MaxPool2d, ReLU, Sequential, Sigmoid } from '../nn/index.js';
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
 * Same 4-number code, more capacity: padded 3x3 convolutions with batch norm, a linear-free
 * global pooling bottleneck, and a wider decoder. Trains to a far lower MSE than the seed model.
 */
export class DeepConvAutoencoder extends Autoencoder {
  encoder: Sequential;
  decoder: Sequential;
  codeShape() {
    return [this.bottleneck, 1, 1];
  }
  constructor(readonly bottleneck = 4, width = 32) {
    super();
    const w = width;
    this.encoder = new Sequential(
      new Conv2d(1, w, 3, { padding: 1 }), new BatchNorm2d(w), new ReLU(), new MaxPool2d(2), // 14
      new Conv2d(w, 2 * w, 3, { padding: 1 }), new BatchNorm2d(2 * w), new ReLU(), new MaxPool2d(2), // 7
      new Conv2d(2 * w, 2 * w, 3), new BatchNorm2d(2 * w), new ReLU(), // 5
      new Conv2d(2 * w, bottleneck, 5), // 1
    );
    this.decoder = new Sequential(
      new ConvTranspose2d(bottleneck, 2 * w, 7), new BatchNorm2d(2 * w), new ReLU(), // 7
      new ConvTranspose2d(2 * w, w, 4, { stride: 2, padding: 1 }), new BatchNorm2d(w), new ReLU(), // 14
      new ConvTranspose2d(w, w, 4, { stride: 2, padding: 1 }), new BatchNorm2d(w), new ReLU(), // 28
      new Conv2d(w, 1, 3, { padding: 1 }), new Sigmoid(),
    );
  }
}
