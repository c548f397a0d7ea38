import type { IncomingMessage } from 'node:http';
import type { LogoutBody } from '../core/backchannel-logout.js';

/**
 * Reads a Node request's body up to `max` bytes. Past it, stops reading and
 * reports it (the answer is 413, and the connection closes after it rather
 * than draining an attacker's upload). A body a parser already read
 * (`express.urlencoded()` before this middleware) is taken from `req.body`.
 */
export function readBody(req: IncomingMessage, max: number): Promise<LogoutBody> {
  // Only a body a parser really read (body-parser marks it `_body`): Express 4 sets `req.body = {}` for any request its JSON parser skipped, with the stream still unread.
  const parsed = (req as { _body?: unknown })._body === true || req.readableEnded ? (req as { body?: unknown }).body : undefined;
  // Read as text by express.text() or express.raw(): taken as it is.
  if (typeof parsed === 'string') return Promise.resolve({ text: parsed });
  if (Buffer.isBuffer(parsed)) return Promise.resolve({ text: parsed.toString('utf8') });
  if (parsed !== undefined && parsed !== null && typeof parsed === 'object' && !Buffer.isBuffer(parsed)) {
    // Already parsed: rebuilt as form text so the one-parameter rule is checked the same way.
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
      for (const one of Array.isArray(value) ? value : [value]) if (typeof one === 'string') params.append(name, one);
    }
    return Promise.resolve({ text: params.toString() });
  }
  if (req.readableEnded) return Promise.resolve(undefined);
  const declared = Number(req.headers['content-length']);
  if (declared > max) return Promise.resolve({ tooLarge: true });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (body: LogoutBody) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(body);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.pause();
        finish({ tooLarge: true });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish({ text: Buffer.concat(chunks).toString('utf8') }));
    req.once('error', () => finish(undefined));
    req.once('close', () => finish(undefined));
  });
}

