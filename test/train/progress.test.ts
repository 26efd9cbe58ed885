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

test('makeProgress off a TTY: a line per quarter with the rate in its unit, the loss only where there is one', async () => {
  const { makeProgress } = await import('../../src/train/progress.js');
  const written: string[] = [];
  const stream = { isTTY: false, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  const training = makeProgress(true, stream);
  training.start('epoch 1/2', 100);
  for (let done = 10; done <= 100; done += 10) training.update(done, { loss: 0.5, rate: 1000 });
  assert.equal(written.length, 4);
  assert.match(written[0]!, /^epoch 1\/2 30\/100 \| loss 0\.50000 1000 img\/s ETA \d+s\n$/);
  written.length = 0;
  const reading = makeProgress(true, stream);
  reading.start('encoding t.csv', 1000, 'rows/s');
  reading.update(1000, { rate: 5000 });
  assert.deepEqual(written, ['encoding t.csv 1000/1000 5000 rows/s ETA 0s\n']);
});
