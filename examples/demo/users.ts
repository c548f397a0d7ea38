// The demo's user directory: three fixed users whose passwords are shown on
// the sign-in page. Passwords are stored as scrypt hashes (node:crypto), the
// way a real user table would hold them, and compared in constant time. At
// most a few derivations run at once (HashLimiter): a burst of sign-ins waits
// in a short queue, and beyond it is refused instead of piling up.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface DemoUser {
  id: string;
  name: string;
  /** Shown on the sign-in page: this is a demo. */
  password: string;
}

export interface PublicUser {
  id: string;
  name: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  { id: 'alice', name: 'Alice Martin', password: 'wonderland' },
  { id: 'bob', name: 'Bob Chen', password: 'builder42' },
  { id: 'carol', name: 'Carol Diaz', password: 'c4r0l-demo' },
];

// N = 2^14, r = 8, p = 1: the OWASP minimum for scrypt, fast enough for a demo.
const SCRYPT: ScryptOptions = { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, SCRYPT, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Too many password checks are waiting: answer "busy" instead of queueing without end. */
export class HashQueueFull extends Error {
  readonly code = 'ERR_BUSY';
}

/** Runs at most `max` derivations at once, with at most `queue` waiting. */
export class HashLimiter {
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  /** The most that ever ran at once (for tests and the curious). */
  peak = 0;

  constructor(
    readonly max = 2,
    readonly queue = 32,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.max) {
      if (this.#waiting.length >= this.queue) throw new HashQueueFull('too many password checks are waiting');
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else this.#running += 1;
    this.peak = Math.max(this.peak, this.#running);
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#running -= 1;
    }
  }
}

interface StoredUser extends PublicUser {
  salt: Buffer;
  hash: Buffer;
}

export class UserDirectory {
  readonly #users = new Map<string, StoredUser>();
  /** Used for unknown user names so that they cost as much as a wrong password. */
  #dummy: StoredUser | undefined;
  readonly hashing: HashLimiter;

  private constructor(hashing: HashLimiter) {
    this.hashing = hashing;
  }

  static async create(users: readonly DemoUser[] = DEMO_USERS, hashing = new HashLimiter()): Promise<UserDirectory> {
    const directory = new UserDirectory(hashing);
    for (const user of users) {
      const salt = randomBytes(16);
      directory.#users.set(user.id, { id: user.id, name: user.name, salt, hash: await derive(user.password, salt) });
    }
    const salt = randomBytes(16);
    directory.#dummy = { id: '', name: '', salt, hash: await derive(randomBytes(16).toString('hex'), salt) };
    return directory;
  }

  /** The user, when the password matches; `undefined` otherwise (no hint which part was wrong). */
  async verify(username: string, password: string): Promise<PublicUser | undefined> {
    const user = this.#users.get(normalizeUsername(username));
    const target = user ?? this.#dummy!;
    const hash = await this.hashing.run(() => derive(password, target.salt));
    const match = timingSafeEqual(hash, target.hash);
    return user !== undefined && match ? { id: user.id, name: user.name } : undefined;
  }

  get(id: string): PublicUser | undefined {
    const user = this.#users.get(id);
    return user === undefined ? undefined : { id: user.id, name: user.name };
  }
}

/** The account key for look-ups and throttling. */
export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}
