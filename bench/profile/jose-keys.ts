/**
 * Does the key type handed to jose matter? jwtVerify with a node KeyObject
 * (what session-core passes today) vs a CryptoKey imported once vs raw bytes,
 * and the bare node:crypto HMAC limit: wall time and process CPU time (all
 * threads, so the libuv pool that runs WebCrypto jobs counts) per call.
 * Run: node --import tsx bench/profile/jose-keys.ts
 */
import { jwtVerify } from 'jose';
import { AUDIENCE, CLOCK_TOLERANCE, HS_SECRET, ISSUER, REQUIRED_CLAIMS, hmacLimit, keySet, mintTokens } from '../lib/fixtures.js';

const keys = keySet('HS256');
const [token] = await mintTokens(keys, 1);
const options = { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt', clockTolerance: CLOCK_TOLERANCE, requiredClaims: REQUIRED_CLAIMS };
const cryptoKey = await crypto.subtle.importKey('raw', keys.verifyKey.export(), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
const raw = new TextEncoder().encode(HS_SECRET);
const limit = hmacLimit(token!);
const contenders: Record<string, () => unknown> = {
  KeyObject: () => jwtVerify(token!, keys.verifyKey, options),
  CryptoKey: () => jwtVerify(token!, cryptoKey, options),
  Uint8Array: () => jwtVerify(token!, raw, options),
  'HMAC limit': limit,
};
const N = 3000;
const results: Record<string, { wall: number[]; cpu: number[] }> = {};
for (let round = 0; round < 5; round++) {
  for (const [name, fn] of Object.entries(contenders)) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await fn();
    const wall = ((performance.now() - t0) * 1000) / N;
    const c = process.cpuUsage(c0);
    (results[name] ??= { wall: [], cpu: [] }).wall.push(wall);
    results[name].cpu.push((c.user + c.system) / N);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [name, r] of Object.entries(results)) console.log(`${name.padEnd(11)} wall ${med(r.wall).toFixed(1).padStart(6)} µs/op   CPU ${med(r.cpu).toFixed(1).padStart(6)} µs/op`);

// Signing (create() and update() sign one access token each): KeyObject vs CryptoKey.
const { SignJWT } = await import('jose');
const signKey = await crypto.subtle.importKey('raw', keys.signKey.export(), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
const payload = { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', sid: 'x'.repeat(26), jti: 'y'.repeat(22), iat: 1, exp: 2 };
const signers: Record<string, () => Promise<string>> = {
  'sign KeyObject': () => new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: keys.kid, typ: 'at+jwt' }).sign(keys.signKey),
  'sign CryptoKey': () => new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: keys.kid, typ: 'at+jwt' }).sign(signKey),
};
const signResults: Record<string, number[]> = {};
for (let round = 0; round < 5; round++) {
  for (const [name, fn] of Object.entries(signers)) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await fn();
    const c = process.cpuUsage(c0);
    (signResults[name] ??= []).push((c.user + c.system) / N);
  }
}
for (const [name, r] of Object.entries(signResults)) console.log(`${name.padEnd(15)} CPU ${med(r).toFixed(1).padStart(6)} µs/op`);
