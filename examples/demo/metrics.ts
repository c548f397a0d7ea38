// METRICS=1: the library's OpenTelemetry metrics (session-core's manager and
// the Socket.IO guard) served at GET /metrics in the Prometheus text format,
// through the SDK and its Prometheus exporter used as a reader (no second
// HTTP server: the demo's own serves the route).
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { TelemetryOption } from '@jwt-session/session-core';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface DemoMetrics {
  /** For the manager's and the guard's `telemetry` option. */
  telemetry: TelemetryOption;
  /** GET /metrics. */
  serve(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

export function demoMetrics(): DemoMetrics {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  return {
    telemetry: { meterProvider },
    serve: (req, res) => exporter.getMetricsRequestHandler(req, res),
    close: () => meterProvider.shutdown(),
  };
}
