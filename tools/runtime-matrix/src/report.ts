/** One line per check, read by scripts/runtimes.mjs: `ok <name>` or `FAIL <name>: <why>`. */
export async function check(name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
    console.log(`ok ${name}`);
  } catch (error) {
    console.log(`FAIL ${name}: ${String((error as Error)?.message ?? error).split('\n')[0]}`);
  }
}

export function expect(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}

/** The code a promise rejects with, or 'resolved'. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
}

export const SECRET = 'a-runtime-matrix-secret-of-at-least-32-bytes';
export const ISSUER = 'https://auth.test';
export const AUDIENCE = 'https://api.test';
export const REVOCATIONS_SECRET = 'runtime-matrix-revocation-log-secret-0123456789';
