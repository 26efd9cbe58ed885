// Preallocated outputs for the values a graph carries from one run into the next (updated
// parameters, optimizer state, running statistics). onnxruntime-node writes a fetched output into
// a tensor passed in `fetches` (the result it hands back is still a copy, which we drop), so the
// store adopts our tensors rather than fresh ones each step. Two sets are used in turn so a run
// never writes into its own inputs. Opt-in (TrainingOptions.preallocateOutputs): it lowers peak
// RSS but, with that returned copy, costs time on onnxruntime-node 1.30 (DESIGN.md notes).
import { emptyLike, type OrtTensor } from './ort.js';

export class CarriedOutputs {
  private readonly sets: Map<string, OrtTensor>[] = [];

  /** `carried`: [store key, graph output name] for every value the next run reads back. */
  constructor(private readonly carried: readonly (readonly [string, string])[]) {}

  /**
   * The fetches for the next run: the set none of whose tensors is a current input (the store
   * may hold either set, or tensors loaded from elsewhere). Allocated on first use, shaped like
   * the current values (carried values never depend on the batch size).
   */
  fetches(current: ReadonlyMap<string, OrtTensor>): Record<string, OrtTensor> {
    const set = this.pick(current);
    const out: Record<string, OrtTensor> = {};
    for (const [key, name] of this.carried) out[name] = set.get(key)!;
    return out;
  }

  /** After a successful run: make the tensors just written the store's current values. */
  adopt(fetches: Record<string, OrtTensor>, values: Map<string, OrtTensor>): void {
    for (const [key, name] of this.carried) values.set(key, fetches[name]!);
  }

  private pick(current: ReadonlyMap<string, OrtTensor>): Map<string, OrtTensor> {
    while (this.sets.length < 2) this.sets.push(new Map(this.carried.map(([key]) => [key, emptyLike(current.get(key)!)])));
    const inUse = (set: Map<string, OrtTensor>) => this.carried.some(([key]) => current.get(key) === set.get(key));
    return inUse(this.sets[0]!) ? this.sets[1]! : this.sets[0]!;
  }
}
