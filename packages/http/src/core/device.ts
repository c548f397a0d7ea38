import Bowser from 'bowser';
import type { SessionContext } from '@jwt-session/session-core';
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
