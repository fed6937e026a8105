import { Counter, Gauge, type Registry } from "prom-client";
import type { BusStats } from "../ports/bus.js";

/**
 * Exports a bus's counters on `registry`, read at scrape time so the bus itself stays free of
 * prom-client. Counters only ever move forward by the difference since the last scrape.
 */
export function registerBusMetrics(registry: Registry, stats: () => BusStats): void {
  const counter = (name: string, help: string, read: (current: BusStats) => number): void => {
    let last = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const value = read(stats());
        if (value > last) this.inc(value - last);
        last = value;
      },
    });
  };
  counter("aegis_bus_published_total", "Hints published on the event bus", (s) => s.published);
  counter(
    "aegis_bus_publish_failures_total",
    "Hints that reached this replica only because the broker was unreachable",
    (s) => s.publishFailures,
  );
  counter("aegis_bus_received_total", "Hints received from other replicas", (s) => s.received);
  counter(
    "aegis_bus_malformed_total",
    "Messages from the broker ignored because they did not validate",
    (s) => s.malformed,
  );
  new Gauge({
    name: "aegis_bus_connected",
    help: "1 while the event bus reaches the other replicas (always 1 in-process)",
    registers: [registry],
    collect() {
      this.set(stats().connected ? 1 : 0);
    },
  });
}
