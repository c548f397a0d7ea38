import 'reflect-metadata';
import { JwtUserSessionManager } from '@jwt-session/session-core';
import { MemoryInvalidAccessTokenCache, MemoryRefreshTokenStore } from '@jwt-session/storage-memory';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';

/** Collects teardown steps; run them in `finally` so a failing assertion still closes everything. */
export class Cleanup {
  readonly #steps: (() => unknown)[] = [];
  add(step: () => unknown): void {
    this.#steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // Keep tearing down the rest.
      }
    }
  }
}

export function makeManager(cleanup: Cleanup): JwtUserSessionManager {
  const store = new MemoryRefreshTokenStore();
  const cache = new MemoryInvalidAccessTokenCache();
  const manager = new JwtUserSessionManager({
    keys: { kid: 'k1', algorithm: 'HS256', secret: 'a-test-secret-of-at-least-32-bytes!!' },
    issuer: 'https://auth.test',
    audience: 'https://api.test',
    refreshTokenStore: store,
    invalidAccessTokenCache: cache,
  });
  cleanup.add(async () => {
    await manager.close();
    await store.close();
    cache.close();
  });
  return manager;
}

/** A real Nest app (Express platform) on a free loopback port; `prepare` runs before listen (adapters, filters). */
export async function startApp(cleanup: Cleanup, module: unknown, prepare?: (app: INestApplication) => void): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({ imports: [module as never] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  cleanup.add(() => app.close());
  prepare?.(app);
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}
