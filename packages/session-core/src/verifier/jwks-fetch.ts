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

/** Reads at most `maxBytes` of the body, cancelling the stream (and so the connection) past that. */
async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Buffer> {
  if (body === null) return Buffer.alloc(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, size);
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new JwksFetchError(`the JWK Set is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
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
    const body = await readCapped(response.body, options.maxBytes);
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)) as unknown;
  } catch (error) {
    await response.body?.cancel().catch(() => undefined);
    if (error instanceof JwksFetchError) throw error;
    throw new JwksFetchError(signal.aborted ? `no answer within ${options.timeout} ms` : 'the body is not JSON', { cause: error });
  }
}
