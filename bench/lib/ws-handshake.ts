import WebSocket from 'ws';

/**
 * One complete Socket.IO handshake over a bare WebSocket, speaking the wire
 * protocol (Engine.IO 4 / Socket.IO 5): open → "0{…}" from the server,
 * "40{auth}" (CONNECT to "/" with the token) → "40{sid}" (accepted) or "44{…}"
 * (refused). A full socket.io-client costs more CPU per handshake than the
 * server does, which would make the client the bottleneck on 2 cores.
 */
export function wsHandshake(port: number, token: string, extra?: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    ws.on('message', (data) => {
      const text = String(data);
      // `extra`: more of the auth payload (a DPoP proof, case P2).
      if (text.startsWith('0')) ws.send(`40${JSON.stringify(extra === undefined ? { token } : { token, ...extra })}`);
      else if (text.startsWith('40')) {
        ws.close();
        resolve();
      } else if (text.startsWith('44')) {
        ws.close();
        reject(new Error(`handshake refused: ${text}`));
      }
    });
    ws.on('error', reject);
  });
}
