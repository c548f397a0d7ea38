/**
 * Live sockets by session id and by subject: what a revocation event names.
 * The keys an entry was added under are kept here, so that removing it does
 * not depend on `socket.data`, which changes on renewal.
 */
export class SocketIndex<Entry> {
  readonly #bySession = new Map<string, Set<Entry>>();
  readonly #bySubject = new Map<string, Set<Entry>>();
  readonly #keys = new Map<Entry, { sessionId: string; sub: string }>();

  /** (Re-)indexes `entry` under one session (none for `''`) and subject. */
  set(entry: Entry, sessionId: string, sub: string): void {
    this.delete(entry);
    this.#keys.set(entry, { sessionId, sub });
    if (sessionId !== '') add(this.#bySession, sessionId, entry);
    add(this.#bySubject, sub, entry);
  }

  delete(entry: Entry): void {
    const keys = this.#keys.get(entry);
    if (keys === undefined) return;
    this.#keys.delete(entry);
    remove(this.#bySession, keys.sessionId, entry);
    remove(this.#bySubject, keys.sub, entry);
  }

  /** A snapshot: ending a socket while iterating removes it from the index. */
  ofSession(sessionId: string): Entry[] {
    return [...(this.#bySession.get(sessionId) ?? [])];
  }

  ofSubject(sub: string): Entry[] {
    return [...(this.#bySubject.get(sub) ?? [])];
  }

  clear(): void {
    this.#bySession.clear();
    this.#bySubject.clear();
    this.#keys.clear();
  }
}

function add<Entry>(index: Map<string, Set<Entry>>, key: string, entry: Entry): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(entry);
}

function remove<Entry>(index: Map<string, Set<Entry>>, key: string, entry: Entry): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(entry);
  if (set.size === 0) index.delete(key);
}
