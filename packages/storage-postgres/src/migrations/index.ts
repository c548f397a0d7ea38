import { initial } from './001-initial.js';
import { reuseKinds } from './002-reuse-kinds.js';
import { upstreamLinks } from './003-upstream-links.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';

/** Every migration, in order. A release that changes the schema appends one; none is ever edited. */
export const MIGRATIONS: readonly Migration[] = [initial, reuseKinds, upstreamLinks];
