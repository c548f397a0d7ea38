import fc from 'fast-check';
import * as assert from 'uvu/assert';

/**
 * What a fuzz suite needs from session-core's `./testing` entry, passed in
 * rather than imported: session-core's own suite uses this kit too, and an
 * import would make a dependency cycle between the two.
 */
export interface FuzzTools {
  /** Values that broke public methods before: proxies, throwing getters, huge strings… */
  hostileValues(): unknown[];
  /** Runs one call; fails unless it succeeds or throws a coded error, without stalling the event loop. */
  probe(call: () => unknown): Promise<unknown>;
}

/** A plain value, or the index of a hostile one: proxies are built inside the property, since fast-check itself inspects what it generates. */
export type Recipe = { value: unknown } | { hostile: number };

/** Any value fast-check can make, binary strings, and the hostile values. */
export function recipe(tools: FuzzTools): fc.Arbitrary<Recipe> {
  const count = tools.hostileValues().length;
  return fc.oneof(
    { weight: 3, arbitrary: fc.anything({ withBigInt: true, withMap: true, withSet: true, withNullPrototype: true, withSparseArray: true }).map((value) => ({ value })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((value) => ({ value })) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: count - 1 }).map((hostile) => ({ hostile })) },
  );
}

/** The value a recipe stands for (hostile ones built fresh each time). */
export function cook(tools: FuzzTools, r: Recipe): unknown {
  return 'value' in r ? r.value : tools.hostileValues()[r.hostile];
}

/** Same seed everywhere: a failure reproduces in any suite. */
const SEED = 10_11;

/**
 * `fuzz(name, call, runs)`: calls `call` with three generated arguments
 * (a call ignores the ones it does not take) `runs` times, each through
 * `probe`; a failing run fails the test with the method's name.
 */
export function fuzzer(tools: FuzzTools, defaultRuns: number) {
  const input = recipe(tools);
  return async (name: string, call: (a: unknown, b: unknown, c: unknown) => unknown, runs = defaultRuns): Promise<void> => {
    await fc
      .assert(
        fc.asyncProperty(input, input, input, async (a, b, c) => {
          await tools.probe(() => call(cook(tools, a), cook(tools, b), cook(tools, c)));
        }),
        { numRuns: runs, seed: SEED },
      )
      .catch((error: Error) => assert.unreachable(`${name}: ${error.message.slice(0, 600)}`));
  };
}
