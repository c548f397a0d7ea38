/**
 * Case H9 (issue #22): the cost of a step-up check on a hot token, at the
 * level users measure, requests per second. Two Express apps in the server
 * child of the http group (children/http-server.ts): `httpAuth` alone, and
 * `httpAuth` followed by `requireFresh({ maxAge: 3600 })`, each with a
 * manager of its own; one token carrying `auth_time` (a cache hit for both),
 * autocannon as in H1–H8, rounds interleaved and their order flipped every
 * round. Before any timing the fresh app must answer 200 to a fresh token and
 * 401 to a stale one, to one without `auth_time`, and to none.
 */
import { createHmac } from 'node:crypto';
import { Child } from '../lib/child.js';
import { ACCESS_TTL, AUDIENCE, HS_SECRET, ISSUER, keySet } from '../lib/fixtures.js';
import { FRESH_APPS, type HttpApp } from '../lib/http-apps.js';
import { CONNECTIONS, httpLoad, statusOf } from '../lib/http-load.js';
import { median } from '../lib/stats.js';
import { judge, type BenchContext, type Row } from '../lib/types.js';

function signed(claims: Record<string, unknown>): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${b64({ alg: 'HS256', kid: keySet('HS256').kid, typ: 'at+jwt' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', HS_SECRET).update(input).digest('base64url')}`;
}

export async function runFreshGuard(ctx: BenchContext): Promise<Row[]> {
  const ms = ctx.quick ? 250 : 2000;
  ctx.log(`case H9: requireFresh on a hot token, Express, ${CONNECTIONS} connections, ${ctx.rounds} rounds × ${ms} ms per app`);
  const server = new Child('http-server', [JSON.stringify(FRESH_APPS)]);
  try {
    const { ports } = (await server.next('ready', 60_000)) as unknown as { ports: Record<HttpApp, number> };
    const iat = Math.floor(Date.now() / 1000);
    const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', sid: 'AAAAsessionidsessionidsess', jti: 'AAAAAAAAAAAAAAAAAAAAAA', iat, exp: iat + ACCESS_TTL, amr: ['pwd'] };
    const token = signed({ ...claims, auth_time: iat });
    const checks = [
      `fresh ${await statusOf(ports['express-fresh'], token)}`,
      `stale ${await statusOf(ports['express-fresh'], signed({ ...claims, auth_time: iat - 7200 }))}`,
      `no auth_time ${await statusOf(ports['express-fresh'], signed(claims))}`,
      `none ${await statusOf(ports['express-fresh'], undefined)}`,
    ].join(', ');
    if (checks !== 'fresh 200, stale 401, no auth_time 401, none 401') throw new Error(`express-fresh does not guard as it must: ${checks}`);

    const run = async (app: HttpApp, duration: number) => {
      const result = await httpLoad(ports[app], duration, token);
      if (result.failed > 0) throw new Error(`${app}: ${result.failed} requests failed or were refused while timed`);
      return result.rate;
    };
    for (const app of FRESH_APPS) await run(app, Math.max(ms / 2, 250));
    const rates: Record<string, number[]> = { 'express-guard': [], 'express-fresh': [] };
    for (let round = 0; round < ctx.rounds; round++) {
      const order = round % 2 === 0 ? FRESH_APPS : [...FRESH_APPS].reverse();
      for (const app of order) rates[app]!.push(await run(app, ms));
    }
    const rounds = rates['express-fresh']!.map((rate, i) => rate / rates['express-guard']![i]!);
    const ratio = median(rounds);
    const goal = { op: '>=' as const, value: 0.95, text: 'req/s with httpAuth + requireFresh ÷ httpAuth alone' };
    return [
      {
        id: 'H9',
        case: 'hot: Express httpAuth + requireFresh({ maxAge }) vs httpAuth alone, one token with auth_time',
        candidate: { label: 'httpAuth + requireFresh', value: median(rates['express-fresh']!), unit: 'req/s' },
        baseline: { label: 'httpAuth', value: median(rates['express-guard']!), unit: 'req/s' },
        ratio,
        ratioKind: 'req/s ÷ baseline req/s',
        goal,
        status: judge(ratio, goal),
        rounds,
      },
    ];
  } finally {
    await server.stop();
  }
}
