import type { IncomingHttpHeaders } from 'node:http';

/** What the endpoints need to know about a request: any framework's can be reduced to this. */
export interface EndpointRequest {
  method: string;
  headers: IncomingHttpHeaders;
  /** Node's raw header list; the only place where a repeated Authorization header is still visible. */
  rawHeaders: readonly string[];
  /** The peer address of the socket. */
  remoteAddress: string | undefined;
  /** Whether the socket itself is TLS. */
  encrypted: boolean;
  /** The request target as received, origin-form (`/login?x=1`): the path a DPoP proof's `htu` names. */
  url?: string | undefined;
  /** The query string, without its `?`; absent or '' when there is none. */
  query?: string;
}

/** What the endpoints answer: the framework adapter writes it out as is. */
export interface EndpointResponse {
  status: number;
  /** Lower-case names; always `cache-control: no-store`. */
  headers: Record<string, string>;
  /** One Set-Cookie value (the refresh cookie set or cleared), if any. */
  setCookie?: string;
  /** The JSON text of the body; absent for 204. */
  body?: string;
}

/** Reduces a Node request (Express's and Fastify's `raw` are ones) to an {@link EndpointRequest}. */
export function fromNodeRequest(req: {
  method?: string | undefined;
  url?: string | undefined;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  socket: { remoteAddress?: string | undefined; encrypted?: boolean };
}): EndpointRequest {
  return {
    method: req.method ?? 'GET',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    remoteAddress: req.socket.remoteAddress,
    encrypted: req.socket.encrypted === true,
    // Express rewrites `url` inside a mounted router; `originalUrl` is what the client asked for.
    url: (req as { originalUrl?: unknown }).originalUrl === undefined ? req.url : String((req as { originalUrl?: unknown }).originalUrl),
    query: queryOf(req.url ?? ''),
  };
}

function queryOf(target: string): string {
  const at = target.indexOf('?');
  return at < 0 ? '' : target.slice(at + 1);
}

/**
 * Reduces a Web Request (Hono's `c.req.raw`, on any runtime) to an
 * {@link EndpointRequest}. Fetch joins a repeated header into one value
 * (", "), so two Authorization headers arrive as one malformed value and are
 * refused, as on Node. TLS is the URL's scheme; the peer address is not part
 * of a Request, so the caller passes what the runtime's `getConnInfo` says.
 */
export function fromWebRequest(request: Request, remoteAddress: string | undefined): EndpointRequest {
  const headers: IncomingHttpHeaders = {};
  const rawHeaders: string[] = [];
  request.headers.forEach((value, name) => {
    headers[name] = value;
    rawHeaders.push(name, value);
  });
  const url = new URL(request.url);
  return { method: request.method, headers, rawHeaders, remoteAddress, encrypted: url.protocol === 'https:', url: url.pathname + url.search, query: url.search.slice(1) };
}
