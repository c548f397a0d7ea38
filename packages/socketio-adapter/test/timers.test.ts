import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_TIMEOUT_MS, setDeadline } from '../src/timers.js';
import { VirtualScheduler } from './support.js';

const S = suite('long timers');

S('a deadline beyond 2^31 ms is chained in links of at most 2^31 - 1 ms and fires at the deadline, not after 1 ms', () => {
  const v = new VirtualScheduler();
  const delay = 40 * 24 * 3600 * 1000; // 40 days
  const deadline = v.time + delay;
  let firedAt = 0;
  setDeadline(() => (firedAt = v.time), deadline, v);
  v.advance(1000);
  assert.is(firedAt, 0, 'did not fire early (the overflow bug)');
  v.advance(delay);
  assert.is(firedAt, deadline);
  assert.ok(v.delays.every((d) => d <= MAX_TIMEOUT_MS));
  assert.is(v.delays.length, 2);
});

S('just past 2^31 ms, and exactly 2^31 - 1 ms', () => {
  for (const delay of [2 ** 31, 2 ** 31 + 1, MAX_TIMEOUT_MS, 3 * MAX_TIMEOUT_MS + 7]) {
    const v = new VirtualScheduler();
    const deadline = v.time + delay;
    let firedAt = 0;
    setDeadline(() => (firedAt = v.time), deadline, v);
    v.advance(delay - 1);
    assert.is(firedAt, 0);
    v.advance(1);
    assert.is(firedAt, deadline, `delay ${delay}`);
    assert.is(v.delays.length, Math.ceil(delay / MAX_TIMEOUT_MS));
  }
});

S('clear() stops the chain at any link; a past deadline fires at once', () => {
  const v = new VirtualScheduler();
  let fired = 0;
  const timer = setDeadline(() => fired++, v.time + 3 * MAX_TIMEOUT_MS, v);
  v.advance(MAX_TIMEOUT_MS + 10);
  timer.clear();
  timer.clear();
  assert.is(v.pending, 0);
  v.advance(10 * MAX_TIMEOUT_MS);
  assert.is(fired, 0);
  setDeadline(() => fired++, v.time - 5, v);
  assert.is(fired, 1);
});

S('real timers: the default scheduler fires a short deadline and does not hold the process', async () => {
  const start = Date.now();
  const at = await new Promise<number>((resolve) => {
    // Held by this promise's own timer below, since the deadline's is unref'd.
    const keepAlive = setTimeout(() => undefined, 1000);
    setDeadline(() => {
      clearTimeout(keepAlive);
      resolve(Date.now());
    }, start + 30);
  });
  assert.ok(at - start >= 29, `fired after ${at - start} ms`);
});

S.run();
