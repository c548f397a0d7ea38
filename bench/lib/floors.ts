/**
 * Floors: the least any implementation of this library's design can do for
 * an operation, written without the library, so that a goal row can be read
 * against what the machine allows. Each is generous to itself: no input
 * checks, no record encoding, no events, no telemetry, no randomness it can
 * avoid. A row whose line lies past its floor cannot pass on that machine.
 */
import { createHmac, hash, randomBytes, randomFillSync, type KeyObject } from 'node:crypto';
import type { Socket } from 'socket.io';
import { ACCESS_TTL, AUDIENCE, ISSUER, type KeySet } from './fixtures.js';

const REFRESH = /^([A-Za-z0-9_-]{26})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{22})$/;

/** Random bytes as base64url from a pool refilled 64 KiB at a time: the cheapest way node:crypto gives them. */
function randomPool(): (bytes: number) => string {
  const pool = Buffer.allocUnsafe(65_536);
  let used = pool.length;
  return (bytes) => {
    if (used + bytes > pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    used += bytes;
    return pool.toString('base64url', used - bytes, used);
  };
}

/** The two keyed steps every floor shares: an access token signed (HMAC) and a refresh token's 128-bit mac (HMAC). */
function tokenSteps(keys: KeySet): {
  sign: (subject: string, sid: string, jti: string) => string;
  mac: (sid: string, deadline: string, secret: string) => string;
} {
  const macKey = randomBytes(32);
  const header = Buffer.from(JSON.stringify({ alg: keys.alg, kid: keys.kid, typ: 'at+jwt' })).toString('base64url');
  return {
    sign: (subject, sid, jti) => {
      const iat = Math.floor(Date.now() / 1000);
      const payload = Buffer.from(
        `{"iss":"${ISSUER}","aud":"${AUDIENCE}","sub":"${subject}","sid":"${sid}","jti":"${jti}","iat":${iat},"exp":${iat + ACCESS_TTL}}`,
      ).toString('base64url');
      const input = `${header}.${payload}`;
      return `${input}.${createHmac('sha256', keys.signKey).update(input).digest('base64url')}`;
    },
    mac: (sid, deadline, secret) => createHmac('sha256', macKey).update(`mac\0${sid}\0${deadline}\0${secret}`).digest('base64url').slice(0, 22),
  };
}

/**
 * create() reduced to its token design: a session id (the subject's SHA-256
 * digest and random characters), a 256-bit secret and its stored hash
 * (SHA-256), one Map write behind one await, an access token with a random
 * jti signed (HMAC) and the refresh token's mac (HMAC). 10,000 subjects in
 * turn, as case 4a.
 */
export function createFloor(keys: KeySet): () => Promise<string> {
  const { sign, mac } = tokenSteps(keys);
  const random = randomPool();
  const deadline = (Math.floor(Date.now() / 1000) + 86_400).toString(36);
  const store = new Map<string, { hash: string; subject: string }>();
  let n = 0;
  return async () => {
    const subject = `user-${n++ % 10_000}`;
    const sid = hash('sha256', subject, 'base64url').slice(0, 11) + random(12).slice(0, 15);
    const secret = random(32);
    await Promise.resolve(store.set(sid, { hash: hash('sha256', secret, 'base64url'), subject }));
    return `${sign(subject, sid, random(16))}\n${sid}.${deadline}.${secret}.${mac(sid, deadline, secret)}`;
  };
}

/**
 * update() reduced to its token design: the presented refresh token's mac
 * checked (HMAC), its successor and the two stored hashes (SHA-256), one Map
 * read and write behind one await (a store is asynchronous), an access token
 * signed (HMAC) and the successor's mac (HMAC). Returns one update per worker
 * chain, as case 4b runs them.
 */
export function updateFloor(keys: KeySet, workers: number): (worker: number) => Promise<void> {
  const { sign, mac } = tokenSteps(keys);
  const store = new Map<string, { hash: string; subject: string }>();
  const tokens: string[] = [];
  for (let w = 0; w < workers; w++) {
    const sid = randomBytes(20).toString('base64url').slice(0, 26);
    const secret = randomBytes(32).toString('base64url');
    store.set(sid, { hash: hash('sha256', secret, 'base64url'), subject: `user-${w}` });
    tokens.push(`${sid}.zzzzzz.${secret}.${mac(sid, 'zzzzzz', secret)}`);
  }
  let jti = 0;
  const update = async (token: string): Promise<string> => {
    const [, sid, deadline, secret, presented] = REFRESH.exec(token) as unknown as [string, string, string, string, string];
    if (mac(sid, deadline, secret) !== presented) throw new Error('update floor: mac');
    const next = hash('sha256', `next\0${sid}\0${secret}`, 'base64url');
    const record = await Promise.resolve(store.get(sid));
    if (record === undefined || record.hash !== hash('sha256', secret, 'base64url')) throw new Error('update floor: store');
    store.set(sid, { hash: hash('sha256', next, 'base64url'), subject: record.subject });
    if (sign(record.subject, sid, (jti++).toString(36).padStart(22, '0')).length === 0) throw new Error('update floor: sign');
    return `${sid}.${deadline}.${next}.${mac(sid, deadline, next)}`;
  };
  return async (w) => {
    tokens[w] = await update(tokens[w]!);
  };
}

/**
 * A Socket.IO middleware reduced to what a session guard must do at least:
 * one HS256 signature check of the handshake token, its payload parsed, and
 * the user and session rooms joined (how a revocation finds the sockets). No
 * header or claim rules, no revocation check, no expiry timer.
 */
export function guardFloor(key: KeyObject): (socket: Socket, next: (err?: Error) => void) => void {
  return (socket, next) => {
    const token = (socket.handshake.auth as { token: string }).token;
    const dot = token.lastIndexOf('.');
    if (createHmac('sha256', key).update(token.slice(0, dot)).digest('base64url') !== token.slice(dot + 1)) {
      next(new Error('guard floor: signature'));
      return;
    }
    const claims = JSON.parse(Buffer.from(token.slice(token.indexOf('.') + 1, dot), 'base64url').toString()) as { sub: string; sid: string };
    socket.data = { auth: claims };
    void socket.join([`user:${claims.sub}`, `session:${claims.sid}`]);
    next();
  };
}
