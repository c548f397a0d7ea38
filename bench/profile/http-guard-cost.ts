/**
 * The HTTP guards' own cost, without a network: each variant called in
 * batches of 32 in flight (as autocannon's 32 connections) on a real
 * IncomingMessage, each call with a fresh copy of the token string (as a
 * server gets from a request). Prints CPU ns per request (median of 5
 * interleaved rounds, with their range) and
 * bytes allocated per request (young-generation growth over a batch that
 * triggered no scavenge). Variants: floor (read().then → next), express
 * (httpAuth), fastify (the plugin's hook, from `fastify.sessionAuth`).
 * Modes: hot (one token), cold (a new token each), forged (a new token with a
 * wrong signature each: the refusal path, 401 with its challenge), missing (no
 * Authorization header: 401, bare challenge).
 * Run: node --expose-gc --import tsx bench/profile/http-guard-cost.ts hot|cold|forged|missing [variant ...]
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { getHeapSpaceStatistics } from 'node:v8';
import Fastify from 'fastify';
import { httpAuth } from '@jwt-session/socketio-adapter';
import { fastifySessionAuth } from '@jwt-session/socketio-adapter/fastify';
import { keySet, memoryManager, mintTokens } from '../lib/fixtures.js';

const mode = process.argv[2] ?? 'hot';
const variants = process.argv.slice(3).length > 0 ? process.argv.slice(3) : ['floor', 'express', 'fastify'];
const BATCH = 32;
const CALLS = mode === 'cold' || mode === 'forged' ? 40_000 : 200_000;

function unauthorized(res: ServerResponse): void {
  res.statusCode = 401;
}

type Call = (req: IncomingMessage, done: () => void) => void;

async function variant(name: string): Promise<Call> {
  const manager = memoryManager(keySet('HS256'));
  await manager.ready();
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  if (name === 'floor') {
    return (req, done) => {
      const h = req.headers.authorization;
      if (h === undefined) {
        unauthorized(res);
        return done();
      }
      void manager.read(h.slice(7)).then(
        (claims) => {
          (req as unknown as { auth: unknown }).auth = claims;
          done();
        },
        () => {
          unauthorized(res);
          done();
        },
      );
    };
  }
  if (name === 'express') {
    const mw = httpAuth(manager);
    // A refusal ends the response instead of calling next().
    res.end = ((() => (pending?.(), res)) as unknown) as ServerResponse['end'];
    let pending: (() => void) | undefined;
    return (req, done) => {
      pending = done;
      mw(req, res, done);
    };
  }
  const app = Fastify();
  await app.register(fastifySessionAuth, { manager, global: false });
  await app.ready();
  const hook = app.sessionAuth;
  // What the hook touches of Fastify's reply when it refuses: code, headers, send (which ends the request).
  let pending: (() => void) | undefined;
  const reply = { code: () => reply, headers: () => reply, send: () => (pending?.(), reply) } as never;
  // As Fastify runs a hook: with its `done`, and waiting for the promise when it returns one.
  return (req, done) => {
    pending = done;
    const result = (hook as (...args: unknown[]) => unknown)({ raw: req }, reply, done) as Promise<unknown> | undefined;
    if (result !== undefined && typeof result.then === 'function') void result.then(done);
  };
}

const WARM = mode === 'cold' || mode === 'forged' ? 500 : 2000;
const fresh = mode === 'cold' || mode === 'forged';
const minted = await mintTokens(keySet('HS256'), fresh ? (CALLS + (WARM + 200) * BATCH) * variants.length : 1);
// A forged token: the same header and claims, the signature of another one.
const tokens = mode === 'forged' ? minted.map((t, i) => t.slice(0, t.lastIndexOf('.')) + minted[(i + 1) % minted.length]!.slice(t.lastIndexOf('.'))) : minted;
let cursor = 0;
const copy = (s: string) => Buffer.from(s, 'latin1').toString('latin1');
const requests = Array.from({ length: BATCH }, () => {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  return req;
});
function prepare(): void {
  for (const req of requests) {
    if (mode === 'missing') {
      req.headers = { host: 'x' };
      req.rawHeaders = ['Host', 'x'];
      continue;
    }
    const header = `Bearer ${copy(tokens[fresh ? cursor++ : 0]!)}`;
    req.headers = { host: 'x', authorization: header };
    req.rawHeaders = ['Host', 'x', 'Authorization', header];
  }
}
function batch(call: Call): Promise<void> {
  return new Promise((resolve) => {
    let left = BATCH;
    const done = () => void (--left === 0 && resolve());
    for (const req of requests) call(req, done);
  });
}
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;

// Rounds interleaved (order rotated), CPU time of this thread's process rather than wall time: the machine is shared.
const ROUNDS = 5;
const calls = new Map<string, Call>();
for (const name of variants) {
  const call = await variant(name);
  calls.set(name, call);
  for (let i = 0; i < WARM; i++) {
    prepare();
    await batch(call);
  }
}
const cpuNs = new Map<string, number[]>(variants.map((v) => [v, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (let k = 0; k < variants.length; k++) {
    const name = variants[(k + r) % variants.length]!;
    const call = calls.get(name)!;
    let micros = 0;
    for (let i = 0; i < CALLS / ROUNDS / BATCH; i++) {
      prepare();
      const c0 = process.cpuUsage();
      await batch(call);
      const c = process.cpuUsage(c0);
      micros += c.user + c.system;
    }
    cpuNs.get(name)!.push((micros * 1000) / (CALLS / ROUNDS));
  }
}
for (const name of variants) {
  const call = calls.get(name)!;
  const sizes: number[] = [];
  for (let i = 0; i < 200; i++) {
    prepare();
    const before = newSpace();
    await batch(call);
    const grown = newSpace() - before;
    if (grown > 0) sizes.push(grown / BATCH);
  }
  sizes.sort((a, b) => a - b);
  const ns = cpuNs.get(name)!.sort((a, b) => a - b);
  console.log(`${mode} ${name.padEnd(8)} ${ns[ns.length >> 1]!.toFixed(0).padStart(6)} ns/req CPU [${ns[0]!.toFixed(0)}–${ns[ns.length - 1]!.toFixed(0)}]  ${sizes[sizes.length >> 1]!.toFixed(0).padStart(5)} B/req`);
}
