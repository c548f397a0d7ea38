import { SESSION_ERROR_CODES } from '../errors.js';

/*
 * Inputs a caller should never pass, for the fuzz suites of every package:
 * wrong types, hostile objects, huge and ill-formed strings.
 */
const HUGE = 'x'.repeat(10 * 1024 * 1024);

function throwingProxy(): object {
  const fail = () => {
    throw new Error('hostile proxy');
  };
  return new Proxy({}, { get: fail, has: fail, ownKeys: fail, getPrototypeOf: fail, getOwnPropertyDescriptor: fail });
}

/** length 10^9, one element: cheap to make, ruinous to walk slot by slot. */
function sparseArray(): unknown[] {
  const a: unknown[] = [];
  a[1e9 - 1] = 1;
  return a;
}

function throwingGetters(): object {
  const o: Record<string, unknown> = {};
  for (const name of ['claims', 'context', 'sub', 'sid', 'jti', 'subject', 'sessionId', 'now', 'type', 'expiresAt', 'toString', 'valueOf', 'toJSON']) {
    Object.defineProperty(o, name, { enumerable: true, get: () => { throw new Error('hostile getter'); } });
  }
  return o;
}

/**
 * Values no caller should pass, for fuzz suites (mix them into fast-check's
 * `fc.anything()` with `fc.constantFrom(...hostileValues())`): hostile objects,
 * huge and ill-formed strings, odd numbers. Fresh objects on every call.
 */
export function hostileValues(): unknown[] {
  return [
    null, undefined, '', HUGE, 'eve\uD800', '\uDC00', Number.NaN, Infinity, -Infinity, -0, 2 ** 53, 1n, Symbol('s'),
    () => 1, [], sparseArray(), Object.create(null), new Date(Number.NaN), Promise.resolve(1),
    throwingProxy(), throwingGetters(), { claims: throwingProxy(), context: throwingGetters() },
  ];
}

const CODES: ReadonlySet<unknown> = new Set(SESSION_ERROR_CODES);

/**
 * Runs `call` and checks the bar every public method must meet on any input:
 * it either succeeds or fails with a coded error, and it never holds the event
 * loop (CPU time, so a busy machine does not count) for more than `maxCpuMs`.
 * Returns the error, if any.
 */
export async function probe(call: () => unknown, maxCpuMs = 50, extraCodes: readonly string[] = []): Promise<unknown> {
  const before = process.cpuUsage();
  let error: unknown;
  try {
    await call();
  } catch (caught) {
    error = caught;
  }
  const used = process.cpuUsage(before);
  const cpuMs = (used.user + used.system) / 1000;
  if (cpuMs > maxCpuMs) throw new Error(`the call used ${cpuMs.toFixed(1)} ms of CPU (limit ${maxCpuMs})`);
  if (error !== undefined) {
    const code = (error as { code?: unknown } | null)?.code;
    if (!CODES.has(code) && !extraCodes.includes(code as string)) {
      throw new Error(`uncoded failure: ${error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : typeof error}`);
    }
  }
  return error;
}
