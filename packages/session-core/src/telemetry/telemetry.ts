import { createRequire } from 'node:module';
import { SESSION_ERROR_REASONS, reasonOf, type SessionErrorReason } from '../errors.js';
import { checkTelemetry } from '../options.js';
import type { RefreshTokenStore } from '../storage.js';

/*
 * Metrics and spans through @opentelemetry/api, an optional peer: loaded
 * synchronously when installed, and nothing at all when it is not (every
 * method below is then an empty function on a shared no-op object). With the
 * API installed but no SDK registered, the API's own instruments are no-ops.
 *
 * Names and attributes are fixed here; no token, secret, subject or session
 * id ever becomes an attribute (they would be high-cardinality and personal).
 */

/** What the library needs of the OpenTelemetry API (structural, so no type from the optional peer appears in ours). */
interface Attributes {
  [name: string]: string;
}
interface Counter {
  add(value: number, attributes?: Attributes): void;
}
interface Histogram {
  record(value: number, attributes?: Attributes): void;
}
interface ObservableResult {
  observe(value: number, attributes?: Attributes): void;
}
interface ObservableGauge {
  addCallback(callback: (result: ObservableResult) => void): void;
  removeCallback(callback: (result: ObservableResult) => void): void;
}
interface Meter {
  createCounter(name: string, options?: { description?: string; unit?: string }): Counter;
  createHistogram(name: string, options?: { description?: string; unit?: string }): Histogram;
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): ObservableGauge;
}
interface Span {
  setAttribute(name: string, value: string): unknown;
  setStatus(status: { code: number }): unknown;
  end(): void;
}
interface Tracer {
  startActiveSpan<T>(name: string, fn: (span: Span) => T): T;
}
/** An OpenTelemetry `MeterProvider` (from the SDK, or `metrics.getMeterProvider()`). */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): unknown;
}
/** An OpenTelemetry `TracerProvider`. */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): unknown;
}

/**
 * Where the library reports to. Default: the global providers registered
 * with `@opentelemetry/api` when the manager or verifier is constructed
 * (register the SDK first); `false` turns reporting off.
 */
export type TelemetryOption = false | { meterProvider?: MeterProviderLike; tracerProvider?: TracerProviderLike };

export type ReadOutcome = 'cache_hit' | 'verified' | 'invalid' | 'expired' | 'revoked';
export type RefreshOutcome = 'rotated' | 'grace' | 'reused' | 'invalid' | 'expired' | 'error';
/** The outcomes of a refused read or refresh: these carry a `reason` attribute as well. */
export type ReadRefusal = Extract<ReadOutcome, 'invalid' | 'expired' | 'revoked'>;
export type RefreshRefusal = Extract<RefreshOutcome, 'reused' | 'invalid' | 'expired' | 'error'>;

const NAME = '@jwt-session/session-core';
const SPAN_ERROR = 2; // SpanStatusCode.ERROR

type Api = {
  metrics: { getMeterProvider(): MeterProviderLike };
  trace: { getTracerProvider(): TracerProviderLike };
  createNoopMeter?(): unknown;
};

let api: Api | null | undefined;
function loadApi(): Api | null {
  if (api === undefined) {
    try {
      api = createRequire(import.meta.url)('@opentelemetry/api') as Api;
    } catch {
      api = null;
    }
  }
  return api;
}

/** Pre-built attribute objects: the hot path allocates nothing. */
const attrs = <K extends string>(name: string, values: readonly K[]): Record<K, Attributes> =>
  Object.fromEntries(values.map((v) => [v, Object.freeze({ [name]: v })])) as unknown as Record<K, Attributes>;
const READS = attrs<ReadOutcome>('outcome', ['cache_hit', 'verified', 'invalid', 'expired', 'revoked']);
const REFRESHES = attrs<RefreshOutcome>('outcome', ['rotated', 'grace', 'reused', 'invalid', 'expired', 'error']);
/** `{ outcome, reason }` for every refusal outcome and reason, built once: a refusal allocates no attributes either. */
const withReasons = <K extends string>(outcomes: readonly K[]): Record<K, Record<SessionErrorReason, Attributes>> =>
  Object.fromEntries(outcomes.map((outcome) => [outcome, Object.fromEntries(SESSION_ERROR_REASONS.map((reason) => [reason, Object.freeze({ outcome, reason })]))])) as never;
const READ_REFUSALS = withReasons<ReadRefusal>(['invalid', 'expired', 'revoked']);
const REFRESH_REFUSALS = withReasons<RefreshRefusal>(['reused', 'invalid', 'expired', 'error']);
const HANDSHAKE_ACCEPTED = Object.freeze({ outcome: 'accepted' });
const HANDSHAKE_REFUSED = Object.freeze({ outcome: 'refused' });
const STORE_OPS = ['insert', 'settleInsert', 'rotate', 'list', 'delete', 'deleteAll'] as const;

/** The instruments of one manager or verifier. */
export class Telemetry {
  readonly #reads: Counter;
  readonly #refreshes: Counter;
  readonly #created: Counter;
  readonly #evicted: Counter;
  readonly #revocations: Counter;
  readonly #retries: Counter;
  readonly #storeErrors: Counter;
  readonly #storeDuration: Histogram;
  readonly #lag: Histogram;
  readonly #handshake: Histogram;
  readonly #gauges: { gauge: ObservableGauge; callback: (result: ObservableResult) => void }[] = [];
  readonly #meter: Meter;
  readonly #tracer: Tracer;

  constructor(meter: Meter, tracer: Tracer) {
    this.#meter = meter;
    this.#tracer = tracer;
    this.#reads = meter.createCounter('jwt_session.reads', { description: 'access-token reads by outcome' });
    this.#refreshes = meter.createCounter('jwt_session.refreshes', { description: 'refresh-token rotations by outcome' });
    this.#created = meter.createCounter('jwt_session.sessions.created', { description: 'sessions opened' });
    this.#evicted = meter.createCounter('jwt_session.sessions.evicted', { description: 'sessions evicted by maxSessionsPerSubject' });
    this.#revocations = meter.createCounter('jwt_session.revocations', { description: 'invalidations applied, by origin and reason' });
    this.#retries = meter.createCounter('jwt_session.broadcast.retries', { description: 'invalidation broadcasts that failed and were scheduled again' });
    this.#storeErrors = meter.createCounter('jwt_session.store.errors', { description: 'refresh-token store operations that failed, by operation' });
    this.#storeDuration = meter.createHistogram('jwt_session.store.duration', { description: 'refresh-token store operation duration', unit: 'ms' });
    this.#lag = meter.createHistogram('jwt_session.revocation.propagation_lag', { description: 'now minus the event time of a remote invalidation, on the receiving node', unit: 'ms' });
    this.#handshake = meter.createHistogram('jwt_session.guard.handshake_duration', { description: 'Socket.IO handshake authentication in the guard, by outcome', unit: 'ms' });
  }

  read(outcome: ReadOutcome): void {
    this.#reads.add(1, READS[outcome]);
  }

  /** A refused read, counted by outcome and reason (`jwt_session.reads{outcome="invalid", reason="audience"}`). */
  readRefused(outcome: ReadRefusal, reason: SessionErrorReason): void {
    this.#reads.add(1, READ_REFUSALS[outcome][reason]);
  }

  refresh(outcome: RefreshOutcome): void {
    this.#refreshes.add(1, REFRESHES[outcome]);
  }

  /** A refused refresh, counted by outcome and reason. */
  refreshRefused(outcome: RefreshRefusal, reason: SessionErrorReason): void {
    this.#refreshes.add(1, REFRESH_REFUSALS[outcome][reason]);
  }

  sessionCreated(): void {
    this.#created.add(1);
  }

  sessionEvicted(): void {
    this.#evicted.add(1);
  }

  /** `reason`: the session reason, or `subject` for a subject-wide invalidation. */
  revocation(origin: 'local' | 'remote', reason: string, lagMs?: number): void {
    this.#revocations.add(1, { origin, reason });
    if (lagMs !== undefined) this.#lag.record(Math.max(0, lagMs));
  }

  handshake(ms: number, accepted: boolean): void {
    this.#handshake.record(ms, accepted ? HANDSHAKE_ACCEPTED : HANDSHAKE_REFUSED);
  }

  broadcastRetry(): void {
    this.#retries.add(1);
  }

  /** A counter of a part outside the manager (the back-channel logout: upstream/logout-token.ts). */
  counter(name: string, description: string): { add(value: number, attributes: Attributes): void } {
    return this.#meter.createCounter(name, { description });
  }

  /** An observable gauge read at each collection; removed by `close()`. */
  gauge(name: string, description: string, read: () => number | undefined): void {
    const gauge = this.#meter.createObservableGauge(name, { description });
    const callback = (result: ObservableResult) => {
      const value = read();
      if (value !== undefined) result.observe(value);
    };
    gauge.addCallback(callback);
    this.#gauges.push({ gauge, callback });
  }

  /** Runs `fn` in a span named `name`; the span's status is ERROR when it throws. */
  async span<T>(name: string, fn: () => Promise<T>, attributes?: Attributes): Promise<T> {
    return this.#tracer.startActiveSpan(name, async (span) => {
      if (attributes) for (const [k, v] of Object.entries(attributes)) span.setAttribute(k, v);
      try {
        return await fn();
      } catch (error) {
        span.setStatus({ code: SPAN_ERROR });
        const code = (error as { code?: unknown } | null)?.code;
        if (typeof code === 'string') span.setAttribute('jwt_session.error', code);
        span.setAttribute('jwt_session.error.reason', reasonOf(error));
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /**
   * The store with every operation in a span, timed (`jwt_session.store.duration`)
   * and counted when it fails (`jwt_session.store.errors`), by operation.
   */
  instrumentStore(store: RefreshTokenStore): RefreshTokenStore {
    const instrumented = new Map<PropertyKey, unknown>();
    for (const operation of STORE_OPS) {
      const attributes = Object.freeze({ operation });
      instrumented.set(operation, (...args: unknown[]) =>
        this.span(`jwt_session.store.${operation}`, async () => {
          const start = performance.now();
          try {
            // Looked up at each call: the method may be replaced on the store after the manager was made.
            return await (store[operation] as (...args: unknown[]) => Promise<unknown>).apply(store, args);
          } catch (error) {
            this.#storeErrors.add(1, attributes);
            throw error;
          } finally {
            this.#storeDuration.record(performance.now() - start, attributes);
          }
        }),
      );
    }
    // Every other member (close, a store's own extras) is the store's own, called on the store itself (private fields need the real `this`).
    return new Proxy(store, {
      get(target, property) {
        if (instrumented.has(property)) return instrumented.get(property);
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  close(): void {
    for (const { gauge, callback } of this.#gauges.splice(0)) gauge.removeCallback(callback);
  }
}

const noop = () => undefined;
const NOOP_METER: Meter = {
  createCounter: () => ({ add: noop }),
  createHistogram: () => ({ record: noop }),
  createObservableGauge: () => ({ addCallback: noop, removeCallback: noop }),
};
const NOOP_TRACER: Tracer = { startActiveSpan: (_name, fn) => fn({ setAttribute: noop, setStatus: noop, end: noop }) };

/** Reporting off, or the API not installed: the hot-path calls are empty functions, and nothing is wrapped. */
class NoTelemetry extends Telemetry {
  constructor() {
    super(NOOP_METER, NOOP_TRACER);
  }
  override read(): void {}
  override readRefused(): void {}
  // Not async: an async wrapper returning fn's promise would cost a promise and two microtask turns per call.
  override span<T>(_name: string, fn: () => Promise<T>): Promise<T> {
    return fn();
  }
  override instrumentStore(store: RefreshTokenStore): RefreshTokenStore {
    return store;
  }
}

const NONE = new NoTelemetry();

/**
 * The tracer, or undefined when nothing is registered behind the provider: the
 * API's global provider is a proxy that, until an SDK registers, hands out
 * tracers whose spans record nothing.
 */
function tracerOf(provider: TracerProviderLike | undefined): Tracer | undefined {
  if (provider === undefined) return undefined;
  const proxy = provider as TracerProviderLike & { getDelegateTracer?(name: string): unknown };
  if (typeof proxy.getDelegateTracer === 'function') return proxy.getDelegateTracer(NAME) as Tracer | undefined;
  return provider.getTracer(NAME) as Tracer;
}

/**
 * The providers' instruments, read once here. With the API installed but no
 * SDK registered they are the API's no-ops; those are dropped rather than
 * called, so that such a manager pays for no span layer and no store wrapper
 * (a proxy, a span, a timer and two promises per store call). As documented,
 * an SDK registered after construction is not used.
 */
export function createTelemetry(option: TelemetryOption | undefined): Telemetry {
  if (option === false) return NONE;
  const loaded = loadApi();
  let meter = (option?.meterProvider ?? loaded?.metrics.getMeterProvider())?.getMeter(NAME) as Meter | undefined;
  if (meter !== undefined && meter === loaded?.createNoopMeter?.()) meter = undefined;
  const tracer = tracerOf(option?.tracerProvider ?? loaded?.trace.getTracerProvider());
  if (meter === undefined && tracer === undefined) return NONE;
  return new Telemetry(meter ?? NOOP_METER, tracer ?? NOOP_TRACER);
}

/** What a Socket.IO guard reports (see `guardTelemetry`). */
export interface GuardTelemetry {
  /** One handshake the guard authenticated (or refused), and how long it took. */
  handshake(ms: number, accepted: boolean): void;
  /** Reports `count()` as the `jwt_session.guard.sockets` gauge at each collection. */
  trackSockets(count: () => number): void;
  close(): void;
}

/**
 * The instruments of a Socket.IO guard (`@jwt-session/socketio-adapter`'s
 * attachSessionGuard): `jwt_session.guard.handshake_duration` (ms, by
 * `outcome`) and the `jwt_session.guard.sockets` gauge. Same `telemetry`
 * option and defaults as the manager's; an invalid one throws
 * ERR_CONFIG_INVALID naming `options.telemetry`.
 */
export function guardTelemetry(option?: TelemetryOption): GuardTelemetry {
  const telemetry = createTelemetry(checkTelemetry(option));
  return {
    handshake: (ms, accepted) => telemetry.handshake(ms, accepted),
    trackSockets: (count) => telemetry.gauge('jwt_session.guard.sockets', 'sockets under guard', count),
    close: () => telemetry.close(),
  };
}
