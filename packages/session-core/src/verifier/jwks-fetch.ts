import { readJson } from '../lib/capped-body.js';

/**
 * Why one JWK Set fetch failed, in words for the operator (the status, the
 * size limit, a timeout): kept as the `cause` of ERR_STORAGE_UNAVAILABLE.
 * Never holds a token or the body.
 */
export class JwksFetchError extends Error {
  override readonly name = 'JwksFetchError';
}

export interface JwksFetchOptions {
  /** ms the request, body included, may take. */
  timeout: number;
  /** Bytes of body accepted; a larger one is refused without being read to its end. */
  maxBytes: number;
}

/**
 * GETs a JWK Set and parses it as JSON, nothing more (the caller checks its
 * shape). Redirects are not followed, as jose does: a JWK Set URL is
 * configured exactly, and a redirect could leave https. The body is capped so
 * a key server that answers with an endless or huge body costs a bounded
 * amount of memory.
 */
export async function fetchJwks(url: URL, options: JwksFetchOptions): Promise<unknown> {
  const signal = AbortSignal.timeout(options.timeout);
  let response: Response;
  try {
    response = await fetch(url, { method: 'GET', redirect: 'manual', signal, headers: { accept: 'application/jwk-set+json, application/json' } });
  } catch (cause) {
    throw new JwksFetchError(signal.aborted ? `no answer within ${options.timeout} ms` : 'the request failed', { cause });
  }
  try {
    if (response.status !== 200) throw new JwksFetchError(`the key server answered HTTP ${response.status}, not 200`);
    // Content-Length is a claim, not a limit: checked here to refuse early, and the bytes are counted anyway.
    if (Number(response.headers.get('content-length')) > options.maxBytes) throw new JwksFetchError(`the JWK Set is larger than ${options.maxBytes} bytes`);
    return await readJson(response.body, options.maxBytes, () => new JwksFetchError(`the JWK Set is larger than ${options.maxBytes} bytes`));
  } catch (error) {
    await response.body?.cancel().catch(() => undefined);
    if (error instanceof JwksFetchError) throw error;
    throw new JwksFetchError(signal.aborted ? `no answer within ${options.timeout} ms` : 'the body is not JSON', { cause: error });
  }
}
