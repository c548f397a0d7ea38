// The page imports @jwt-session/client as /client.js: its source bundled to
// one ES module with esbuild when the demo starts (no build step to run first).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(import.meta.resolve('@jwt-session/client'));

export async function bundleClient(): Promise<Buffer> {
  const result = await build({ entryPoints: [ENTRY], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, write: false, legalComments: 'none' });
  return Buffer.from(result.outputFiles[0]!.contents);
}
