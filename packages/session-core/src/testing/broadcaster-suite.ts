import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { InvalidationBroadcaster, InvalidationEvent, InvalidationReceiver, RevocationLogEntry, SessionInvalidation, SubjectInvalidation } from '../storage.js';

export interface BroadcasterFixture {
  broadcaster: InvalidationBroadcaster;
  close: () => Promise<void>;
}

/** Records what a subscription receives, by method. */
class Recorder implements InvalidationReceiver {
  readonly events: Array<['one', SessionInvalidation] | ['all', SubjectInvalidation]> = [];
  restrictOne(event: SessionInvalidation): void {
    this.events.push(['one', event]);
  }
  restrictAll(event: SubjectInvalidation): void {
    this.events.push(['all', event]);
  }
}

const ID = (n: number) => `AAAA${String(n).padStart(22, '0')}`;

async function eventually(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.unreachable(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The contract of an InvalidationBroadcaster, observed through its interface
 * only: every other subscriber receives each event (by the right method, as a
 * copy holding only the known fields), the sender never does, a late
 * subscriber is replayed what is still in force before `ready()` resolves, a
 * throwing receiver stops nothing, and a closed subscription neither sends
 * nor receives.
 */
export function testInvalidationBroadcaster(name: string, factory: () => Promise<BroadcasterFixture>, features: { revocationLog?: boolean } = {}): void {
  const S = suite<{ fx: BroadcasterFixture; b: InvalidationBroadcaster; now: number }>(`${name}: InvalidationBroadcaster conformance`);
  S.before.each(async (ctx) => {
    ctx.fx = await factory();
    ctx.b = ctx.fx.broadcaster;
    ctx.now = Date.now();
  });
  S.after.each(async (ctx) => {
    await ctx.fx.close();
  });

  S('every other subscriber receives the event by the right method; the sender does not', async ({ b, now }) => {
    const [ra, rb, rc] = [new Recorder(), new Recorder(), new Recorder()];
    const [a, sb, sc] = [b.subscribe(ra), b.subscribe(rb), b.subscribe(rc)];
    await Promise.all([a.ready(), sb.ready(), sc.ready()]);
    const one: SessionInvalidation = { type: 'session', subject: 'alice', sessionId: ID(1), reason: 'deleted', at: now, expiresAt: now + 60_000 };
    const all: SubjectInvalidation = { type: 'subject', subject: 'bob ✓', at: now, expiresAt: now + 60_000, sessionIds: [ID(2), ID(3)] };
    await a.publish(one);
    await a.publish(all);
    await eventually(() => rb.events.length === 2 && rc.events.length === 2, 'both events at both receivers');
    for (const r of [rb, rc]) assert.equal(r.events, [['one', one], ['all', all]]);
    await settle();
    assert.equal(ra.events, [], 'the sender received its own event');
    await Promise.all([a.close(), sb.close(), sc.close()]);
  });

  S('a late subscriber is replayed what is still in force before ready() resolves, and nothing expired', async ({ b, now }) => {
    const sender = b.subscribe(new Recorder());
    await sender.ready();
    await sender.publish({ type: 'session', subject: 'alice', sessionId: ID(4), reason: 'reused', at: now, expiresAt: now + 60_000 });
    await sender.publish({ type: 'session', subject: 'alice', sessionId: ID(5), reason: 'evicted', at: now, expiresAt: now - 1 });
    const late = new Recorder();
    const sub = b.subscribe(late);
    await sub.ready();
    assert.equal(late.events.map(([, e]) => (e as SessionInvalidation).sessionId), [ID(4)]);
    await Promise.all([sender.close(), sub.close()]);
  });

  S('a receiver that throws does not keep this or later events from the others', async ({ b, now }) => {
    const sender = b.subscribe(new Recorder());
    const thrower = b.subscribe({
      restrictOne: () => {
        throw new Error('receiver bug');
      },
      restrictAll: () => {
        throw new Error('receiver bug');
      },
    });
    const ok = new Recorder();
    const sub = b.subscribe(ok);
    await Promise.all([sender.ready(), thrower.ready(), sub.ready()]);
    for (let n = 0; n < 3; n++) await sender.publish({ type: 'session', subject: 'alice', sessionId: ID(10 + n), reason: 'deleted', at: now, expiresAt: now + 60_000 });
    await eventually(() => ok.events.length === 3, 'three events after a throwing receiver');
    await Promise.all([sender.close(), thrower.close(), sub.close()]);
  });

  S('what is delivered is a copy with only the known fields; malformed events are never delivered', async ({ b, now }) => {
    const sender = b.subscribe(new Recorder());
    const r = new Recorder();
    const sub = b.subscribe(r);
    await Promise.all([sender.ready(), sub.ready()]);
    const event = { type: 'session', subject: 'alice', sessionId: ID(20), reason: 'deleted', at: now, expiresAt: now + 60_000, extra: 'x'.repeat(10) } as InvalidationEvent;
    const junk = [
      { type: 'session', subject: 'alice', sessionId: ID(21), reason: 'bogus', at: now, expiresAt: now + 60_000 },
      { type: 'subject', subject: '', at: now, expiresAt: now + 60_000 },
      { type: 'subject', subject: 'eve\uD800', at: now, expiresAt: now + 60_000 },
      { type: 'subject', subject: 'eve', at: now, expiresAt: now + 60_000, sessionIds: [42] },
      { type: 'session', subject: 'eve', sessionId: 'x'.repeat(1000), reason: 'deleted', at: now, expiresAt: now + 60_000 },
    ];
    for (const bad of junk) await sender.publish(bad as InvalidationEvent).catch(() => undefined);
    await sender.publish(event);
    (event as unknown as Record<string, unknown>).subject = 'mallory';
    await eventually(() => r.events.length >= 1, 'the valid event');
    await settle();
    assert.equal(r.events, [['one', { type: 'session', subject: 'alice', sessionId: ID(20), reason: 'deleted', at: now, expiresAt: now + 60_000 }]]);
    await Promise.all([sender.close(), sub.close()]);
  });

  S('a closed subscription cannot publish and receives nothing more', async ({ b, now }) => {
    const sender = b.subscribe(new Recorder());
    const r = new Recorder();
    const sub = b.subscribe(r);
    await Promise.all([sender.ready(), sub.ready()]);
    await sub.close();
    await sender.publish({ type: 'subject', subject: 'alice', at: now, expiresAt: now + 60_000 });
    await settle(300);
    assert.equal(r.events, []);
    let refused = false;
    await sub.publish({ type: 'subject', subject: 'alice', at: now, expiresAt: now + 60_000 }).catch(() => (refused = true));
    assert.ok(refused, 'a closed subscription published');
    await sender.close();
  });

  if (features.revocationLog === true) {
    S('entriesAfter pages through every event still in force, in order, and resumes from its cursor', async ({ b, now }) => {
      const sender = b.subscribe(new Recorder());
      await sender.ready();
      const published: InvalidationEvent[] = [];
      for (let n = 0; n < 5; n++) {
        // The third one is already over: it is never served, but the cursor passes it.
        const event: InvalidationEvent = { type: 'session', subject: 'alice', sessionId: ID(30 + n), reason: 'deleted', at: now, expiresAt: n === 2 ? now - 1 : now + 60_000 };
        await sender.publish(event);
        if (n !== 2) published.push(event);
      }
      await sender.publish({ type: 'subject', subject: 'bob', at: now, expiresAt: now + 60_000, sessionIds: [ID(40)] });
      published.push({ type: 'subject', subject: 'bob', at: now, expiresAt: now + 60_000, sessionIds: [ID(40)] });
      const read = b.entriesAfter!.bind(b);
      const seen: RevocationLogEntry[] = [];
      let cursor: string | undefined;
      let pages = 0;
      // A log may make an entry readable a moment after publish resolves (PostgreSQL: once older transactions end).
      const deadline = Date.now() + 5000;
      while (seen.length < published.length && Date.now() < deadline) {
        const page = await read(cursor, 2);
        assert.ok(page.entries.length <= 2, 'a page holds more than the limit');
        seen.push(...page.entries);
        if (page.entries.length > 0) pages++;
        assert.ok(page.more || page.entries.length < 2 || seen.length >= published.length, 'a full page says nothing more follows');
        cursor = page.cursor;
        if (!page.more) await settle(20);
      }
      assert.equal(seen.map((e) => e.event), published);
      assert.ok(pages >= 3, `pages of at most 2: ${pages}`);
      assert.equal(new Set(seen.map((e) => e.id)).size, seen.length, 'an id served twice');
      const idle = await read(cursor, 10);
      assert.equal(idle.entries, []);
      assert.equal(idle.cursor, cursor, 'a read that found nothing moved the cursor');
      assert.is(idle.more, false);
      const later: InvalidationEvent = { type: 'session', subject: 'carol', sessionId: ID(41), reason: 'evicted', at: now, expiresAt: now + 60_000 };
      await sender.publish(later);
      let next = await read(cursor, 10);
      while (next.entries.length === 0 && Date.now() < deadline + 5000) next = await settle(20).then(() => read(cursor, 10));
      assert.equal(next.entries.map((e) => e.event), [later]);
      await sender.close();
    });

    S('entriesAfter refuses a cursor that is not one of its own and a limit outside 1..1000 with ERR_CLAIMS_INVALID', async ({ b }) => {
      for (const [after, limit] of [['not a cursor', 10], ['"x"', 10], ['x'.repeat(65), 10], [undefined, 0], [undefined, 1001], [undefined, 1.5], [42, 10]] as const) {
        let code: unknown = 'resolved';
        await b.entriesAfter!(after as string | undefined, limit).catch((error: { code?: unknown }) => (code = error.code));
        assert.is(code, 'ERR_CLAIMS_INVALID', `entriesAfter(${String(after).slice(0, 20)}, ${limit})`);
      }
    });
  }

  S.run();
}
