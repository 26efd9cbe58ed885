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
 * Same 4-number code, more capacity at little cost: strided 3x3 convolutions, a linear
 * bottleneck, and transposed convolutions back up. Trains to a far lower MSE than the
 * chapter's model while staying fast on a CPU. Built for any [C, H, W]: one stride-2 stage per
 * halving until the feature map is at most 8 on its short side (28x28: two stages down to 7x7,
 * the original design; 32: 8x8; 64: three stages; 128: four), channels doubling up to 4 x width.
 */
export class DeepConvAutoencoder extends Autoencoder {
  encoder: Sequential;
  decoder: Sequential;
  codeShape() {
    return [this.bottleneck];
  }
  constructor(readonly bottleneck = 4, width = 16, inputShape: readonly number[] = [1, 28, 28]) {
    super();
    const [c, h, w] = inputShape as [number, number, number];
    if (inputShape.length !== 3 || !(c >= 1) || !(h >= 2 && w >= 2)) throw new Error(`DeepConvAutoencoder: input [${inputShape}] must be [C, H, W] with H, W >= 2`);
    // Spatial sizes after each stage: a stride-2 conv (k3, p1) maps n -> ceil(n / 2).
    const sizes: [number, number][] = [[h, w]];
    while (Math.min(...sizes[sizes.length - 1]!) > 8) {
      const [sh, sw] = sizes[sizes.length - 1]!;
      sizes.push([Math.ceil(sh / 2), Math.ceil(sw / 2)]);
    }
    if (sizes.length === 1) sizes.push([Math.ceil(h / 2), Math.ceil(w / 2)]); // tiny inputs: one stage
    const stages = sizes.length - 1;
    const ch = (i: number) => (i === 0 ? c : width * 2 ** Math.min(i - 1, 2)); // channels after stage i
    const [fh, fw] = sizes[stages]!;
    const flat = ch(stages) * fh * fw;
    const enc = [];
    for (let i = 1; i <= stages; i++) enc.push(new Conv2d(ch(i - 1), ch(i), 3, { stride: 2, padding: 1 }), new ReLU());
    this.encoder = new Sequential(...enc, new Flatten(), new Linear(flat, bottleneck));
    const dec = [new Linear(bottleneck, flat), new ReLU(), new Unflatten(1, [ch(stages), fh, fw])];
    for (let i = stages; i >= 1; i--) {
      // Back to the exact size of the stage before: k4 doubles (n -> 2n); k3 gives 2n - 1 (odd sizes).
      const [th] = sizes[i - 1]!;
      const [sh] = sizes[i]!;
      const [tw] = sizes[i - 1]!.slice(1);
      const [sw] = sizes[i]!.slice(1);
      const even = th === 2 * sh && tw === 2 * sw;
      const up = even
        ? new ConvTranspose2d(ch(i), ch(i - 1), 4, { stride: 2, padding: 1 })
        : new ConvTranspose2d(ch(i), ch(i - 1), 3, { stride: 2, padding: 1, output_padding: [th - (2 * sh - 1), tw - (2 * sw - 1)] });
      dec.push(up, i === 1 ? new Sigmoid() : new ReLU());
    }
    this.decoder = new Sequential(...dec);
  }
}
