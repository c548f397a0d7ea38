import { createHmac, type KeyObject, createSecretKey } from 'node:crypto';
import { SessionError, isSessionError } from '../errors.js';
import { asciiEqual } from '../lib/ascii-equal.js';

export interface DpopNoncesOptions {
  /**
   * The secret nonces are derived from, at least 32 bytes; every node of a
   * deployment has the same one. A list rotates it: the first issues, all of
   * them are accepted; prepend a new secret, and drop the old one once a
   * window has passed.
   */
  secret: Uint8Array | string | readonly (Uint8Array | string)[];
  /**
   * Seconds per window. A nonce is issued for the current window and accepted
   * in it and the next one, so it lives between `window` and twice `window`
   * seconds. Nodes' clocks must agree to well within a window. @default 300
   */
  window?: number;
  /** Milliseconds since the epoch, as the manager's clock. @default Date.now */
  clock?: () => number;
}

/** Bytes of the MAC kept in a nonce: 128 bits, base64url in 22 characters. */
const MAC_BYTES = 16;
const NONCE = /^([0-9a-z]{1,11})\.([A-Za-z0-9_-]{22})$/;
const MIN_SECRET_BYTES = 32;

function fail(name: string, message: string): never {
  throw new SessionError('ERR_CONFIG_INVALID', `options.${name} ${message}`);
}

function secretKeys(secret: unknown): KeyObject[] {
  const list = Array.isArray(secret) ? (secret as unknown[]) : [secret];
  if (list.length === 0) fail('secret', 'must hold at least one secret');
  return list.map((value, index) => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value instanceof Uint8Array ? Buffer.from(value) : undefined;
    if (bytes === undefined || bytes.length < MIN_SECRET_BYTES) fail(Array.isArray(secret) ? `secret[${index}]` : 'secret', `must be a string or bytes of at least ${MIN_SECRET_BYTES} bytes`);
    return createSecretKey(bytes);
  });
}

function readOptions(options: DpopNoncesOptions): { keys: KeyObject[]; window: number; clock: () => number } {
  if (options === null || typeof options !== 'object') throw new SessionError('ERR_CONFIG_INVALID', 'DpopNonces options must be an object');
  const keys = secretKeys(options.secret);
  const window = options.window ?? 300;
  if (typeof window !== 'number' || !Number.isFinite(window) || window < 1) fail('window', 'must be a number of seconds >= 1');
  const clock = options.clock ?? Date.now;
  if (typeof clock !== 'function') fail('clock', 'must be a function');
  return { keys, window: window * 1000, clock };
}

/**
 * Stateless server nonces for DPoP (RFC 9449 §8 and §9): a nonce is the
 * number of a time window and an HMAC of it under a shared secret, so any
 * node that has the secret checks a nonce any other node issued, with no
 * shared state and no round trip. The server sends {@link current} in a
 * `DPoP-Nonce` header; a proof whose `nonce` fails {@link check} is answered
 * with `error="use_dpop_nonce"` and a fresh one.
 *
 * A nonce bounds how long a proof can be used from the server's clock, not
 * the client's; it does not by itself stop a replay within its lifetime (the
 * replay cache does).
 *
 * @example
 * ```ts
 * const nonces = new DpopNonces({ secret: process.env.DPOP_NONCE_SECRET! });
 * response.setHeader('DPoP-Nonce', nonces.current());
 * ```
 */
export class DpopNonces {
  readonly #keys: KeyObject[];
  readonly #window: number;
  readonly #clock: () => number;
  /** The MACs of the last windows asked about (a window's number → one MAC per secret), so a check costs string compares. */
  readonly #macs = new Map<number, string[]>();

  constructor(options: DpopNoncesOptions) {
    let read: { keys: KeyObject[]; window: number; clock: () => number };
    try {
      read = readOptions(options);
    } catch (error) {
      // A getter that throws, a proxy: the caller's bug, reported as a configuration error rather than a crash.
      throw isSessionError(error) ? error : new SessionError('ERR_CONFIG_INVALID', 'DpopNonces options could not be read');
    }
    this.#keys = read.keys;
    this.#window = read.window;
    this.#clock = read.clock;
  }

  #macsOf(window: number): string[] {
    let macs = this.#macs.get(window);
    if (macs === undefined) {
      macs = this.#keys.map((key) => createHmac('sha256', key).update(`dpop-nonce.${window}`).digest().subarray(0, MAC_BYTES).toString('base64url'));
      // Only the current and previous windows are ever asked about.
      if (this.#macs.size >= 4) this.#macs.clear();
      this.#macs.set(window, macs);
    }
    return macs;
  }

  #windowAt(now: number): number {
    return Math.floor(now / this.#window);
  }

  /** The nonce to send now (`DPoP-Nonce`): the same for every request of a window, on every node. */
  current(): string {
    const window = this.#windowAt(this.#clock());
    return `${window.toString(36)}.${this.#macsOf(window)[0]!}`;
  }

  /** Whether `nonce` was issued by a node with one of the secrets, for the current window or the previous one. Never throws. */
  check(nonce: unknown): boolean {
    if (typeof nonce !== 'string' || nonce.length > 34) return false;
    const match = NONCE.exec(nonce);
    if (match === null) return false;
    const window = Number.parseInt(match[1]!, 36);
    const now = this.#windowAt(this.#clock());
    if (window !== now && window !== now - 1) return false;
    let valid = false;
    // Every secret is compared, so the time does not tell which one matched.
    for (const mac of this.#macsOf(window)) valid = asciiEqual(match[2]!, mac) || valid;
    return valid;
  }
}
