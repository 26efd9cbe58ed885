// The optimizer's host kernels (kernels.wat, compiled to WebAssembly SIMD) over one linear
// memory that holds parameters, optimizer state and gradients as float32 arrays. Why on the
// host: see DESIGN.md, "The optimizer update on the host".
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

/** A float32 array in kernel memory: byte offset and length, padded to whole 16-byte vectors. */
export interface Slot {
  ptr: number;
  n: number;
}

interface Exports {
  axpy(dst: number, src: number, n: number, c: number): void;
  add(dst: number, src: number, n: number): void;
  scale(dst: number, n: number, c: number): void;
  adam(p: number, g: number, m: number, v: number, n: number, b1: number, omb1: number, b2: number, omb2: number, invSqrtBc2: number, eps: number, stepSize: number): void;
}

const PAGE = 65536;
/** wasm32's limit: 65,536 pages of 64 KiB. */
export const MAX_KERNEL_BYTES = 65536 * PAGE;

let compiled: WebAssembly.Module | undefined;
function kernelModule(): WebAssembly.Module {
  return (compiled ??= new WebAssembly.Module(Uint8Array.from(atob(KERNELS_WASM_BASE64), (c) => c.charCodeAt(0))));
}

/** Bytes a float32 array of n values takes in kernel memory (whole 64-byte lines, so slots stay aligned). */
export const slotBytes = (n: number): number => Math.ceil(n / 16) * 64;

/**
 * Elementwise float32 operations on slots, each rounded as an ONNX node is, so that an update
 * written with them equals the graph form bit for bit: `axpy` is Add(dst, Mul(src, c)),
 * `add` is Add, `scale` is Mul, `adam` is Adam's thirteen nodes in torch.optim.Adam's order.
 */
export class UpdateKernels {
  readonly memory: WebAssembly.Memory;
  private readonly k: Exports;
  private used = 0;

  constructor(bytes: number) {
    if (bytes > MAX_KERNEL_BYTES) throw new RangeError(`kernel memory of ${bytes} bytes exceeds wasm32's 4 GiB`);
    this.memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)) });
    this.k = new WebAssembly.Instance(kernelModule(), { env: { memory: this.memory } }).exports as unknown as Exports;
  }

  /** A new zeroed slot of n floats (memory never grows, so views stay valid). */
  alloc(n: number): Slot {
    const ptr = this.used;
    this.used += slotBytes(n);
    if (this.used > this.memory.buffer.byteLength) throw new RangeError('kernel memory exhausted');
    return { ptr, n };
  }

  view(s: Slot): Float32Array {
    return new Float32Array(this.memory.buffer, s.ptr, s.n);
  }

  axpy(dst: Slot, src: Slot, c: number): void {
    this.k.axpy(dst.ptr, src.ptr, dst.n, c);
  }
  add(dst: Slot, src: Slot): void {
    this.k.add(dst.ptr, src.ptr, dst.n);
  }
  scale(dst: Slot, c: number): void {
    this.k.scale(dst.ptr, dst.n, c);
  }
  adam(p: Slot, g: Slot, m: Slot, v: Slot, h: { b1: number; b2: number; invSqrtBc2: number; eps: number; stepSize: number }): void {
    this.k.adam(p.ptr, g.ptr, m.ptr, v.ptr, p.n, h.b1, 1 - h.b1, h.b2, 1 - h.b2, h.invSqrtBc2, h.eps, h.stepSize);
  }
}
