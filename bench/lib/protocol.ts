// Messages between the benchmark driver and its child server processes (node IPC channel).

export type ServerMode = "aegis" | "baseline";
/**
 * `memory`: MemoryEvidence (test/fakes/memory-ports.ts), a hash chain in memory, no I/O;
 * `pglite`: the real EvidenceLedger on embedded PGlite (in the server process); `postgres`: the
 * real EvidenceLedger on PostgreSQL (BENCH_DATABASE_URL).
 */
export type EvidenceMode = "memory" | "pglite" | "postgres";

export function evidenceDescription(mode: EvidenceMode): string {
  switch (mode) {
    case "memory":
      return "in-memory hash-chained recorder (no I/O)";
    case "pglite":
      return "EvidenceLedger on PGlite (embedded, in the server process)";
    case "postgres":
      return "EvidenceLedger on PostgreSQL (loopback, scratch database)";
  }
}

export interface ProcessSample {
  /** Resident set size in bytes, after a full GC when `gc` was asked for. */
  rss: number;
  heapUsed: number;
  /** CPU time the process used so far, in microseconds (user + system). */
  cpuMicros: number;
  /** Records the evidence port received (aegis mode). */
  evidenceRecords: number;
  /** ApprovalRequests the gate created (aegis mode). */
  createdRequests: number;
}

export type ParentMessage = { type: "sample"; id: number; gc: boolean } | { type: "stop" };

export type ChildMessage =
  | { type: "ready"; port: number; detail: Record<string, unknown> }
  | { type: "sample"; id: number; sample: ProcessSample }
  | { type: "error"; message: string };

export function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}

export function isParentMessage(value: unknown): value is ParentMessage {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}
