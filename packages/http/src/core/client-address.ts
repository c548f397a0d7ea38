import { requestOrigin } from '@jwt-session/session-core';
import type { EndpointRequest } from './request.js';

/*
 * What the request says about the client, believing X-Forwarded-* only when
 * told to (trustProxy): without a proxy in front, any client can send them.
 */

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/** The comma-separated entries of a forwarded header, trimmed, empty ones dropped. */
function entries(value: string | string[] | undefined): string[] {
  return (single(value) ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function stripMapped(ip: string): string {
  return ip.toLowerCase().startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/**
 * The client's IP: the socket's peer, or with `trustProxy` the left-most
 * X-Forwarded-For entry (`true`) or the one `n` hops from the right (`n`
 * proxies in front, each appending the address it saw).
 */
export function clientIp(req: EndpointRequest, trustProxy: boolean | number): string | undefined {
  const peer = req.remoteAddress === undefined ? undefined : stripMapped(req.remoteAddress);
  if (trustProxy === false) return peer;
  const hops = entries(req.headers['x-forwarded-for']);
  if (hops.length === 0) return peer;
  const chosen = trustProxy === true ? hops[0] : hops[Math.max(0, hops.length - trustProxy)];
  // Whatever a proxy passed on is client text: keep only what an address can contain.
  return chosen !== undefined && /^[0-9A-Fa-f:.]{2,45}$/.test(chosen) ? stripMapped(chosen) : peer;
}

/** Whether the client reached us over https: the socket is TLS, or a trusted proxy says so. */
export function isHttps(req: EndpointRequest, trustProxy: boolean | number): boolean {
  if (req.encrypted) return true;
  if (trustProxy === false) return false;
  return entries(req.headers['x-forwarded-proto'])[0]?.toLowerCase() === 'https';
}

/** The request's own origin (`scheme://host[:port]`), as a browser on this page would send it: session-core's `requestOrigin`, which the guards use too. */
export function ownOrigin(req: EndpointRequest, trustProxy: boolean | number): string | undefined {
  return requestOrigin(req, trustProxy);
}
