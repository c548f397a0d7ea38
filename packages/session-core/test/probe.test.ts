// The fuzz suites' bar-checker (src/testing/hostile.ts). Guards the review
// finding on #10: probe() measured process CPU time, which also counts GC,
// libuv's threads and other async work during awaited store calls, and so
// failed at random on a loaded machine. It now measures event-loop stalls
// (wall time of the synchronous part, loop delay while the promise settles)
// and repeats a run over the bound; these cases pin what it must still catch.
import { performance } from 'node:perf_hooks';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SESSION_ERROR_CODES } from '../src/errors.js';
import { probe } from '../src/testing/index.js';

const S = suite('testing: probe');

/** Holds the event loop for `ms` (a real stall, whatever the machine's load). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

S('a synchronous stall over the bound fails, after the retries', async () => {
  let runs = 0;
  const error = await rejection(probe(() => {
    runs += 1;
    busy(120);
  }));
  assert.match(error.message, /stalled the event loop for \d+\.\d ms \(limit 50\)/);
  assert.is(runs, 3, 'retried before failing');
});

S('a stall after an await (in a continuation) is caught too', async () => {
  const error = await rejection(probe(async () => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    busy(120);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }, 50, [], 2));
  assert.match(error.message, /stalled the event loop/);
});

S('waiting is not stalling: a call that awaits 120 ms of timers passes', async () => {
  assert.is(await probe(() => new Promise((resolve) => setTimeout(resolve, 120))), undefined);
});

S('a coded error is returned, an uncoded one fails', async () => {
  const code = SESSION_ERROR_CODES[0];
  const coded = Object.assign(new Error('coded'), { code });
  assert.is(await probe(() => Promise.reject(coded)), coded);
  assert.is(await probe(() => { throw coded; }), coded);
  const extra = Object.assign(new Error('extra'), { code: 'ERR_EXTRA' });
  assert.is(await probe(() => Promise.reject(extra), 50, ['ERR_EXTRA']), extra);
  assert.match((await rejection(probe(() => { throw new TypeError('raw'); }))).message, /^uncoded failure: TypeError: raw/);
  assert.match((await rejection(probe(() => Promise.reject('text')))).message, /^uncoded failure: string/);
});

S.run();
