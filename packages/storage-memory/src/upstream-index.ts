import type { UpstreamIdentity, UpstreamSelector } from '@jwt-session/session-core';

/*
 * The upstream identity of the sessions that have one (`create({ upstream })`),
 * and the two indexes a provider's logout looks them up by: (issuer, sid) and
 * (issuer, sub). Kept beside the session strings, not in them (record-codec.ts
 * stays as it is for sessions without one): a session's entries go when the
 * session leaves the store, by any path, so the indexes never hold more ids
 * than there are linked sessions.
 */

// U+0000 never occurs in an issuer (a URL) and cannot be confused with one; it separates the two parts of a key.
const key = (issuer: string, id: string): string => `${issuer}\u0000${id}`;

function add(index: Map<string, Set<string>>, k: string, sessionId: string): void {
  const ids = index.get(k);
  if (ids === undefined) index.set(k, new Set([sessionId]));
  else ids.add(sessionId);
}

function remove(index: Map<string, Set<string>>, k: string, sessionId: string): void {
  const ids = index.get(k);
  if (ids === undefined) return;
  ids.delete(sessionId);
  if (ids.size === 0) index.delete(k);
}

export class UpstreamIndex {
  readonly #bySession = new Map<string, UpstreamIdentity>();
  readonly #bySid = new Map<string, Set<string>>();
  readonly #bySubject = new Map<string, Set<string>>();

  /** Linked sessions held. */
  get size(): number {
    return this.#bySession.size;
  }

  link(sessionId: string, upstream: UpstreamIdentity): void {
    this.unlink(sessionId);
    const copy: UpstreamIdentity = { issuer: upstream.issuer, subject: upstream.subject };
    if (upstream.sessionId !== undefined) copy.sessionId = upstream.sessionId;
    this.#bySession.set(sessionId, copy);
    add(this.#bySubject, key(copy.issuer, copy.subject), sessionId);
    if (copy.sessionId !== undefined) add(this.#bySid, key(copy.issuer, copy.sessionId), sessionId);
  }

  unlink(sessionId: string): void {
    if (this.#bySession.size === 0) return;
    const upstream = this.#bySession.get(sessionId);
    if (upstream === undefined) return;
    this.#bySession.delete(sessionId);
    remove(this.#bySubject, key(upstream.issuer, upstream.subject), sessionId);
    if (upstream.sessionId !== undefined) remove(this.#bySid, key(upstream.issuer, upstream.sessionId), sessionId);
  }

  /** A copy of the session's upstream identity, if it has one. */
  get(sessionId: string): UpstreamIdentity | undefined {
    if (this.#bySession.size === 0) return undefined;
    const upstream = this.#bySession.get(sessionId);
    return upstream === undefined ? undefined : { ...upstream };
  }

  /** Ids of the sessions the selector names (live or not: the store checks). */
  find(selector: UpstreamSelector): string[] {
    const ids = selector.sessionId !== undefined ? this.#bySid.get(key(selector.issuer, selector.sessionId)) : this.#bySubject.get(key(selector.issuer, selector.subject));
    return ids === undefined ? [] : [...ids];
  }

  clear(): void {
    this.#bySession.clear();
    this.#bySid.clear();
    this.#bySubject.clear();
  }
}
