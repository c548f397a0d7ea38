/**
 * Cases H1–H8: the HTTP guards at the level users measure, requests per
 * second. autocannon (32 keep-alive connections over loopback, here) against
 * the apps of lib/http-apps.ts in a server child (children/http-server.ts), so
 * client and server each have a core, and the server's CPU time per request is
 * charged from its own process.cpuUsage(). Each framework's apps — unguarded,
 * this library's guard, the floor (a hand-written middleware that only calls
 * read()) and the peers at their best — are timed in the same rounds, in an
 * order rotated every round; each ratio is per round, the row shows the median
 * and the range. Every guarded app is first checked to accept a good token and
 * refuse a forged, a wrong-iss, a wrong-aud and an expired one.
 *
 * hot: one token, every request (a cache hit for the library, the floor and
 * @fastify/jwt with its cache). cold: a new token each request, never seen by
 * that app before (each app has its own manager and walks the token list on
 * its own cursor).
 */
import { createHmac } from 'node:crypto';
import { Child } from '../lib/child.js';
import { ACCESS_TTL, AUDIENCE, HS_SECRET, ISSUER, keySet, mintTokens } from '../lib/fixtures.js';
import { guarded, HTTP_APPS, type HttpApp } from '../lib/http-apps.js';
import { CONNECTIONS, httpLoad, statusOf } from '../lib/http-load.js';
import { median } from '../lib/stats.js';
import { judge, type BenchContext, type Goal, type Row } from '../lib/types.js';

type Mode = 'hot' | 'cold';
interface Run {
  rate: number;
  /** Server CPU µs per answered request. */
  cpu: number;
}

const EXPRESS: readonly HttpApp[] = ['express-plain', 'express-guard', 'express-floor', 'express-jwt'];
const FASTIFY: readonly HttpApp[] = ['fastify-plain', 'fastify-guard', 'fastify-floor', 'fastify-jwt', 'fastify-jwt-cache'];

const LABELS: Record<HttpApp, string> = {
  'express-plain': 'Express unguarded',
  'express-guard': 'Express httpAuth',
  'express-floor': 'Express floor',
  'express-jwt': 'express-jwt (KeyObject)',
  'fastify-plain': 'Fastify unguarded',
  'fastify-guard': 'Fastify plugin',
  'fastify-floor': 'Fastify floor',
  'fastify-jwt': '@fastify/jwt',
  'fastify-jwt-cache': '@fastify/jwt (cache)',
  'express-fresh': 'Express httpAuth + requireFresh',
};

/** An HS256 token in the manager's format with any claims, signed with `secret`. */
function signed(claims: Record<string, unknown>, secret = HS_SECRET): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${b64({ alg: 'HS256', kid: keySet('HS256').kid, typ: 'at+jwt' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Tokens every guarded app must refuse (401) before it is timed. */
function badTokens(): Record<string, string> {
  const iat = Math.floor(Date.now() / 1000);
  const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', sid: 'AAAAsessionidsessionidsess', jti: 'AAAAAAAAAAAAAAAAAAAAAA', iat, exp: iat + ACCESS_TTL };
  return {
    forged: signed(claims, 'another-secret-0123456789abcdef-0123456789abcdef'),
    'wrong iss': signed({ ...claims, iss: 'https://evil.example' }),
    'wrong aud': signed({ ...claims, aud: 'https://other.example' }),
    expired: signed({ ...claims, iat: iat - 2 * ACCESS_TTL, exp: iat - ACCESS_TTL }),
  };
}

export async function runHttpGuards(ctx: BenchContext): Promise<Row[]> {
  const ms = ctx.quick ? 250 : 2000;
  ctx.log(`cases H1–H8: HTTP requests/s, ${CONNECTIONS} connections, Express (${EXPRESS.length} apps) and Fastify (${FASTIFY.length}), hot and cold, ${ctx.rounds} rounds × ${ms} ms per app`);
  const server = new Child('http-server', [JSON.stringify(HTTP_APPS)]);
  try {
    const { ports } = (await server.next('ready', 60_000)) as unknown as { ports: Record<HttpApp, number> };
    const keys = keySet('HS256');
    const [hotToken] = await mintTokens(keys, 1);
    const bad = badTokens();
    for (const app of HTTP_APPS) {
      if (!guarded(app)) continue;
      const answers = [`good ${await statusOf(ports[app], hotToken!)}`];
      for (const [what, token] of Object.entries(bad)) answers.push(`${what} ${await statusOf(ports[app], token)}`);
      answers.push(`none ${await statusOf(ports[app], undefined)}`);
      if (answers.join(', ') !== 'good 200, forged 401, wrong iss 401, wrong aud 401, expired 401, none 401') {
        throw new Error(`${app} does not refuse bad tokens as it must: ${answers.join(', ')}`);
      }
    }

    // Cold tokens: one list, minted ahead of each run (outside the timing), walked by every app on its own cursor.
    const tokens: string[] = [];
    const cursors = new Map<HttpApp, number>();
    const ensure = async (upTo: number) => {
      if (tokens.length < upTo) tokens.push(...(await mintTokens(keys, upTo - tokens.length, tokens.length)));
    };
    const cpu = async () => {
      server.send({ type: 'cpu' });
      return (await server.next('cpu')).micros as number;
    };
    const run = async (app: HttpApp, mode: Mode, duration: number): Promise<Run> => {
      let next = cursors.get(app) ?? 0;
      // Generous: no app answers 60k requests/s on this kind of machine.
      if (mode === 'cold') await ensure(next + Math.ceil((60_000 * duration) / 1000));
      const source = mode === 'hot' ? hotToken! : () => tokens[next++]!;
      const c0 = await cpu();
      const result = await httpLoad(ports[app], duration, source);
      const c1 = await cpu();
      cursors.set(app, next);
      if (result.failed > 0) throw new Error(`${app} (${mode}): ${result.failed} requests failed or were refused while timed`);
      return { rate: result.rate, cpu: (c1 - c0) / result.ok };
    };

    const results = new Map<string, Run[]>();
    for (const mode of ['hot', 'cold'] as const) {
      for (const apps of [EXPRESS, FASTIFY]) {
        // Warm-up (not timed): the JIT, the connections' first requests, the verified-token caches.
        for (const app of apps) await run(app, mode, Math.max(ms / 2, 250));
        for (let round = 0; round < ctx.rounds; round++) {
          const order = apps.map((_, k) => apps[(k + round) % apps.length]!);
          if (round % 2 === 1) order.reverse();
          for (const app of order) {
            const key = `${mode} ${app}`;
            results.set(key, [...(results.get(key) ?? []), await run(app, mode, ms)]);
          }
        }
      }
    }

    const ratios = (mode: Mode, a: HttpApp, b: HttpApp) => results.get(`${mode} ${a}`)!.map((x, i) => x.rate / results.get(`${mode} ${b}`)![i]!.rate);
    const rate = (mode: Mode, app: HttpApp) => median(results.get(`${mode} ${app}`)!.map((x) => x.rate));
    const cpuOf = (mode: Mode, app: HttpApp) => median(results.get(`${mode} ${app}`)!.map((x) => x.cpu));
    const floorOf = (framework: 'express' | 'fastify', mode: Mode) => median(ratios(mode, `${framework}-floor`, `${framework}-plain`));
    const row = (id: string, mode: Mode, candidate: HttpApp, baseline: HttpApp, goal: Goal | undefined): Row => {
      const rounds = ratios(mode, candidate, baseline);
      const ratio = median(rounds);
      const framework = candidate.startsWith('express') ? 'express' : 'fastify';
      // Against no guard, the floor's own ratio in the same rounds says how far up the machine lets any guard go.
      const floor = baseline.endsWith('-plain') && candidate !== `${framework}-floor` ? `; floor ${floorOf(framework, mode).toFixed(2)}×` : '';
      return {
        id,
        case: `${mode}: ${LABELS[candidate]} vs ${LABELS[baseline]} — server CPU ${cpuOf(mode, candidate).toFixed(1)} vs ${cpuOf(mode, baseline).toFixed(1)} µs/request${floor}`,
        candidate: { label: LABELS[candidate], value: rate(mode, candidate), unit: 'req/s' },
        baseline: { label: LABELS[baseline], value: rate(mode, baseline), unit: 'req/s' },
        ratio,
        ratioKind: 'req/s ÷ baseline req/s',
        goal,
        status: judge(ratio, goal),
        rounds,
        extra: {
          serverCpuMicrosCandidate: results.get(`${mode} ${candidate}`)!.map((x) => x.cpu),
          serverCpuMicrosBaseline: results.get(`${mode} ${baseline}`)!.map((x) => x.cpu),
        },
      };
    };
    const atLeast = (value: number, text: string): Goal => ({ op: '>=', value, text });
    for (const [app, next] of cursors) if (next > tokens.length) ctx.log(`cases H: ${app} walked past the ${tokens.length} cold tokens`);
    return [
      row('H1', 'hot', 'express-guard', 'express-plain', atLeast(0.95, 'req/s with httpAuth ÷ unguarded Express')),
      row('H1-floor', 'hot', 'express-floor', 'express-plain', undefined),
      row('H2', 'hot', 'express-guard', 'express-jwt', atLeast(1.2, 'req/s with httpAuth ÷ express-jwt (KeyObject)')),
      row('H3', 'hot', 'fastify-guard', 'fastify-plain', atLeast(0.9, 'req/s with the plugin ÷ unguarded Fastify')),
      row('H3-floor', 'hot', 'fastify-floor', 'fastify-plain', undefined),
      row('H4', 'hot', 'fastify-guard', 'fastify-jwt-cache', atLeast(1.5, 'req/s with the plugin ÷ @fastify/jwt with its cache')),
      row('H4′', 'hot', 'fastify-guard', 'fastify-jwt', undefined),
      row('H5', 'cold', 'express-guard', 'express-plain', atLeast(0.85, 'req/s with httpAuth ÷ unguarded Express')),
      row('H5-floor', 'cold', 'express-floor', 'express-plain', undefined),
      row('H6', 'cold', 'express-guard', 'express-jwt', atLeast(1.1, 'req/s with httpAuth ÷ express-jwt (KeyObject)')),
      row('H7', 'cold', 'fastify-guard', 'fastify-plain', atLeast(0.7, 'req/s with the plugin ÷ unguarded Fastify')),
      row('H7-floor', 'cold', 'fastify-floor', 'fastify-plain', undefined),
      row('H8', 'cold', 'fastify-guard', 'fastify-jwt', atLeast(1.3, 'req/s with the plugin ÷ @fastify/jwt')),
      row('H8′', 'cold', 'fastify-guard', 'fastify-jwt-cache', undefined),
    ];
  } finally {
    await server.stop();
  }
}
