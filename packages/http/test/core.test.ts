// The pure parts of the core, case by case. Everything they feed is also
// exercised over real HTTP by the framework suites.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { clientIp, isHttps, ownOrigin } from '../src/core/client-address.js';
import { MAX_REFRESH_COOKIES, readRefreshCookies } from '../src/core/cookie.js';
import { describeDevice, networkOf } from '../src/core/device.js';
import { codeOf } from '../src/core/errors.js';
import { normalizeOptions } from '../src/core/options.js';
import type { EndpointRequest } from '../src/core/request.js';
import { SessionEndpoints } from '../src/core/endpoints.js';
import { SessionHttpError } from '../src/core/errors.js';
import { CHROME_WINDOWS, Cleanup, FIREFOX_MAC, makeManager } from './support.js';

const S = suite('core');

S('networkOf: an IPv4 address\'s /24, an IPv6 address\'s /48 written out, "unknown" for anything else', () => {
  const cases: Array<[string | undefined, string]> = [
    ['203.0.113.77', '203.0.113.0/24'],
    ['10.1.2.3', '10.1.2.0/24'],
    ['2001:db8:1:2::7', '2001:db8:1::/48'],
    ['2001:DB8:0001:ffff:0:0:0:1', '2001:db8:1::/48'],
    ['2001:db8::1', '2001:db8:0::/48'],
    ['::1', '0:0:0::/48'],
    ['::', '0:0:0::/48'],
    ['fe80::', 'fe80:0:0::/48'],
    ['64:ff9b::198.51.100.1', '64:ff9b:0::/48'],
    ['2001:db8:1::198.51.100.1', '2001:db8:1::/48'],
    [undefined, 'unknown'],
    ['', 'unknown'],
    ['not-an-ip', 'unknown'],
    ['999.1.1.1', 'unknown'],
    ['1:2:3:4:5:6:7:8:9', 'unknown'],
    ['1::2::3', 'unknown'],
    ['12345::', 'unknown'],
    ['1:2:3:4:5:6:7', 'unknown'],
    ['::ffff:300.1.1.1', 'unknown'],
    ['1:2:3:4:5:6:7::', '1:2:3::/48'],
  ];
  for (const [ip, expected] of cases) assert.is(networkOf(ip), expected, String(ip));
});

S('describeDevice: "<browser> <major> on <system>", or a fixed fallback', () => {
  const cases: Array<[string | undefined, string]> = [
    [FIREFOX_MAC, 'Firefox 140 on macOS'],
    [CHROME_WINDOWS, 'Chrome 131 on Windows'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1', 'Safari 17 on iOS'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36', 'Chrome 131 on Android'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 'Microsoft Edge 131 on Windows'],
    ['Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', 'Firefox 128 on Linux'],
    [undefined, 'Unknown device'],
    ['', 'Unknown device'],
    ['   ', 'Unknown device'],
    ['node', 'Unknown device'],
    ['curl/8.5.0', 'Unknown device'],
  ];
  for (const [ua, expected] of cases) assert.is(describeDevice(ua), expected, String(ua));
  // Client text of any size or content: bounded and printable.
  const huge = describeDevice(`${FIREFOX_MAC} ${'x'.repeat(100_000)}`);
  assert.is(huge, 'Firefox 140 on macOS');
  assert.ok(/^[\x20-\x7e]{1,100}$/.test(describeDevice('Mozilla/5.0 (Windows NT 10.0) \u0000\u001b[31m Firefox/9\u2028')));
});

function req(headers: Record<string, string | string[]>, remoteAddress: string | undefined = '10.0.0.2', encrypted = false): EndpointRequest {
  return { method: 'POST', headers, rawHeaders: [], remoteAddress, encrypted };
}

S('issueSession refuses a redirect that could leave the origin: a 500 with the fixed text, ERR_CONFIG_INVALID to onError, no session', async () => {
  for (const redirect of ['//evil.test/', 'https://evil.test/', '/\\evil.test', 'relative', '/a b', 42]) {
    const cleanup = new Cleanup();
    const manager = makeManager(cleanup);
    const reported: unknown[] = [];
    const endpoints = new SessionEndpoints(manager, { onError: (error) => reported.push(error) });
    const { response, body } = await endpoints.issue({ method: 'POST', headers: {}, rawHeaders: [], remoteAddress: '127.0.0.1', encrypted: false }, 'alice', { csrf: false, redirect: redirect as string });
    assert.is(response.status, 500, String(redirect));
    assert.is(response.headers.location, undefined);
    assert.is(response.setCookie, undefined);
    assert.is(body, undefined);
    assert.instance(reported[0], SessionHttpError);
    assert.is((reported[0] as SessionHttpError).code, 'ERR_CONFIG_INVALID');
    assert.is((await manager.readAll('alice')).length, 0, 'checked before any session is made');
    await cleanup.run();
  }
});

S('clientIp believes X-Forwarded-For only as far as trustProxy says', () => {
  const xff = { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.0.0.9' };
  assert.is(clientIp(req(xff), false), '10.0.0.2');
  assert.is(clientIp(req(xff), true), '6.6.6.6');
  assert.is(clientIp(req(xff), 1), '10.0.0.9');
  assert.is(clientIp(req(xff), 2), '198.51.100.7');
  assert.is(clientIp(req(xff), 9), '6.6.6.6', 'more hops than entries: the left-most');
  assert.is(clientIp(req({ 'x-forwarded-for': ['1.1.1.1', '2.2.2.2'] }), 1), '2.2.2.2', 'repeated headers are one list');
  assert.is(clientIp(req({ 'x-forwarded-for': '<script>' }), true), '10.0.0.2', 'not an address: the peer');
  assert.is(clientIp(req({ 'x-forwarded-for': ' , ' }), true), '10.0.0.2');
  assert.is(clientIp(req({}, '::ffff:127.0.0.1'), false), '127.0.0.1', 'IPv4-mapped IPv6');
  assert.is(clientIp(req({}, '::1'), false), '::1');
  assert.is(clientIp(req({ 'x-forwarded-for': '::ffff:192.0.2.1' }), true), '192.0.2.1');
  assert.is(clientIp({ ...req({}), remoteAddress: undefined }, false), undefined, 'a closed socket has no address');
});

S('isHttps and ownOrigin: the socket, or a trusted proxy', () => {
  assert.is(isHttps(req({}, undefined, true), false), true);
  assert.is(isHttps(req({ 'x-forwarded-proto': 'https' }), false), false);
  assert.is(isHttps(req({ 'x-forwarded-proto': 'HTTPS, http' }), true), true);
  assert.is(ownOrigin(req({ host: 'App.Example:8443' }, undefined, true), false), 'https://app.example:8443');
  assert.is(ownOrigin(req({ host: 'internal:3000', 'x-forwarded-host': 'app.example', 'x-forwarded-proto': 'https' }), 1), 'https://app.example');
  assert.is(ownOrigin(req({ host: 'internal:3000', 'x-forwarded-host': 'evil.example' }), false), 'http://internal:3000');
  assert.is(ownOrigin(req({}), false), undefined);
});

S('readRefreshCookies: every distinct non-empty value of that name, quotes removed, nothing else matched', () => {
  assert.equal(readRefreshCookies('a=1; jwt=x.y; jwt=z', 'jwt'), ['x.y', 'z']);
  assert.equal(readRefreshCookies('xjwt=1; jwt="q"', 'jwt'), ['q']);
  assert.equal(readRefreshCookies(['a=1', 'jwt=v'], 'jwt'), ['v']);
  assert.equal(readRefreshCookies('jwt=v; jwt=v; jwt=; jwt=""', 'jwt'), ['v'], 'a repeated value is one; an empty one carries no session');
  assert.equal(readRefreshCookies('jwt', 'jwt'), []);
  assert.equal(readRefreshCookies(undefined, 'jwt'), []);
  assert.equal(readRefreshCookies('a=1; JWT=2', 'jwt'), [], 'names are case-sensitive');
  // Only this host can set a __Host- cookie, and it holds one of a name: the first is its own.
  assert.equal(readRefreshCookies('__Host-jwt=mine; __Host-jwt=other', '__Host-jwt'), ['mine']);
  assert.equal(readRefreshCookies('__Secure-jwt=a; __Secure-jwt=b', '__Secure-jwt'), ['a', 'b'], 'a sibling over https can set a __Secure- cookie');
  const many = (n: number) => Array.from({ length: n }, (_, i) => `jwt=v${i}`).join('; ');
  assert.is(readRefreshCookies(many(MAX_REFRESH_COOKIES), 'jwt')?.length, MAX_REFRESH_COOKIES);
  assert.is(readRefreshCookies(many(MAX_REFRESH_COOKIES + 1), 'jwt'), undefined, 'more than a browser can send: not read');
});

S('codeOf: a SessionError keeps its code, anything else is ERR_INTERNAL (its text may quote input)', () => {
  assert.is(codeOf(Object.assign(new Error('x'), { code: 'ERR_STORAGE_UNAVAILABLE' })), 'ERR_INTERNAL', 'a lookalike without the brand');
  assert.is(codeOf(null), 'ERR_INTERNAL');
  assert.is(codeOf('ERR_CSRF'), 'ERR_INTERNAL');
});

S('options: each bad value is ERR_CONFIG_INVALID naming the option', () => {
  const bad: Array<[unknown, string]> = [
    [null, 'options'],
    ['x', 'options'],
    [{ basePath: '/a?b' }, 'options.basePath'],
    [{ basePath: '/a//b' }, 'options.basePath'],
    [{ basePath: '/a b' }, 'options.basePath'],
    [{ basePath: 7 }, 'options.basePath'],
    [{ cookie: 'x' }, 'options.cookie'],
    [{ cookie: null }, 'options.cookie'],
    [{ cookie: { name: '' } }, 'options.cookie.name'],
    [{ cookie: { name: '__Host-x' } }, 'options.cookie.name'],
    [{ cookie: { path: 'auth' } }, 'options.cookie.path'],
    [{ cookie: { path: '/a;b' } }, 'options.cookie.path'],
    [{ cookie: { domain: 'a b' } }, 'options.cookie.domain'],
    [{ cookie: { domain: 5 } }, 'options.cookie.domain'],
    [{ cookie: { sameSite: 'None', secure: false } }, 'options.cookie.sameSite'],
    [{ cookie: { secure: 'yes' } }, 'options.cookie.secure'],
    [{ cookie: { prefix: '__Secure-', secure: false } }, 'options.cookie.prefix'],
    [{ cookie: { prefix: '__Host-', path: '/', domain: 'a.example' } }, 'options.cookie.prefix'],
    [{ cookie: { prefix: 'auto-ish' } }, 'options.cookie.prefix'],
    [{ cookie: { httpOnly: 'true' } }, 'options.cookie.httpOnly'],
    [{ cookie: { persistent: 1 } }, 'options.cookie.persistent'],
    [{ allowedOrigins: [42] }, 'options.allowedOrigins'],
    [{ allowedOrigins: ['app.example.com'] }, 'options.allowedOrigins'],
    [{ allowedOrigins: new Set(['https://a.example']) }, 'options.allowedOrigins'],
    [{ csrfHeader: '' }, 'options.csrfHeader'],
    [{ requireOrigin: 'no' }, 'options.requireOrigin'],
    [{ trustProxy: 0 }, 'options.trustProxy'],
    [{ trustProxy: 1.5 }, 'options.trustProxy'],
    [{ onError: 'console' }, 'options.onError'],
    [{ trustproxy: true }, 'options.trustproxy'],
    [{ cookie: { samesite: 'Lax' } }, 'options.cookie.samesite'],
  ];
  for (const [options, name] of bad) {
    try {
      normalizeOptions(options);
      assert.unreachable(`accepted ${JSON.stringify(options)}`);
    } catch (error) {
      assert.is((error as { code?: string }).code, 'ERR_CONFIG_INVALID', `${name}: ${(error as Error).message}`);
      assert.is((error as Error).name, 'SessionHttpError');
      assert.ok((error as Error).message.startsWith(`${name} `), `"${(error as Error).message}" names ${name}`);
    }
  }
});

S('options: defaults, and values as given', () => {
  const o = normalizeOptions(undefined);
  assert.equal([o.basePath, o.csrfHeader, o.requireOrigin, o.trustProxy, o.onError], ['/auth', 'x-jwt-session', false, false, undefined]);
  assert.equal(o.cookie, { name: 'jwt-session-refresh', prefix: 'auto', path: '/auth', domain: undefined, sameSite: 'Strict', secure: 'auto', httpOnly: true, persistent: true });
  assert.is(o.allowedOrigins('https://a.example'), false);
  const root = normalizeOptions({ basePath: '/', csrfHeader: 'X-CSRF', allowedOrigins: ['https://A.example'] });
  assert.equal([root.basePath, root.cookie.path, root.csrfHeader], ['', '/', 'x-csrf']);
  assert.is(root.allowedOrigins('https://a.EXAMPLE'), true);
  assert.is(normalizeOptions({ allowedOrigins: (o: string) => (o === 'x' ? 'yes' : true) }).allowedOrigins('x'), false, 'only a true answer allows');
});

S.run();
