import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ExpirySchedule, type Expiring } from '../src/guard/expiry-schedule.js';
import { MAX_TIMEOUT_MS } from '../src/timers.js';
import { VirtualScheduler } from './support.js';

const S = suite('expiry schedule: one timer per deadline');

class Entry implements Expiring {
  expiryDeadline: number | undefined;
  expiredAt: number | undefined;
  onExpire: (() => void) | undefined;
  constructor(private readonly v: VirtualScheduler) {}
  expire(): void {
    this.expiredAt = this.v.time;
    this.onExpire?.();
  }
}

S('entries due at the same ms share one timer and expire at exactly that ms; another deadline has its own', () => {
  const v = new VirtualScheduler();
  const schedule = new ExpirySchedule<Entry>(v);
  const [a, b, c] = [new Entry(v), new Entry(v), new Entry(v)];
  const at = v.time + 60_000;
  schedule.set(a, at);
  schedule.set(b, at);
  assert.is(v.pending, 1);
  schedule.set(c, at + 1000);
  assert.is(v.pending, 2);
  v.advance(59_999);
  assert.is(a.expiredAt, undefined);
  v.advance(1);
  assert.equal([a.expiredAt, b.expiredAt, c.expiredAt], [at, at, undefined]);
  assert.is(a.expiryDeadline, undefined);
  v.advance(1000);
  assert.is(c.expiredAt, at + 1000);
  assert.is(v.pending, 0);
});

S('the last entry of a deadline leaving (deleted or moved) clears its timer; a moved entry expires at its new deadline only', () => {
  const v = new VirtualScheduler();
  const schedule = new ExpirySchedule<Entry>(v);
  const [a, b] = [new Entry(v), new Entry(v)];
  const at = v.time + 10_000;
  schedule.set(a, at);
  schedule.set(b, at);
  schedule.delete(a);
  schedule.delete(a);
  assert.is(v.pending, 1, 'b still needs it');
  schedule.set(b, at + 5000);
  assert.is(v.pending, 1, 'the old deadline is gone with its last entry');
  v.advance(10_000);
  assert.is(b.expiredAt, undefined);
  v.advance(5000);
  assert.is(b.expiredAt, at + 5000);
  assert.is(a.expiredAt, undefined);
});

S('a deadline already past expires at once, with no timer; one beyond 2^31 ms is chained and still exact', () => {
  const v = new VirtualScheduler();
  const schedule = new ExpirySchedule<Entry>(v);
  const past = new Entry(v);
  schedule.set(past, v.time);
  assert.is(past.expiredAt, v.time);
  assert.is(past.expiryDeadline, undefined);
  assert.is(v.pending, 0);
  const far = new Entry(v);
  const at = v.time + 3 * MAX_TIMEOUT_MS;
  schedule.set(far, at);
  v.advance(2 * MAX_TIMEOUT_MS);
  assert.is(far.expiredAt, undefined);
  v.advance(MAX_TIMEOUT_MS);
  assert.is(far.expiredAt, at);
});

/** A schedule on a virtual clock with three entries due at the same moment, one second ahead. */
function threeDueInOneSecond() {
  const v = new VirtualScheduler();
  const schedule = new ExpirySchedule<Entry>(v);
  const [a, b, c] = [new Entry(v), new Entry(v), new Entry(v)];
  const at = v.time + 1000;
  for (const e of [a, b, c]) schedule.set(e, at);
  return { v, schedule, a, b, c, at };
}

S('an entry deleted or moved by another one expiring is not expired; clear() stops every timer', () => {
  const { v, schedule, a, b, c, at } = threeDueInOneSecond();
  a.onExpire = () => {
    schedule.delete(b);
    schedule.set(c, at + 500);
  };
  v.advance(1000);
  assert.equal([a.expiredAt, b.expiredAt, c.expiredAt], [at, undefined, undefined]);
  v.advance(500);
  assert.is(c.expiredAt, at + 500);

  const [d, e] = [new Entry(v), new Entry(v)];
  schedule.set(d, v.time + 1000);
  schedule.set(e, v.time + 2000);
  schedule.clear();
  assert.is(v.pending, 0);
  assert.equal([d.expiryDeadline, e.expiryDeadline], [undefined, undefined]);
  v.advance(5000);
  assert.equal([d.expiredAt, e.expiredAt], [undefined, undefined]);
  schedule.delete(d);
});

S('one entry throwing from expire() does not spare the others due then; the error still surfaces from the timer', () => {
  const { v, schedule, a, b, c, at } = threeDueInOneSecond();
  a.onExpire = () => {
    throw new Error('listener failed');
  };
  b.onExpire = a.onExpire;
  assert.throws(() => v.advance(1000), /listener failed/);
  assert.equal([a.expiredAt, b.expiredAt, c.expiredAt], [at, at, at]);
  assert.is(v.pending, 0);
});

S.run();
