import type { SessionInfo } from '@jwt-session/session-core';
import { describeArgument, parse, positionals, secondsOption } from '../args.js';
import { emit, type Context } from '../context.js';
import { CliError, usage } from '../errors.js';
import { localTime, oneLine, table } from '../output.js';
import { STORAGE_OPTIONS, failed, withSessions } from '../storage.js';

const DEFAULT_ACCESS_TOKEN_TTL = 900;

const OPTIONS = {
  ...STORAGE_OPTIONS,
  all: { type: 'boolean' },
  'access-token-ttl': { type: 'string' },
} as const;

function context(info: SessionInfo): string {
  const entries = Object.entries(info.context);
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}

async function list(args: string[], ctx: Context): Promise<number> {
  const { values, positionals: rest } = parse(args, OPTIONS);
  const [subject] = positionals(rest, ['subject'], 'sessions list');
  const sessions = await withSessions(values, ctx.env, DEFAULT_ACCESS_TOKEN_TTL, 'sessions list', async ({ manager, storage }) => {
    try {
      return await manager.readAll(subject!);
    } catch (error) {
      throw failed('sessions list', error, storage);
    }
  });
  emit(ctx, values.json, { subject, sessions }, () => {
    if (sessions.length === 0) return `no live sessions for ${oneLine(subject!)}`;
    const rows = sessions.map((s) => [s.sessionId, localTime(s.createdAt * 1000), localTime(s.lastRefreshedAt * 1000), localTime(s.expiresAt * 1000), context(s)]);
    return `${table([['SESSION', 'CREATED', 'LAST REFRESHED', 'EXPIRES', 'CONTEXT'], ...rows])}\n${sessions.length} live session${sessions.length === 1 ? '' : 's'} for ${oneLine(subject!)}`;
  });
  return 0;
}

async function revoke(args: string[], ctx: Context): Promise<number> {
  const { values, positionals: rest } = parse(args, OPTIONS);
  const accessTokenTtl = secondsOption(values['access-token-ttl'], 'access-token-ttl', DEFAULT_ACCESS_TOKEN_TTL);
  if (values.all === true) {
    const [subject] = positionals(rest, ['subject'], 'sessions revoke --all');
    const { where, ...result } = await withSessions(values, ctx.env, accessTokenTtl, 'sessions revoke', async ({ manager, storage, published, where }) => {
      try {
        const deleted = await manager.deleteAll(subject!);
        return { subject, deleted, ...published, where };
      } catch (error) {
        throw failed('sessions revoke --all', error, storage);
      }
    });
    emit(ctx, values.json, { ...result, scope: 'subject', broadcast: true }, () =>
      [
        `revoked every session of ${oneLine(subject!)}: ${result.deleted} live session${result.deleted === 1 ? '' : 's'} deleted`,
        `every access token of ${oneLine(subject!)} issued until now is rejected by every node (published on ${where})`,
      ].join('\n'),
    );
    return 0;
  }
  const [subject, sessionId] = positionals(rest, ['subject', 'sessionId'], 'sessions revoke');
  const { where, ...result } = await withSessions(values, ctx.env, accessTokenTtl, 'sessions revoke', async ({ manager, storage, published, where }) => {
    try {
      const found = await manager.deleteOne(subject!, sessionId!);
      return { subject, sessionId, found, ...published, where };
    } catch (error) {
      throw failed('sessions revoke', error, storage);
    }
  });
  // The manager invalidates a session id of this subject whatever the store answers (fail safe); `found` only says whether it was live.
  if (!result.found) throw new CliError('ERR_SESSION_NOT_FOUND', `no live session ${oneLine(sessionId!)} for ${oneLine(subject!)} in the store`);
  emit(ctx, values.json, { ...result, scope: 'session' }, () =>
    `revoked session ${oneLine(sessionId!)} of ${oneLine(subject!)}: its refresh token is deleted and its access tokens are rejected by every node (published on ${where})`,
  );
  return 0;
}

export async function sessionsCommand(args: string[], ctx: Context): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub.startsWith('-')) throw usage('sessions: missing subcommand (list or revoke)');
  if (sub === 'list') return list(rest, ctx);
  if (sub === 'revoke') return revoke(rest, ctx);
  throw usage(`sessions: unknown subcommand ${describeArgument(sub, 1)} (list or revoke)`);
}
