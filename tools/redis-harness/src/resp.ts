import { connect } from 'node:net';

/** A reply as RESP2 gives it: status and bulk strings as strings, integers as numbers, arrays nested, nil as null. */
export type Reply = string | number | null | Reply[];

export class ReplyError extends Error {
  override readonly name = 'ReplyError';
}

function encode(args: readonly (string | number)[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) {
    const s = String(arg);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

/** Parses one reply from `buf` at `at`; undefined when more bytes are needed. */
function parse(buf: Buffer, at: number): { value: Reply | ReplyError; end: number } | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const head = buf.toString('utf8', at + 1, eol);
  switch (String.fromCharCode(buf[at]!)) {
    case '+':
      return { value: head, end: eol + 2 };
    case '-':
      return { value: new ReplyError(head), end: eol + 2 };
    case ':':
      return { value: Number(head), end: eol + 2 };
    case '$': {
      const len = Number(head);
      if (len < 0) return { value: null, end: eol + 2 };
      if (buf.length < eol + 2 + len + 2) return undefined;
      return { value: buf.toString('utf8', eol + 2, eol + 2 + len), end: eol + 2 + len + 2 };
    }
    case '*': {
      const len = Number(head);
      if (len < 0) return { value: null, end: eol + 2 };
      const items: Reply[] = [];
      let end = eol + 2;
      for (let i = 0; i < len; i++) {
        const item = parse(buf, end);
        if (item === undefined) return undefined;
        if (item.value instanceof ReplyError) return item;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new ReplyError(`unexpected RESP type byte ${buf[at]}`);
  }
}

/**
 * Sends one command on a fresh connection and returns its reply. The harness
 * needs only a handful of admin commands (PING, CLUSTER INFO, SHUTDOWN), so it
 * carries no client library of its own and works before any client is set up.
 */
export function command(port: number, args: readonly (string | number)[], timeoutMs = 2000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on port ${port} did not answer ${String(args[0])} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    socket.on('connect', () => socket.write(encode(args)));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      let reply;
      try {
        reply = parse(buf, 0);
      } catch (error) {
        done(() => reject(error));
        return;
      }
      if (reply === undefined) return;
      const { value } = reply;
      done(() => (value instanceof ReplyError ? reject(value) : resolve(value)));
    });
    socket.on('error', (error) => done(() => reject(error)));
    socket.on('close', () => done(() => reject(new Error(`connection to port ${port} closed before a reply`))));
  });
}
