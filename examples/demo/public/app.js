// The demo page: plain browser JavaScript, no build step. Everything about the
// session — where the access token lives (only inside `client`), renewing it
// ahead of expiry, one renewal at a time across tabs, retrying a request after
// a 401, handing new tokens to the socket, noticing a revocation — is
// @jwt-session/client, served by the demo as /client.js. The refresh token is
// an HttpOnly cookie this script cannot read.
//
// DPoP (RFC 9449) is on by default: at sign-in the client makes a P-256 key
// that cannot be exported, keeps it in IndexedDB for this origin's tabs, and
// signs a proof for every request with it. A server that binds sessions puts
// the key's thumbprint in the token (`cnf.jkt`): a copy of the token, or of
// the cookie, is then refused anywhere without the key.
import { SessionClient } from '/client.js';

// Step-up (RFC 9470): a route that wants a recent authentication answers 401 insufficient_user_authentication;
// the client awaits this prompt, then sends the refused request again, once.
const client = new SessionClient({ baseUrl: '/auth', signInUrl: '/api/sign-in', onStepUp: (challenge) => askPassword(challenge) });

/** The key thumbprint the current access token is bound to, or null for a bearer token. */
const boundJkt = () => (typeof client.claims?.cnf?.jkt === 'string' ? client.claims.cnf.jkt : null);
/** Enough of a thumbprint to tell keys apart on screen, never the whole of it. */
const shortJkt = (jkt) => `${jkt.slice(0, 6)}…`;

/** What the page says when the session ends, by `signedOut` reason. */
const SIGNED_OUT = {
  revoked: ['You were signed out: this session was revoked from another device (or you signed out at your identity provider).', 'error'],
  'signed-out-elsewhere': ['You were signed out: “Sign out everywhere” was used on another device.', 'error'],
  reused: ['You were signed out: this session’s refresh token was used twice (a copied cookie?), so the session was ended.', 'error'],
  expired: ['Your session has expired. Please sign in again.', 'info'],
  'signed-out': ['You signed out.', 'ok'],
};

/** Friendly text for the codes the server sends. */
const MESSAGES = {
  ERR_BAD_CREDENTIALS: 'Wrong user name or password.',
  ERR_REFRESH_TOKEN_EXPIRED: 'Your session has expired. Please sign in again.',
  ERR_REFRESH_TOKEN_INVALID: 'Your session is no longer valid: it was signed out, or the session cookie was altered. Please sign in again.',
  // A bound session's cookie with no key for it here: this tab's session ended (its key went with it), or the cookie was copied from another browser.
  ERR_DPOP_BINDING_MISMATCH: 'Your session is no longer valid in this browser: it was signed out, or its cookie belongs to another browser. Please sign in again.',
  ERR_REFRESH_TOKEN_REUSED: 'This session was ended for your safety: an old copy of its session cookie was used. Please sign in again.',
  ERR_STORAGE_UNAVAILABLE: 'The session store is unavailable right now. Please try again in a moment.',
  ERR_NETWORK: 'The server cannot be reached. Is the demo still running?',
  ERR_PROVIDER_UNAVAILABLE: 'The identity provider cannot be reached. Try again in a moment.',
};

const $ = (id) => document.getElementById(id);
const state = { socket: null, renewals: 0, tickTimer: null, expiresAtMs: 0, user: null, sessionId: null, farewell: null };

// For the browser test and the curious: read-only state, never a token.
window.demo = Object.freeze({
  get signedIn() { return client.session !== null; },
  get socketConnected() { return state.socket !== null && state.socket.connected; },
  get sessionId() { return client.session?.sessionId ?? null; },
  get renewals() { return state.renewals; },
  /** Whether the session is bound to this browser's key (DPoP). */
  get bound() { return boundJkt() !== null; },
  /** An authenticated API call through the client; resolves its status. */
  async check() {
    try {
      return (await client.fetch('/api/me')).status;
    } catch {
      return 0;
    }
  },
  /** A socket round trip; resolves whether the server answered. */
  ping() {
    const socket = state.socket;
    if (socket === null || !socket.connected) return Promise.resolve(false);
    return new Promise((resolve) => socket.timeout(3000).emit('presence:get', (err, answer) => resolve(!err && answer?.ok === true)));
  },
});

function notify(text, kind = 'info') {
  $('notice-text').textContent = text;
  $('notice').dataset.kind = kind;
  $('notice').hidden = false;
}

function clearNotice() {
  $('notice').hidden = true;
}

const messageOf = (error) => MESSAGES[error?.code] ?? error?.message ?? 'Something went wrong.';

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset') Object.assign(node.dataset, value);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function show(view) {
  document.body.dataset.state = view;
  $('loading-view').hidden = view !== 'loading';
  $('signin-view').hidden = view !== 'signed-out';
  $('app-view').hidden = view !== 'signed-in';
  $('account').hidden = view !== 'signed-in';
}

function initials(name) {
  return name.split(/\s+/).map((part) => part[0] ?? '').join('').slice(0, 2).toUpperCase();
}

// ---------------------------------------------------------------- session events

client.on('refreshed', ({ expiresAt }) => {
  if (document.body.dataset.state !== 'signed-in') return;
  showBinding();
  state.renewals += 1;
  $('refresh-count').textContent = String(state.renewals);
  state.expiresAtMs = expiresAt * 1000;
  tick();
});

client.on('signedOut', ({ reason }) => {
  const [text, kind] = state.farewell ?? SIGNED_OUT[reason] ?? SIGNED_OUT.revoked;
  state.farewell = null;
  leaveApp();
  notify(text, kind);
});

// ---------------------------------------------------------------- views

function enterApp() {
  if (state.socket !== null) return; // already in (another tab's sign-in was followed first)
  const claims = client.claims ?? {};
  state.user = { id: claims.sub, name: typeof claims.name === 'string' ? claims.name : claims.sub };
  state.sessionId = client.session?.sessionId ?? null;
  state.renewals = 0;
  state.expiresAtMs = (client.session?.expiresAt ?? 0) * 1000;
  $('refresh-count').textContent = '0';
  $('stolen').hidden = true;
  showBinding();
  $('account-name').textContent = state.user.name;
  $('account-avatar').textContent = initials(state.user.name);
  $('messages').replaceChildren();
  show('signed-in');
  connectSocket();
  loadSessions();
  clearInterval(state.tickTimer);
  state.tickTimer = setInterval(tick, 1000);
  tick();
}

function leaveApp() {
  clearInterval(state.tickTimer);
  if (state.socket !== null) {
    state.detach?.();
    state.socket.removeAllListeners();
    state.socket.disconnect();
    state.socket = null;
  }
  setSocketStatus(false, 'disconnected');
  $('password').value = '';
  show('signed-out');
}

function showBinding() {
  const jkt = boundJkt();
  $('binding').textContent = jkt !== null
    ? `bound (DPoP): a P-256 key in this browser, not exportable, thumbprint ${shortJkt(jkt)}`
    : 'none: this server does not bind sessions, the token is a bearer token';
}

function tick() {
  // Display only: the client schedules renewals from expiresIn, not from this clock.
  const left = Math.round((state.expiresAtMs - Date.now()) / 1000);
  $('token-expiry').textContent = left > 0 ? `expires in ${left} s, renewed automatically` : 'renewing…';
}

function relative(unixSeconds) {
  const seconds = Math.round(Date.now() / 1000 - unixSeconds);
  if (seconds < 10) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(unixSeconds * 1000).toLocaleDateString();
}

// ---------------------------------------------------------------- sessions

let sessionsRequest = 0;
async function loadSessions() {
  const id = ++sessionsRequest;
  let sessions;
  try {
    sessions = await client.sessions();
  } catch (error) {
    if (client.session !== null) notify(messageOf(error), 'error');
    return;
  }
  if (id !== sessionsRequest || client.session === null) return; // a newer answer is on its way
  // This device first, then newest first.
  sessions.sort((a, b) => Number(b.current) - Number(a.current));
  $('sessions').replaceChildren(
    ...sessions.map((s) =>
      el(
        'li',
        { className: 'session', dataset: { sessionId: s.sessionId, current: String(s.current) } },
        el(
          'div',
          { className: 'session-info' },
          el('div', { className: 'device' }, s.device, s.current ? el('span', { className: 'this', textContent: 'This device' }) : null),
          el('div', { className: 'details', title: `Created ${new Date(s.createdAt * 1000).toLocaleString()}\nLast refreshed ${new Date(s.lastRefreshedAt * 1000).toLocaleString()}` },
            `${s.ip ?? 'unknown address'} · signed in ${relative(s.createdAt)} · refreshed ${relative(s.lastRefreshedAt)}`),
          keyLine(s),
          s.provider ? el('div', { className: 'provider', textContent: `signed in at ${s.provider}` }) : null,
        ),
        el('button', { type: 'button', className: 'button ghost small revoke', textContent: s.current ? 'Sign out' : 'Revoke', onclick: () => revoke(s) }),
      ),
    ),
  );
  $('revoke-others').disabled = sessions.length < 2;
}

/**
 * Whether a session of the list is bound to a key: this device's from its own
 * token's `cnf.jkt`; another's only when the server says so (`bound`), since
 * the list carries no claims.
 */
function keyLine(session) {
  const jkt = session.current ? boundJkt() : null;
  const bound = session.current ? jkt !== null : session.bound;
  if (typeof bound !== 'boolean') return null;
  const text = jkt !== null ? `bound to this browser's key (${shortJkt(jkt)})` : bound ? 'bound to its browser\'s key' : 'not bound: a bearer session';
  return el('div', { className: 'key', dataset: { bound: String(bound) }, textContent: text });
}

async function revoke(session) {
  if (session.current) return signOut();
  try {
    await client.revoke(session.sessionId);
    notify(`Revoked the session on ${session.device}. Its tabs were signed out and their sockets closed.`, 'ok');
    await loadSessions();
  } catch (error) {
    notify(messageOf(error), 'error');
  }
}

async function signOut() {
  try {
    await client.signOut(); // signedOut → "You signed out."
  } catch (error) {
    notify(messageOf(error), 'error');
  }
}

async function signOutEverywhere() {
  state.farewell = ['You signed out everywhere: every session of yours, on every device, has ended.', 'ok'];
  try {
    await client.signOutEverywhere();
  } catch (error) {
    state.farewell = null;
    notify(messageOf(error), 'error');
  }
}

async function revokeOthers() {
  try {
    const count = await client.revokeOthers();
    notify(count === 0 ? 'No other session to sign out.' : `Signed out your ${count} other session${count === 1 ? '' : 's'}; this one stays.`, 'ok');
    await loadSessions();
  } catch (error) {
    notify(messageOf(error), 'error');
  }
}

// ---------------------------------------------------------------- socket

function setSocketStatus(connected, detail) {
  $('socket-status').dataset.connected = String(connected);
  $('socket-status').textContent = connected ? 'connected' : 'offline';
  $('socket-detail').textContent = detail;
}

function debounce(fn, ms) {
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

let presenceRequest = 0;
function requestPresence() {
  const socket = state.socket;
  if (socket === null || !socket.connected) return;
  const id = ++presenceRequest;
  socket.timeout(5000).emit('presence:get', (err, answer) => {
    if (err || !answer?.ok || id !== presenceRequest) return;
    $('presence-list').replaceChildren(
      ...answer.users.map((u) =>
        el('li', { dataset: { userId: u.userId }, title: `${u.tabs} tab${u.tabs === 1 ? '' : 's'} connected` }, u.name, u.tabs > 1 ? el('small', { textContent: `×${u.tabs}` }) : null),
      ),
    );
  });
}

function renderMessage(m) {
  const list = $('messages');
  list.querySelector('.empty')?.remove();
  const time = new Date(m.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  // `mine` comes from the server: sent from this tab's session. The same user on another device is not "mine".
  const who = m.mine ? 'You' : m.userId === state.user?.id ? `${m.name} (another device)` : m.name;
  list.append(el('li', { className: `message${m.mine ? ' mine' : ''}` }, el('span', { className: 'meta', textContent: `${who} · ${time}` }), el('span', { className: 'text', textContent: m.text })));
  list.scrollTop = list.scrollHeight;
}

function connectSocket() {
  // `auth` is called on every (re)connection: it always hands over a current token.
  const socket = io({ auth: client.socketAuth });
  state.socket = socket;
  state.detach = client.attachSocket(socket);

  socket.on('connect', () => {
    setSocketStatus(true, `connected over ${socket.io.engine.transport.name}`);
    socket.io.engine.once('upgrade', () => setSocketStatus(true, `connected over ${socket.io.engine.transport.name}`));
    requestPresence();
  });
  socket.on('connect_error', () => setSocketStatus(false, 'reconnecting…'));
  socket.on('disconnect', (reason) => setSocketStatus(false, reason === 'io server disconnect' ? 'closed by the server' : 'reconnecting…'));
  socket.on('presence:changed', debounce(requestPresence, 80));
  socket.on('sessions:changed', debounce(loadSessions, 150));
  // The server's "new sign-in" notice (sessionCreatedOnNewDevice): a browser and network this account had not used.
  socket.on('security:new-device', ({ device, sessionId }) => {
    if (sessionId === state.sessionId) return;
    notify(`New sign-in to your account from ${device}, a device or network not seen before. Not you? Revoke it under "My sessions".`, 'info');
    $('notice').dataset.newDevice = 'true';
  });
  socket.on('chat:history', (messages) => {
    $('messages').replaceChildren();
    if (messages.length === 0) $('messages').append(el('li', { className: 'empty', textContent: 'No messages yet. Say hello!' }));
    messages.forEach(renderMessage);
  });
  socket.on('chat:message', renderMessage);
}

// ---------------------------------------------------------------- wiring

function renderDemoUsers(users) {
  $('demo-users').replaceChildren(
    ...users.map((u) =>
      el(
        'tr',
        {},
        el('td', {}, el('code', { textContent: u.id })),
        el('td', { textContent: u.name }),
        el('td', {}, el('code', { textContent: u.password })),
        el('td', {}, el('button', { type: 'button', className: 'button ghost small', textContent: 'Use', onclick: () => {
          $('username').value = u.id;
          $('password').value = u.password;
          $('signin-submit').focus();
        } })),
      ),
    ),
  );
}

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = $('username').value.trim();
  const password = $('password').value;
  if (username === '' || password === '') return notify('Enter a user name and a password.', 'error');
  $('signin-submit').disabled = true;
  try {
    await client.signIn({ username, password });
    clearNotice();
    enterApp();
  } catch (error) {
    notify(messageOf(error), 'error');
  } finally {
    $('signin-submit').disabled = false;
  }
});

// Sign-in at the OpenID provider: the server answers its authorization URL (PKCE, state, nonce),
// and records this browser's new key (the call carries a DPoP proof by it), so the session the
// callback opens is bound to the key from its first moment; restore() proves it after the return.
$('provider-signin-button').addEventListener('click', async () => {
  $('provider-signin-button').disabled = true;
  try {
    location.assign(await client.startSignIn('/auth/oidc/login'));
  } catch (error) {
    notify(messageOf(error), 'error');
    $('provider-signin-button').disabled = false;
  }
});

// Another tab of this browser signed in (perhaps as someone else): the client
// took that session over, as the cookie now belongs to it; follow it.
client.on('refreshed', ({ sessionId }) => {
  const view = document.body.dataset.state;
  if (view === 'signed-in' && sessionId === state.sessionId) return;
  if (view === 'signed-in') leaveApp();
  if (view !== 'loading') {
    clearNotice();
    enterApp();
  }
});

$('chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('chat-input');
  const text = input.value.trim();
  if (text === '' || state.socket === null) return;
  if (!state.socket.connected) return notify('The chat is offline; your message was not sent.', 'error');
  state.socket.timeout(5000).emit('chat:message', { text }, (err, answer) => {
    if (err) notify('The message could not be delivered.', 'error');
    else if (!answer?.ok) notify(answer?.message ?? 'The message was refused.', 'error');
  });
  input.value = '';
});

$('notice-close').addEventListener('click', clearNotice);
$('sign-out').addEventListener('click', signOut);
$('sign-out-everywhere').addEventListener('click', signOutEverywhere);
$('revoke-others').addEventListener('click', revokeOthers);
$('refresh-now').addEventListener('click', () =>
  client.refresh().then(
    () => notify('Renewed: new access token in memory, new refresh token in the cookie.', 'ok'),
    (error) => notify(messageOf(error), 'error'),
  ),
);
// Shows how a forged token is handled: flip one character of the signature.
$('tamper').addEventListener('click', async () => {
  const token = await client.token();
  const last = token.at(-2) === 'A' ? 'B' : 'A';
  const tampered = `${token.slice(0, -2)}${last}${token.slice(-1)}`;
  const res = await fetch('/api/me', { headers: { authorization: `Bearer ${tampered}` } });
  const body = await res.json().catch(() => ({}));
  notify(`Tampered token → ${res.status} ${body.error}: the server refused it (your real session is unaffected).`, 'error');
});

// What a copied token is worth: the curl line to try anywhere, and the same token sent from here without a proof.
$('copy-token').addEventListener('click', async () => {
  const token = await client.token().catch(() => null);
  if (token === null) return;
  const bound = boundJkt() !== null;
  const curl = `curl -i ${location.origin}/api/me -H 'Authorization: ${bound ? 'DPoP' : 'Bearer'} ${token}'`;
  $('curl-line').textContent = curl;
  const copied = await navigator.clipboard?.writeText(curl).then(() => true, () => false);
  // The same request as the curl line: the token, and no proof (curl has no key to sign one with).
  const res = await fetch('/api/me', { headers: { authorization: `${bound ? 'DPoP' : 'Bearer'} ${token}` } });
  const body = await res.json().catch(() => ({}));
  $('stolen-text').textContent = `${copied ? 'Copied. ' : ''}${
    bound
      ? `The token alone gets ${res.status} ${body.error ?? ''}: it is bound to this browser's key, which cannot be copied. Try the line below from a terminal.`
      : `The token alone gets ${res.status}: this session is not bound, so a copy works anywhere until it expires.`
  }`;
  $('stolen').hidden = false;
  $('stolen').dataset.status = String(res.status);
});

/**
 * The re-authentication prompt: resolves true once client.reauthenticate() took the password, false when the user
 * cancels. A wrong password keeps the dialog open with the server's answer.
 */
function askPassword(challenge) {
  const dialog = $('stepup-dialog');
  const minutes = challenge.maxAge === undefined ? null : Math.max(1, Math.round(challenge.maxAge / 60));
  $('stepup-text').textContent = `This action needs a recent sign-in${minutes === null ? '' : ` (in the last ${minutes} min)`}: re-enter your password to continue.`;
  $('stepup-error').textContent = '';
  $('stepup-password').value = '';
  return new Promise((resolve) => {
    const done = (ok) => {
      $('stepup-form').onsubmit = null;
      $('stepup-cancel').onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(ok);
    };
    $('stepup-cancel').onclick = () => done(false);
    dialog.onclose = () => done(false); // Escape
    $('stepup-form').onsubmit = async (event) => {
      event.preventDefault();
      $('stepup-confirm').disabled = true;
      try {
        await client.reauthenticate({ password: $('stepup-password').value });
        done(true);
      } catch (error) {
        $('stepup-error').textContent = error?.code === 'ERR_CREDENTIALS_INVALID' ? 'Wrong password.' : messageOf(error);
        $('stepup-password').select();
      } finally {
        $('stepup-confirm').disabled = false;
      }
    };
    dialog.showModal();
    $('stepup-password').focus();
  });
}

$('email-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = $('email-input').value.trim();
  $('email-result').textContent = '';
  try {
    const res = await client.fetch('/api/account/email', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
    const body = await res.json().catch(() => ({}));
    $('email-result').dataset.status = String(res.status);
    $('email-result').textContent =
      res.ok ? `E-mail changed to ${body.email}.` : body.error === 'ERR_AUTH_NOT_FRESH' ? 'Not changed: the password was not confirmed.' : body.message ?? `Not changed (${res.status}).`;
  } catch (error) {
    $('email-result').textContent = messageOf(error);
  }
});

async function boot() {
  show('loading');
  try {
    const about = await (await fetch('/api/about')).json();
    renderDemoUsers(about.users);
    if (about.freshMaxAge !== undefined) $('fresh-max-age').textContent = about.freshMaxAge >= 120 ? `${Math.round(about.freshMaxAge / 60)} minutes` : `${about.freshMaxAge} s`;
    $('storage-badge').textContent = about.storage === 'memory' ? 'memory' : `${about.storage} · ${about.node}`;
    if (about.oidc) {
      $('provider-issuer').textContent = about.oidc.issuer;
      $('provider-signin').hidden = false;
    }
  } catch {
    notify(MESSAGES.ERR_NETWORK, 'error');
  }
  // Back from the provider without a session (cancelled there, or the login expired).
  if (new URLSearchParams(location.search).get('signin') === 'failed') {
    history.replaceState(null, '', '/');
    notify('The sign-in at the provider did not complete. Please try again.', 'error');
  }
  // A reload lost the access token; the refresh cookie (if any) brings the session back.
  // A visitor without one gets a 204: nothing in the console.
  try {
    if (await client.restore()) return enterApp();
    show('signed-out');
  } catch (error) {
    show('signed-out');
    notify(messageOf(error), 'error');
  }
}

boot();
