import type { JwsPrimitive } from '../lib/jws/algorithms.js';
import type { DpopAlgorithm } from './algorithms.js';
import type { DpopPublicJwk } from './jwk.js';

/** A proof header that passed every check of its own: its algorithm, its key, the key's thumbprint and verification primitive. */
export interface ProofKey {
  algorithm: DpopAlgorithm;
  jwk: DpopPublicJwk;
  jkt: string;
  primitive: JwsPrimitive;
}

/**
 * The keys of recent proofs, by the proof's encoded header. A client signs
 * every proof with one key and the same header (`typ`, `alg`, `jwk`), so a
 * hit skips the header's JSON parsing, the key checks, the thumbprint's hash
 * and the import of the JWK into node:crypto (an EC point check, tens of
 * µs): a proof then costs its payload and the signature check itself. The
 * header text fixes the key, so its thumbprint too: one entry per key in
 * practice. Bounded, least recently used first out: a flood of fresh keys
 * costs each of them an import, and no memory.
 */
export class ProofKeyCache {
  readonly #entries = new Map<string, ProofKey>();
  readonly #max: number;
  /** Keys imported into node:crypto since the cache was made (tests check that a hot key is imported once). */
  imports = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get(encodedHeader: string): ProofKey | undefined {
    const key = this.#entries.get(encodedHeader);
    if (key !== undefined) {
      // Most recently used goes last (a Map keeps insertion order).
      this.#entries.delete(encodedHeader);
      this.#entries.set(encodedHeader, key);
    }
    return key;
  }

  /** Records a key just imported. */
  add(encodedHeader: string, key: ProofKey): void {
    this.imports++;
    if (this.#entries.size >= this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(encodedHeader, key);
  }

  get size(): number {
    return this.#entries.size;
  }
}
