import type { AccessTokenClaims } from '../types.js';

export interface VerifiedToken {
  claims: AccessTokenClaims;
  /** ms: the token stops verifying at this moment (exp plus tolerance). */
  validUntil: number;
  /** ms: when the token was issued, from its jti; NaN when unknown. */
  issuedAt: number;
}

/**
 * Tokens that passed full verification, keyed on the exact token string, so a
 * repeated `read()` costs one Map lookup instead of a signature check. Bounded;
 * when full, the oldest insertion goes first (tokens are inserted roughly in
 * order of expiry). An entry is never served past `validUntil`. Revocation is
 * not cached here: the manager checks it on every hit.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, VerifiedToken>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  get(token: string, now: number): VerifiedToken | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined || now < entry.validUntil) return entry;
    this.#entries.delete(token);
    return undefined;
  }

  set(token: string, entry: VerifiedToken): void {
    if (this.#max === 0) return;
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    this.#entries.set(token, entry);
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}
