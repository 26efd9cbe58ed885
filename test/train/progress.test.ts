import assert from 'node:assert/strict';
import { test } from 'node:test';
import { remainingSeconds } from '../../src/train/progress.js';

test('remainingSeconds: each kind costs its own finished mean, split over the workers', () => {
  const finished = [{ kind: 'dae', seconds: 18 }, { kind: 'dae', seconds: 22 }, { kind: 'raw', seconds: 6 }];
  // 2 dae (20 s each) + 3 raw (6 s each) = 58 s of work on 2 workers.
  assert.equal(remainingSeconds(finished, ['dae', 'dae', 'raw', 'raw', 'raw'], 2), 29);
  assert.equal(remainingSeconds(finished, ['dae'], 1), 20);
});

test('remainingSeconds: an unseen kind costs the mean of all finished tasks; nothing finished gives no estimate', () => {
  const finished = [{ kind: 'dae', seconds: 20 }, { kind: 'raw', seconds: 10 }];
  assert.equal(remainingSeconds(finished, ['bottleneck'], 1), 15);
  assert.equal(remainingSeconds(finished, [], 2), 0);
  assert.equal(remainingSeconds([], ['dae'], 2), undefined);
});
