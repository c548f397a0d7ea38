/*
 * DPoP (RFC 9449) on the browser side: the session's key pair, kept where
 * every tab of the origin finds it, and the proofs signed with it.
 *
 * The key is ECDSA P-256 made by WebCrypto with `extractable: false`: script on
 * the page can sign with it while it runs, but can never read the private key
 * out (not even through IndexedDB, which stores the CryptoKey object itself).
 * Without IndexedDB (or when it fails to open) the key lives in the tab's
 * memory only: a reload then cannot refresh a bound session (sign in again).
 * Without WebCrypto (an insecure context) there is no key and no proof: the
 * session is a bearer session, as with `dpop: false`.
 */

// WebCrypto's types as the environment declares them (the package's types have no DOM library).
type SubtleCrypto = typeof globalThis.crypto.subtle;
type CryptoKey = Awaited<ReturnType<SubtleCrypto['importKey']>>;

/** What the client keeps of its key: the private key and the encoded JWS header with the public key. */
export interface DpopKey {
  k: CryptoKey;
  /** The encoded JWS header (typ, alg, jwk): the same for every proof of the key, and unique to the key. */
  h: string;
}

/** The part of IndexedDB used here (the package's types have no DOM library). */
interface Req<T = unknown> {
  readonly result: T;
  onsuccess: (() => void) | null;
}
interface Store {
  get(key: string): Req;
  put(value: unknown, key: string): Req;
  delete(key: string): Req;
}
interface Tx {
  objectStore(name: string): Store;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
}
interface Db {
  createObjectStore(name: string): unknown;
  transaction(name: string, mode: 'readonly' | 'readwrite'): Tx;
  close(): void;
}
interface Open extends Req<Db> {
  onupgradeneeded: (() => void) | null;
  onerror: (() => void) | null;
}

const DB = 'jwt-session-dpop';
const STORE = 'keys';

const te = new TextEncoder();
export const b64u = (bytes: ArrayBuffer | Uint8Array): string =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/=/g, '')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
const encode = (value: unknown): string => b64u(te.encode(JSON.stringify(value)));
const subtle = (): SubtleCrypto | undefined => globalThis.crypto?.subtle;

/** A new non-extractable P-256 key pair; undefined without WebCrypto. */
export async function newKey(): Promise<DpopKey | undefined> {
  const crypto = subtle();
  if (!crypto) return undefined;
  const pair = (await crypto.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])) as { privateKey: CryptoKey; publicKey: CryptoKey };
  const { kty, crv, x, y } = await crypto.exportKey('jwk', pair.publicKey);
  // §4.2: the public key only, and only its required members (RFC 7638 order is the verifier's business).
  return { k: pair.privateKey, h: encode({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } }) };
}

/**
 * One IndexedDB request on the key store; undefined when IndexedDB is missing
 * or fails (private modes, a blocked upgrade): the caller falls back to memory.
 */
function idb<T>(mode: 'readonly' | 'readwrite', run: (store: Store) => Req<T> | void): Promise<T | undefined> {
  return new Promise((resolve) => {
    const none = (): void => resolve(undefined);
    try {
      const open = (globalThis as unknown as { indexedDB: { open(name: string, version: number): Open } }).indexedDB.open(DB, 1);
      open.onupgradeneeded = () => open.result.createObjectStore(STORE);
      // (No onblocked: version 1 is the only one, so no older connection can block the upgrade.)
      open.onerror = none;
      open.onsuccess = () => {
        const db = open.result;
        try {
          const tx = db.transaction(STORE, mode);
          const request = run(tx.objectStore(STORE));
          tx.oncomplete = () => resolve(request?.result);
          tx.onerror = tx.onabort = none;
        } catch {
          none();
        } finally {
          db.close(); // closes once the transaction is done; a later upgrade is never blocked by this tab
        }
      };
    } catch {
      none(); // no indexedDB (Node, some embedded webviews)
    }
  });
}

export const loadKey = (name: string): Promise<DpopKey | undefined> => idb('readonly', (store) => store.get(name) as Req<DpopKey>);

export const saveKey = (name: string, key: DpopKey): Promise<unknown> => idb('readwrite', (store) => store.put(key, name));

/** Deletes the stored key `name` if it is still `key` (a sibling may have signed in with a new one since). */
export const deleteKey = (name: string, key: DpopKey): Promise<unknown> =>
  idb('readwrite', (store) => {
    const get = store.get(name) as Req<DpopKey | undefined>;
    get.onsuccess = () => {
      if (get.result?.h === key.h) store.delete(name);
    };
  });

/**
 * A DPoP proof JWT (RFC 9449 §4.2) for `htm` `htu` (query and fragment
 * dropped, §4.3 step 9), with `ath` when an access token goes with it (§7.1)
 * and `nonce` when the server gave one (§8). `iat` is seconds on the
 * server's clock as far as the client knows it (`skew`).
 */
export async function proof(key: DpopKey, htm: string, htu: string, skew: number, nonce?: string, token?: string): Promise<string> {
  const webcrypto = subtle()!;
  const claims: Record<string, unknown> = {
    jti: b64u(globalThis.crypto.getRandomValues(new Uint8Array(16))),
    htm,
    htu: htu.replace(/[?#].*/, ''),
    iat: Math.floor(Date.now() / 1000 + skew),
  };
  if (nonce !== undefined) claims.nonce = nonce;
  if (token !== undefined) claims.ath = b64u(await webcrypto.digest('SHA-256', te.encode(token)));
  const input = `${key.h}.${encode(claims)}`;
  // WebCrypto's ECDSA signature is already JWS's r||s (IEEE P1363), not DER.
  return `${input}.${b64u(await webcrypto.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.k, te.encode(input)))}`;
}

/**
 * Seconds the server's clock (a response's `Date`) is ahead of this device's,
 * rounded, when more than 30 s: the proofs' `iat` is the one place where the
 * client needs the time of day, and a device whose clock is minutes off
 * follows the server's. `skew` when the response has no `Date`.
 */
export function serverSkew(res: Response, skew: number): number {
  const off = Date.parse(res.headers.get('date') ?? '') / 1000 - Date.now() / 1000;
  return off !== off ? skew : Math.abs(off) > 30 ? Math.round(off) : 0;
}
