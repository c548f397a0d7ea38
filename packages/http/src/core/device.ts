import Bowser from 'bowser';
import type { DeviceInput, SessionContext } from '@jwt-session/session-core';
import { clientIp } from './client-address.js';
import type { EndpointRequest } from './request.js';

/** Longer user agents are cut before parsing and storing: a header is client text of any size. */
const MAX_USER_AGENT = 256;

/** Printable ASCII only, short: the summary is shown in a page. */
function clean(text: string | undefined): string {
  return (text ?? '').replace(/[^\x20-\x7e]/g, '').trim().slice(0, 40);
}

/**
 * "Firefox 140 on macOS": browser, major version and operating system, as
 * bowser (MIT) parses them; "Unknown device" when it recognises neither.
 */
export function describeDevice(userAgent: string | undefined): string {
  // Public, so anything may arrive here: a non-string is no user agent at all.
  if (typeof userAgent !== 'string' || userAgent.trim() === '') return 'Unknown device';
  let parsed: Bowser.Parser.ParsedResult;
  try {
    parsed = Bowser.parse(userAgent.slice(0, MAX_USER_AGENT));
  } catch {
    return 'Unknown device';
  }
  const { browser, os } = parsed;
  const name = clean(browser.name);
  const major = clean(browser.version?.split('.')[0]);
  const system = clean(os.name);
  if (name === '' && system === '') return 'Unknown device';
  const app = name === '' ? 'Unknown browser' : major === '' || !/^\d+$/.test(major) ? name : `${name} ${major}`;
  return system === '' ? app : `${app} on ${system}`;
}

/** What is recorded with a session on sign-in and on each refresh. */
export function deviceContext(req: EndpointRequest, trustProxy: boolean | number): SessionContext {
  const header = req.headers['user-agent'];
  const userAgent = typeof header === 'string' ? header.slice(0, MAX_USER_AGENT) : undefined;
  const ip = clientIp(req, trustProxy);
  const context: SessionContext = { device: describeDevice(userAgent) };
  if (ip !== undefined) context.ip = ip;
  if (userAgent !== undefined && userAgent !== '') context.userAgent = userAgent;
  return context;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEXTET = /^[0-9a-f]{1,4}$/;

/** The eight groups of an IPv6 address (an embedded IPv4 tail as two), or undefined. No node:net: the Hono entry runs on Workers too. */
function ipv6Groups(ip: string): string[] | undefined {
  const halves = ip.toLowerCase().split('::');
  if (halves.length > 2) return undefined;
  const parts = halves.map((half) => (half === '' ? [] : half.split(':')));
  const last = parts[parts.length - 1]!;
  // An embedded IPv4 tail (::ffff:a.b.c.d, 64:ff9b::a.b.c.d) stands for the last two groups.
  const v4 = last.at(-1);
  if (v4 !== undefined && v4.includes('.')) {
    if (!IPV4.test(v4)) return undefined;
    const [a, b, c, d] = v4.split('.').map(Number) as [number, number, number, number];
    last.splice(-1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  if (!parts.every((groups) => groups.every((group) => HEXTET.test(group)))) return undefined;
  const count = parts.reduce((n, groups) => n + groups.length, 0);
  if (parts.length === 1) return count === 8 ? parts[0] : undefined;
  if (count > 7) return undefined;
  return [...parts[0]!, ...Array<string>(8 - count).fill('0'), ...parts[1]!];
}

/**
 * The network a client connects from, coarse enough that a phone moving
 * between cells of one carrier or a laptop renewing its DHCP lease stays on
 * it: an IPv4 address's /24 (`203.0.113.0/24`), an IPv6 address's /48
 * (`2001:db8:1::/48`, a site's prefix). `unknown` without a usable address.
 */
export function networkOf(ip: string | undefined): string {
  if (typeof ip !== 'string' || ip.length > 45) return 'unknown';
  if (IPV4.test(ip)) return `${ip.split('.').slice(0, 3).join('.')}.0/24`;
  const groups = ip.includes(':') ? ipv6Groups(ip) : undefined;
  if (groups === undefined) return 'unknown';
  return `${groups.slice(0, 3).map((group) => Number.parseInt(group, 16).toString(16)).join(':')}::/48`;
}

/**
 * The `device` session-core's `deviceHistory` (the `sessionCreatedOnNewDevice`
 * event) takes, as a request shows it: the browser and system summary
 * (`describeDevice`) and the client's network (`networkOf`).
 */
export function deviceInput(req: EndpointRequest, trustProxy: boolean | number): DeviceInput {
  const header = req.headers['user-agent'];
  return { summary: describeDevice(typeof header === 'string' ? header : undefined), network: networkOf(clientIp(req, trustProxy)) };
}
