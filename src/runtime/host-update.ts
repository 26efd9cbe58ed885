// The optimizer update on the host: parameters and optimizer state live in one WebAssembly
// memory, the training graph outputs gradients, and the optimizer's `hostUpdate` applies them
// in place with SIMD kernels. Why: onnxruntime runs an in-graph update as ~13 out-of-place
// passes per parameter and copies every updated tensor out; see DESIGN.md, "The optimizer
// update on the host".
import { MAX_KERNEL_BYTES, UpdateKernels, slotBytes, type Slot } from '../optim/kernels.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { ParamStore } from './compile.js';
import { ort, tensor } from './ort.js';

interface Held {
  key: string;
  slot: Slot;
  /** The store's tensor for `key`: a view of `slot`. */
  tensor: ort.Tensor;
}

interface Entry {
  param: Held;
  state: Held[];
  grad: Slot;
}

export class HostUpdate {
  private readonly byName = new Map<string, Entry>();
  private readonly scratch: Slot;

  private constructor(
    private readonly k: UpdateKernels,
    private readonly store: ParamStore,
    private readonly optimizer: Optimizer,
    names: string[],
  ) {
    const hold = (key: string): Held => {
      const t = store.values.get(key)!;
      const slot = k.alloc(t.size);
      k.view(slot).set(t.data as Float32Array);
      return { key, slot, tensor: tensor('float32', k.view(slot), [...t.dims]) };
    };
    let largest = 0;
    for (const name of names) {
      const param = hold(name);
      const state = optimizer.stateNames().map((s) => hold(`${name}.${s}`));
      this.byName.set(name, { param, state, grad: k.alloc(param.slot.n) });
      largest = Math.max(largest, param.slot.n);
    }
    this.scratch = k.alloc(largest);
    this.adopt();
  }

  /**
   * For `names` (trained parameters, in order), or undefined where the update stays in the
   * graph: an optimizer without a host form, or more than wasm32's 4 GiB of values.
   */
  static create(store: ParamStore, names: string[], optimizer: Optimizer): HostUpdate | undefined {
    if (!optimizer.hostUpdate) return undefined;
    store.ensureOptimizerState(optimizer);
    const arrays = 2 + optimizer.stateNames().length;
    let bytes = 0, largest = 0;
    for (const name of names) {
      const n = store.values.get(name)!.size;
      bytes += arrays * slotBytes(n);
      largest = Math.max(largest, n);
    }
    bytes += slotBytes(largest);
    if (bytes > MAX_KERNEL_BYTES) return undefined;
    return new HostUpdate(new UpdateKernels(bytes), store, optimizer, names);
  }

  /**
   * Make the store's tensors the views of kernel memory again: a value replaced since the last
   * step (a restored checkpoint, best weights put back) is copied in first. `apply` does this;
   * a step that fed a replaced tensor fed the same values.
   */
  adopt(): void {
    for (const { param, state } of this.byName.values())
      for (const h of [param, ...state]) {
        const cur = this.store.values.get(h.key);
        if (cur === h.tensor) continue;
        if (cur) this.k.view(h.slot).set(cur.data as Float32Array);
        this.store.values.set(h.key, h.tensor);
      }
  }

  /** Write a parameter's gradient (the first thread's share, or the whole batch's). */
  setGrad(name: string, data: Float32Array): void {
    this.k.view(this.entry(name).grad).set(data);
  }

  /** Add another thread's share to a parameter's gradient (after setGrad: same order as the graph's sum). */
  addGrad(name: string, data: Float32Array): void {
    const { grad } = this.entry(name);
    const scratch = { ptr: this.scratch.ptr, n: grad.n };
    this.k.view(scratch).set(data);
    this.k.add(grad, scratch);
  }

  /** Optimizer step `t` (1-based) on every parameter, in place. */
  apply(t: number): void {
    this.adopt();
    for (const { param, state, grad } of this.byName.values()) this.optimizer.hostUpdate!(this.k, param.slot, grad, state.map((h) => h.slot), t);
  }

  private entry(name: string): Entry {
    const e = this.byName.get(name);
    if (!e) throw new Error(`no host-updated parameter ${name}`);
    return e;
  }
}
