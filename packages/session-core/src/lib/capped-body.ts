/**
 * Reads at most `maxBytes` of a fetch body, cancelling the stream (and so the
 * connection) past that, so a server answering with an endless or huge body
 * costs a bounded amount of memory. Web streams only: it runs in a Worker.
 * Throws `tooLarge()` past the cap.
 */
export async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number, tooLarge: () => Error): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** A capped body decoded as UTF-8 (malformed bytes throw) and parsed as JSON. */
export async function readJson(body: ReadableStream<Uint8Array> | null, maxBytes: number, tooLarge: () => Error): Promise<unknown> {
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await readCapped(body, maxBytes, tooLarge))) as unknown;
}
