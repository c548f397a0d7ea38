/**
 * HTTP load with autocannon: `connections` keep-alive connections over
 * loopback, each sending `GET /r` again as soon as its answer arrives. A
 * token source is either one token (hot: the request is built once) or a
 * function called per request (cold: each request carries the token it
 * returns).
 */
import autocannon from 'autocannon';

export const CONNECTIONS = 32;

export interface LoadResult {
  /** Answers per second with a 2xx status. */
  rate: number;
  ok: number;
  /** Answers with another status, and connection errors or timeouts: must be 0 for a timed run to count. */
  failed: number;
}

export async function httpLoad(port: number, ms: number, token: string | (() => string) | undefined): Promise<LoadResult> {
  const headers: Record<string, string> = typeof token === 'string' ? { authorization: `Bearer ${token}` } : {};
  const requests =
    typeof token === 'function'
      ? [
          {
            method: 'GET' as const,
            path: '/r',
            setupRequest: (request: autocannon.Request) => {
              request.headers = { authorization: `Bearer ${token()}` };
              return request;
            },
          },
        ]
      : undefined;
  const start = performance.now();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/r`,
    connections: CONNECTIONS,
    duration: ms / 1000,
    // autocannon stops only at a sample tick (1 s by default): a 250 ms run would last a second.
    sampleInt: 50,
    headers,
    ...(requests === undefined ? {} : { requests }),
  });
  const seconds = (performance.now() - start) / 1000;
  const ok = result['2xx'];
  return { rate: ok / seconds, ok, failed: result.non2xx + result.errors + result.timeouts };
}

/** The status of one request carrying `token` (or none). */
export async function statusOf(port: number, token: string | undefined): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/r`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}
