/**
 * Case F (issue 10, defect 2): update() with a forged refresh token — a real
 * (public) session id, a random secret and a random MAC — against update()
 * with a malformed one. The MAC is checked before any store call, so a
 * forgery must cost about what a malformed token costs (goal ≤ 2×), not a
 * store round trip plus a walk of up to 1,024 HMAC steps as before.
 */
import { randomBytes } from 'node:crypto';
import { keySet, memoryManager } from '../lib/fixtures.js';
import { median } from '../lib/stats.js';
import { judge, type BenchContext, type Row } from '../lib/types.js';

async function microsPerCall(call: (token: string) => Promise<unknown>, tokens: readonly string[], ms: number): Promise<number> {
  const start = performance.now();
  let calls = 0;
  while (performance.now() - start < ms) {
    for (const token of tokens) {
      await call(token).catch(() => undefined);
      calls++;
    }
  }
  return ((performance.now() - start) * 1000) / calls;
}

export async function runForgery(ctx: BenchContext): Promise<Row[]> {
  ctx.log(`case F: update() with a forged refresh token vs a malformed one (${ctx.rounds} interleaved rounds × ${ctx.measureMs} ms each)`);
  const manager = memoryManager(keySet('HS256'));
  try {
    const real = await manager.create('victim');
    const [sessionId, deadline] = real.refreshToken.split('.');
    const forged = Array.from({ length: 500 }, () => `${sessionId}.${deadline}.${randomBytes(32).toString('base64url')}.${randomBytes(16).toString('base64url')}`);
    const malformed = Array.from({ length: 500 }, (_, i) => `malformed-refresh-token-${i}`);
    const update = (token: string) => manager.update(token);
    await microsPerCall(update, forged, 50);
    await microsPerCall(update, malformed, 50);
    const ratios: number[] = [];
    const forgedUs: number[] = [];
    const malformedUs: number[] = [];
    for (let round = 0; round < ctx.rounds; round++) {
      const f = await microsPerCall(update, forged, ctx.measureMs);
      const m = await microsPerCall(update, malformed, ctx.measureMs);
      forgedUs.push(f);
      malformedUs.push(m);
      ratios.push(f / m);
    }
    // The session the forgeries named is untouched.
    await manager.update(real.refreshToken);
    const goal = { op: '<=' as const, value: 2, text: 'µs per forged update() ÷ µs per malformed update()' };
    const ratio = median(ratios);
    return [
      {
        id: 'F',
        case: 'update() with a forged refresh token (real session id) vs a malformed one',
        candidate: { label: 'forged', value: median(forgedUs), unit: 'µs/op' },
        baseline: { label: 'malformed', value: median(malformedUs), unit: 'µs/op' },
        ratio,
        ratioKind: 'µs/op ÷ baseline µs/op',
        goal,
        status: judge(ratio, goal),
        rounds: ratios,
      },
    ];
  } finally {
    await manager.close();
  }
}
