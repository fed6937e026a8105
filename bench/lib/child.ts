// Starts a benchmark server in its own Node.js process (`node --import tsx --expose-gc`, IPC
// channel) and talks to it: wait until it listens, sample its RSS/CPU, stop it.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createCertificateAuthority, issueServingCertificate } from "../../src/tls/certificates.js";
import {
  isChildMessage,
  type ChildMessage,
  type EvidenceMode,
  type ProcessSample,
  type ServerMode,
} from "./protocol.js";

const SERVER_SCRIPT = fileURLToPath(new URL("../servers/webhook-server.ts", import.meta.url));
const START_TIMEOUT_MS = 60_000;

export interface TlsFixture {
  key: string;
  cert: string;
  /** CA the load generator trusts. */
  ca: string;
}

/** A throwaway CA and a serving certificate for 127.0.0.1, issued by AEGIS's own code. */
export async function benchTls(): Promise<TlsFixture> {
  const ca = await createCertificateAuthority("aegis-bench-ca", 1);
  const serving = await issueServingCertificate(ca, ["127.0.0.1", "localhost"], 1);
  return { key: serving.keyPem, cert: serving.certPem, ca: ca.certPem };
}

export class ServerProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, (sample: ProcessSample) => void>();
  private exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly detail: Record<string, unknown>,
  ) {
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    child.on("message", (message: unknown) => {
      if (!isChildMessage(message) || message.type !== "sample") return;
      this.waiting.get(message.id)?.(message.sample);
      this.waiting.delete(message.id);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(
    mode: ServerMode,
    tls: TlsFixture,
    evidence: EvidenceMode = "memory",
    databaseUrl = "",
    listen: { port?: number; reusePort?: boolean } = {},
  ): Promise<ServerProcess> {
    const child = fork(SERVER_SCRIPT, [], {
      execArgv: ["--import", "tsx", "--expose-gc"],
      env: {
        ...process.env,
        BENCH_SERVER_MODE: mode,
        BENCH_EVIDENCE: evidence,
        BENCH_DATABASE_URL: databaseUrl,
        BENCH_TLS_KEY: tls.key,
        BENCH_TLS_CERT: tls.cert,
        BENCH_PORT: String(listen.port ?? 0),
        BENCH_REUSE_PORT: listen.reusePort ? "1" : "0",
      },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const ready = await new Promise<Extract<ChildMessage, { type: "ready" }>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${mode} server did not start within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      child.on("message", (message: unknown) => {
        if (!isChildMessage(message)) return;
        if (message.type === "ready") {
          clearTimeout(timer);
          resolve(message);
        } else if (message.type === "error") {
          clearTimeout(timer);
          reject(new Error(`${mode} server failed: ${message.message}`));
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${mode} server exited with ${code} before it was ready`));
      });
    });
    return new ServerProcess(child, ready.port, ready.detail);
  }

  /** RSS, heap and CPU of the server process; `gc` runs a full collection first. */
  sample(gc = false): Promise<ProcessSample> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("server did not answer a sample request")), 10_000);
      this.waiting.set(id, (sample) => {
        clearTimeout(timer);
        resolve(sample);
      });
      this.child.send({ type: "sample", id, gc });
    });
  }

  /** Asks the server to close (ledger included); kills it if it does not exit in time. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.send({ type: "stop" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}
