import { sleep } from '@jwt-session/session-core/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ExpiryQueue } from '../src/expiry-queue.js';

const S = suite('ExpiryQueue');

S('fires ids in deadline order whatever the order they were added in, and never early', async () => {
  const fired: Array<[string, number]> = [];
  const start = Date.now();
  const queue = new ExpiryQueue((id, now) => fired.push([id, now - start]));
  const plan: Array<[string, number]> = [['c', 180], ['a', 60], ['far', 40 * 24 * 3600 * 1000], ['b', 120], ['a2', 60], ['d', 240]];
  for (const [id, delay] of plan) queue.add(id, start + delay);
  await sleep(450);
  assert.equal(fired.map(([id]) => id), ['a', 'a2', 'b', 'c', 'd']);
  for (const [id, at] of fired) assert.ok(at >= plan.find(([p]) => p === id)![1], `${id} fired early`);
  queue.clear();
});

S('a deadline earlier than the armed one re-arms the timer', async () => {
  const fired: string[] = [];
  const queue = new ExpiryQueue((id) => fired.push(id));
  queue.add('late', Date.now() + 10_000);
  queue.add('soon', Date.now() + 30);
  await sleep(200);
  assert.equal(fired, ['soon']);
  queue.clear();
  await sleep(10);
});

S('clear() drops everything and stops the timer', async () => {
  const fired: string[] = [];
  const queue = new ExpiryQueue((id) => fired.push(id));
  queue.add('x', Date.now() + 30);
  queue.clear();
  await sleep(150);
  assert.equal(fired, []);
});

S.run();
