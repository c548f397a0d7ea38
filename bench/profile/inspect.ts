import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

/** CPU-profiles only `fn` (not the set-up around it) and writes a .cpuprofile for summarize.mjs. */
export async function profiled<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`profile written to ${file}`);
  }
}
