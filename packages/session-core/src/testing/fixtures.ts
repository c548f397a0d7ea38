import { newSessionId } from '../lib/ids.js';
import { hashSecret } from '../lib/refresh-token.js';
import type { NewSessionRecord } from '../storage.js';

/** A fixed moment for store-level tests: stores decide on the `now` they are given. */
export const T0 = Date.UTC(2030, 0, 1);
export const HOUR = 3_600_000;

let counter = 0;

/** A distinct fake secret hash per call. */
export function fakeHash(label = 'h'): string {
  return hashSecret(`${label}-${++counter}-${Math.random()}`);
}

export function newRecord(subject: string, overrides: Partial<NewSessionRecord> = {}): NewSessionRecord {
  const createdAt = overrides.createdAt ?? T0;
  return {
    sessionId: newSessionId(subject),
    subject,
    tokenHash: fakeHash(),
    createdAt,
    expiresAt: createdAt + 24 * HOUR,
    idleExpiresAt: undefined,
    claims: { roles: ['user'] },
    context: { ip: '203.0.113.7', userAgent: 'conformance' },
    ...overrides,
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
