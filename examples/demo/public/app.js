// The demo page. Plain browser JavaScript, no build step.
//
// Where the tokens live:
//   - the access token: only in `state.accessToken` below (never in
//     localStorage, never in a cookie), so a reload loses it;
//   - the refresh token: in an HttpOnly cookie this script cannot read. After a
//     reload, POST /api/auth/refresh turns that cookie into a new access token.
'use strict';

(() => {
  /** Sent with every write: the server refuses a write without it (CSRF). */
  const CSRF_HEADERS = { 'x-demo-csrf': '1' };

  /** Friendly text for the codes the server and the socket guard send. */
  const MESSAGES = {
    ERR_BAD_CREDENTIALS: 'Wrong user name or password.',
    ERR_REFRESH_TOKEN_EXPIRED: 'Your session has expired. Please sign in again.',
    ERR_REFRESH_TOKEN_INVALID: 'Your session is no longer valid: it was signed out, or the session cookie was altered. Please sign in again.',
    ERR_REFRESH_TOKEN_REUSED: 'This session was ended for your safety: an old copy of its session cookie was used. Please sign in again.',
    ERR_AUTH_TOKEN_INVALID: 'The server rejected the access token: it is malformed or was tampered with.',
    ERR_AUTH_TOKEN_EXPIRED: 'The access token has expired.',
    ERR_SESSION_REVOKED: 'This session was signed out.',
    ERR_STORAGE_UNAVAILABLE: 'The session store is unavailable right now. Please try again in a moment.',
    ERR_NETWORK: 'The server cannot be reached. Is the demo still running?',
  };

  const REVOKED_MESSAGES = {
    deleted: 'You were signed out: this session was revoked from another device.',
    reused: 'You were signed out: this session’s refresh token was used twice (a copied cookie?), so the session was ended.',
    evicted: 'You were signed out: too many sessions were open and this one was the oldest.',
    unverified: 'You were signed out: this session could not be verified any more.',
  };

  const state = {
    accessToken: null,
    expiresAtMs: 0,
    lifetimeMs: 0,
    sessionId: null,
    user: null,
    socket: null,
    refreshTimer: null,
    tickTimer: null,
    refreshing: null,
    refreshCount: 0,
    /** Set while this tab ends its own session, so the socket's revocation notice is not shown as a surprise. */
    endingOwnSession: false,
  };

  const $ = (id) => document.getElementById(id);

  // For the browser test and the curious: read-only state, never a token.
  window.demo = Object.freeze({
    get signedIn() { return state.accessToken !== null; },
    get socketConnected() { return state.socket !== null && state.socket.connected; },
    get sessionId() { return state.sessionId; },
  });

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // ---------------------------------------------------------------- notices

  function notify(text, kind = 'info') {
    $('notice-text').textContent = text;
    $('notice').dataset.kind = kind;
    $('notice').hidden = false;
  }

  function clearNotice() {
    $('notice').hidden = true;
  }

  // ---------------------------------------------------------------- HTTP

  async function request(method, path, { body, bearer } = {}) {
    const headers = { ...CSRF_HEADERS };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
    } catch {
      throw new ApiError(0, 'ERR_NETWORK', MESSAGES.ERR_NETWORK);
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const code = typeof data.error === 'string' ? data.error : `HTTP_${response.status}`;
      throw new ApiError(response.status, code, MESSAGES[code] ?? data.message ?? `The server answered ${response.status}.`);
    }
    return data;
  }

  /** A call with the access token; renews it once if it expired meanwhile. */
  async function api(method, path, body) {
    try {
      return await request(method, path, { body, bearer: state.accessToken });
    } catch (error) {
      if (error.code !== 'ERR_AUTH_TOKEN_EXPIRED') throw error;
      await refresh();
      return request(method, path, { body, bearer: state.accessToken });
    }
  }

  /** Handles an API failure: the session is gone → signed-out screen; anything else → a notice. */
  function fail(error) {
    // Late answers after this tab has signed out (or while it does) change nothing.
    if (state.accessToken === null || state.endingOwnSession) return;
    if (['ERR_SESSION_REVOKED', 'ERR_REFRESH_TOKEN_INVALID', 'ERR_REFRESH_TOKEN_EXPIRED', 'ERR_REFRESH_TOKEN_REUSED', 'ERR_NOT_SIGNED_IN'].includes(error.code)) {
      endSession(error.message, 'error');
    } else {
      notify(error.message || 'Something went wrong.', 'error');
    }
  }

  // ---------------------------------------------------------------- tokens

  function acceptTokens(data) {
    state.accessToken = data.accessToken;
    state.lifetimeMs = Math.max(1, data.expiresIn) * 1000;
    state.expiresAtMs = Date.now() + state.lifetimeMs;
    state.sessionId = data.sessionId;
    state.user = data.user;
    scheduleRefresh();
  }

  // Renew when a fifth of the lifetime is left (at least 5 s before expiry).
  function scheduleRefresh() {
    clearTimeout(state.refreshTimer);
    const margin = Math.max(5000, state.lifetimeMs * 0.2);
    const delay = Math.max(1000, state.expiresAtMs - Date.now() - margin);
    state.refreshTimer = setTimeout(() => refresh().catch(fail), delay);
  }

  /** POST /api/auth/refresh: the cookie goes along by itself; one request at a time per tab. */
  function refresh() {
    state.refreshing ??= (async () => {
      try {
        const data = await request('POST', '/api/auth/refresh');
        acceptTokens(data);
        state.refreshCount += 1;
        $('refresh-count').textContent = String(state.refreshCount);
        await renewSocket();
      } finally {
        state.refreshing = null;
      }
    })();
    return state.refreshing;
  }

  function renewSocket() {
    const socket = state.socket;
    if (socket === null || !socket.connected) return Promise.resolve();
    return new Promise((resolve) => {
      socket.timeout(5000).emit('session:renew', { token: state.accessToken }, (err, answer) => {
        if (err || !answer || !answer.ok) socket.disconnect().connect(); // reconnect with the new token
        resolve();
      });
    });
  }

  // When a laptop wakes up, timers may have been frozen: check at once.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.accessToken !== null && Date.now() > state.expiresAtMs - 5000) refresh().catch(fail);
  });

  // ---------------------------------------------------------------- views

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

  function enterApp(data) {
    acceptTokens(data);
    state.refreshCount = 0;
    $('refresh-count').textContent = '0';
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

  /** Back to the sign-in screen, with a message. The server side is already done. */
  function endSession(message, kind = 'info') {
    clearTimeout(state.refreshTimer);
    clearInterval(state.tickTimer);
    state.accessToken = null;
    state.sessionId = null;
    state.user = null;
    state.endingOwnSession = false;
    if (state.socket !== null) {
      state.socket.removeAllListeners();
      state.socket.io.removeAllListeners?.();
      state.socket.disconnect();
      state.socket = null;
    }
    setSocketStatus(false, 'disconnected');
    $('password').value = '';
    show('signed-out');
    if (message) notify(message, kind);
  }

  function tick() {
    const left = Math.round((state.expiresAtMs - Date.now()) / 1000);
    $('token-expiry').textContent = left > 0 ? `expires in ${left} s, renewed automatically` : 'expired, renewing…';
  }

  function relative(unixSeconds) {
    const seconds = Math.round(Date.now() / 1000 - unixSeconds);
    if (seconds < 10) return 'just now';
    if (seconds < 60) return `${seconds} s ago`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
    return new Date(unixSeconds * 1000).toLocaleDateString();
  }

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === 'dataset') Object.assign(node.dataset, value);
      else node[key] = value;
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  // ---------------------------------------------------------------- sessions

  let sessionsRequest = 0;
  async function loadSessions() {
    const id = ++sessionsRequest;
    let data;
    try {
      data = await api('GET', '/api/sessions');
    } catch (error) {
      return fail(error);
    }
    if (id !== sessionsRequest || state.accessToken === null) return; // a newer answer is on its way
    $('sessions').replaceChildren(
      ...data.sessions.map((s) =>
        el(
          'li',
          { className: 'session', dataset: { sessionId: s.sessionId, current: String(s.current) } },
          el(
            'div',
            {},
            el('div', { className: 'device' }, s.device, s.current ? el('span', { className: 'this', textContent: 'This device' }) : null),
            el('div', { className: 'details', title: `Created ${new Date(s.createdAt * 1000).toLocaleString()}\nLast refreshed ${new Date(s.lastRefreshedAt * 1000).toLocaleString()}` },
              `${s.ip} · signed in ${relative(s.createdAt)} · refreshed ${relative(s.lastRefreshedAt)}`),
          ),
          el('button', { type: 'button', className: 'button ghost small revoke', textContent: s.current ? 'Sign out' : 'Revoke', onclick: () => revoke(s) }),
        ),
      ),
    );
  }

  async function revoke(session) {
    if (session.current) return signOut();
    try {
      await api('DELETE', `/api/sessions/${encodeURIComponent(session.sessionId)}`);
      notify(`Revoked the session on ${session.device}. Its tab was signed out and its socket closed.`, 'ok');
      await loadSessions();
    } catch (error) {
      fail(error);
    }
  }

  async function signOut() {
    state.endingOwnSession = true;
    try {
      await request('DELETE', '/api/auth/refresh', { bearer: state.accessToken });
    } catch (error) {
      state.endingOwnSession = false;
      return notify(error.message, 'error');
    }
    endSession('You signed out.', 'ok');
  }

  async function signOutEverywhere() {
    state.endingOwnSession = true;
    try {
      const data = await api('POST', '/api/sessions/sign-out-everywhere');
      endSession(`You signed out everywhere (${data.revoked} session${data.revoked === 1 ? '' : 's'} ended).`, 'ok');
    } catch (error) {
      state.endingOwnSession = false;
      fail(error);
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
    list.append(
      el('li', { className: `message${m.userId === state.user?.id ? ' mine' : ''}` }, el('span', { className: 'meta', textContent: `${m.name} · ${time}` }), el('span', { className: 'text', textContent: m.text })),
    );
    list.scrollTop = list.scrollHeight;
  }

  function connectSocket() {
    // The guard reads the access token from the handshake's `auth.token`; the
    // function form makes every reconnection use the current token.
    const socket = io({ auth: (cb) => cb({ token: state.accessToken }) });
    state.socket = socket;

    socket.on('connect', () => {
      setSocketStatus(true, `connected over ${socket.io.engine.transport.name}`);
      socket.io.engine.once('upgrade', () => setSocketStatus(true, `connected over ${socket.io.engine.transport.name}`));
      requestPresence();
    });

    // The guard's live revocation: sent just before the server closes the socket.
    socket.on('session:revoked', (payload) => {
      if (state.endingOwnSession) return;
      const reason = payload?.reason;
      endSession(REVOKED_MESSAGES[reason] ?? REVOKED_MESSAGES.deleted, 'error');
    });

    // The access token ran out before this tab renewed it (a sleeping laptop): renew, reconnect.
    socket.on('session:expired', () => {
      refresh().then(() => state.socket?.connect(), fail);
    });

    socket.on('connect_error', (err) => {
      const code = err?.data?.code ?? err?.message;
      if (code === 'ERR_AUTH_TOKEN_EXPIRED') return void refresh().then(() => state.socket?.connect(), fail);
      if (code === 'ERR_SESSION_REVOKED') return endSession(MESSAGES.ERR_SESSION_REVOKED, 'error');
      setSocketStatus(false, socket.active ? 'reconnecting…' : `refused: ${MESSAGES[code] ?? code}`);
    });

    socket.on('disconnect', (reason) => {
      setSocketStatus(false, reason === 'io server disconnect' ? 'closed by the server' : 'reconnecting…');
      // Closed by the server without a revocation notice (e.g. expiry): try to resume.
      if (reason === 'io server disconnect' && state.accessToken !== null) {
        setTimeout(() => {
          if (state.socket === socket && state.accessToken !== null) refresh().then(() => socket.connect(), fail);
        }, 250);
      }
    });

    socket.on('presence:changed', debounce(requestPresence, 80));
    socket.on('sessions:changed', debounce(loadSessions, 150));
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
      const data = await request('POST', '/api/auth/sign-in', { body: { username, password } });
      clearNotice();
      enterApp(data);
    } catch (error) {
      notify(error.message, 'error');
    } finally {
      $('signin-submit').disabled = false;
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
  $('refresh-now').addEventListener('click', () =>
    refresh().then(() => {
      notify('Refreshed: new access token in memory, new refresh token in the cookie.', 'ok');
      loadSessions();
    }, fail),
  );
  // Shows how a forged token is handled: flip one character of the signature.
  $('tamper').addEventListener('click', async () => {
    const token = state.accessToken;
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const tampered = `${token.slice(0, -2)}${last}${token.slice(-1)}`;
    try {
      await request('GET', '/api/sessions', { bearer: tampered });
      notify('Unexpected: the tampered token was accepted.', 'error');
    } catch (error) {
      notify(`Tampered token → ${error.code}: ${error.message} (your real session is unaffected)`, 'error');
    }
  });

  async function boot() {
    show('loading');
    try {
      const about = await request('GET', '/api/about');
      renderDemoUsers(about.users);
      $('storage-badge').textContent = about.storage === 'redis' ? `redis · node ${about.node}` : 'memory storage';
    } catch (error) {
      notify(error.message, 'error');
    }
    // A reload lost the access token; the refresh cookie (if any) brings the session back.
    try {
      enterApp(await request('POST', '/api/auth/refresh'));
    } catch (error) {
      show('signed-out');
      if (error.code !== 'ERR_NOT_SIGNED_IN') notify(error.message, 'error');
    }
  }

  boot();
})();
