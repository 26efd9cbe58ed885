// Learning-rate schedules, evaluated on the host once per epoch as pure functions of the
// epoch and the metric history (so a resumed run computes the same rates).

export type Schedule =
  | { kind: 'constant' }
  | { kind: 'step'; stepSize: number; gamma: number }
  | { kind: 'cosine'; tMax: number; etaMin: number }
  | { kind: 'plateau'; factor: number; patience: number; minLr: number };

/** Learning rate for 0-based `epoch`, given the valid metric of each finished epoch (lower is better). */
export function lrForEpoch(s: Schedule, base: number, epoch: number, history: number[]): number {
  switch (s.kind) {
    case 'constant':
      return base;
    case 'step':
      return base * s.gamma ** Math.floor(epoch / s.stepSize);
    case 'cosine':
      return s.etaMin + ((base - s.etaMin) * (1 + Math.cos((Math.PI * Math.min(epoch, s.tMax)) / s.tMax))) / 2;
    case 'plateau': {
      let lr = base, best = Infinity, bad = 0;
      for (const m of history.slice(0, epoch)) {
        if (m < best) {
          best = m;
          bad = 0;
        } else if (++bad > s.patience) {
          lr = Math.max(lr * s.factor, s.minLr);
          bad = 0;
        }
      }
      return lr;
    }
  }
}

export function parseSchedule(spec: string | undefined, epochs: number): Schedule {
  if (!spec || spec === 'constant') return { kind: 'constant' };
  const [name, ...args] = spec.split(':');
  const nums = args.map(Number);
  if (name === 'step') return { kind: 'step', stepSize: nums[0] ?? 10, gamma: nums[1] ?? 0.1 };
  if (name === 'cosine') return { kind: 'cosine', tMax: nums[0] ?? epochs, etaMin: nums[1] ?? 0 };
  if (name === 'plateau') return { kind: 'plateau', factor: nums[0] ?? 0.1, patience: nums[1] ?? 2, minLr: nums[2] ?? 0 };
  throw new Error(`unknown LR schedule "${spec}"; use constant, step[:size[:gamma]], cosine[:tmax[:eta_min]] or plateau[:factor[:patience[:min_lr]]]`);
}
