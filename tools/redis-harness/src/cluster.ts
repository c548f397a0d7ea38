import { spawn } from 'node:child_process';
import { command } from './resp.js';
import { startRedis, type RedisServer } from './server.js';

export interface StartClusterOptions {
  /** Number of masters (no replicas). At least 3, as `redis-cli --cluster create` requires. @default 3 */
  masters?: number;
  /** How long to wait for `cluster_state:ok` on every node. @default 20000 */
  timeout?: number;
}

export interface RedisCluster {
  readonly nodes: RedisServer[];
  /** For `new Cluster(startupNodes)`. */
  readonly startupNodes: { host: string; port: number }[];
  /** Stops every node and removes their temp dirs. Idempotent. */
  stop(): Promise<void>;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}:\n${out}`))));
  });
}

async function clusterOk(node: RedisServer, expectedNodes: number): Promise<boolean> {
  try {
    const info = String(await command(node.port, ['CLUSTER', 'INFO'], 1000));
    return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${expectedNodes}`) && info.includes('cluster_slots_assigned:16384');
  } catch {
    return false;
  }
}

/**
 * A real Redis Cluster of `masters` nodes, slots spread by `redis-cli --cluster
 * create`. Resolves when every node reports `cluster_state:ok` and knows every
 * other node, so the first command of a test never meets a half-formed cluster.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) throw new Error('a Redis Cluster needs at least 3 masters');
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(await startRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'] }));
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + (options.timeout ?? 20_000);
    for (;;) {
      const states = await Promise.all(nodes.map((node) => clusterOk(node, masters)));
      if (states.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error('cluster did not reach cluster_state:ok in time');
      await delay(50);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, startupNodes: nodes.map((n) => ({ host: n.host, port: n.port })), stop };
}
