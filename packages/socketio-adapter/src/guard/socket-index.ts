/** The keys an entry is indexed under, kept on the entry itself; written only by {@link SocketIndex}. */
export interface IndexKeys {
  readonly sessionId: string;
  readonly sub: string;
}

export interface Indexable {
  indexKeys: IndexKeys | undefined;
}

/** One entry, or a set once a second one shares the key: most sessions have one socket, and a set each would be an allocation per handshake. */
type Slot<Entry> = Entry | Set<Entry>;

/**
 * Live sockets by session id and by subject: what a revocation event names.
 * The keys an entry was added under are kept with it, so that removing it does
 * not depend on `socket.data`, which changes on renewal.
 */
export class SocketIndex<Entry extends Indexable> {
  readonly #bySession = new Map<string, Slot<Entry>>();
  readonly #bySubject = new Map<string, Slot<Entry>>();

  /** (Re-)indexes `entry` under one session (none for `''`) and subject. */
  set(entry: Entry, sessionId: string, sub: string): void {
    this.delete(entry);
    entry.indexKeys = { sessionId, sub };
    if (sessionId !== '') add(this.#bySession, sessionId, entry);
    add(this.#bySubject, sub, entry);
  }

  delete(entry: Entry): void {
    const keys = entry.indexKeys;
    if (keys === undefined) return;
    entry.indexKeys = undefined;
    if (keys.sessionId !== '') remove(this.#bySession, keys.sessionId, entry);
    remove(this.#bySubject, keys.sub, entry);
  }

  /** A snapshot: ending a socket while iterating removes it from the index. */
  ofSession(sessionId: string): Entry[] {
    return snapshot(this.#bySession.get(sessionId));
  }

  ofSubject(sub: string): Entry[] {
    return snapshot(this.#bySubject.get(sub));
  }

  /** Forgets every entry (their keys too). */
  clear(): void {
    for (const slot of this.#bySubject.values()) for (const entry of snapshot(slot)) entry.indexKeys = undefined;
    this.#bySession.clear();
    this.#bySubject.clear();
  }
}

function snapshot<Entry>(slot: Slot<Entry> | undefined): Entry[] {
  if (slot === undefined) return [];
  return slot instanceof Set ? [...slot] : [slot];
}

function add<Entry>(index: Map<string, Slot<Entry>>, key: string, entry: Entry): void {
  const slot = index.get(key);
  if (slot === undefined) index.set(key, entry);
  else if (slot instanceof Set) slot.add(entry);
  else if (slot !== entry) index.set(key, new Set([slot, entry]));
}

function remove<Entry>(index: Map<string, Slot<Entry>>, key: string, entry: Entry): void {
  const slot = index.get(key);
  if (slot === entry) index.delete(key);
  else if (slot instanceof Set) {
    // A set holds two or more: back to a single entry when one is left.
    if (slot.delete(entry) && slot.size === 1) index.set(key, slot.values().next().value as Entry);
  }
}
