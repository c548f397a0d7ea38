import type { ServerResponse } from 'node:http';
import type { EndpointResponse } from './request.js';

/** Writes an answer on a Node response (Express's `res` is one). */
export function writeNodeResponse(res: ServerResponse, response: EndpointResponse): void {
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  if (response.setCookie !== undefined) appendSetCookie(res, response.setCookie);
  if (response.body === undefined) {
    res.end();
    return;
  }
  res.setHeader('content-length', Buffer.byteLength(response.body));
  res.end(response.body);
}

/** Keeps Set-Cookie headers the application set earlier on this response. */
function appendSetCookie(res: ServerResponse, cookie: string): void {
  const existing = res.getHeader('set-cookie');
  if (existing === undefined) res.setHeader('set-cookie', cookie);
  else res.setHeader('set-cookie', [...(Array.isArray(existing) ? existing : [String(existing)]), cookie]);
}
