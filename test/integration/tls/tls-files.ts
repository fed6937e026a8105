// Certificates for the TLS tests, made with AEGIS's own CA code (src/tls/certificates.ts) and
// written to a temporary folder, and a free loopback port for a private server.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServingCertificate,
  type CertificateAuthority,
} from "../../../src/tls/certificates.js";

export interface TlsFiles {
  readonly dir: string;
  /** Writes `text` to `name` in the folder; returns its path. */
  write(name: string, text: string): string;
  remove(): void;
}

export function tlsFiles(prefix: string): TlsFiles {
  const dir = mkdtempSync(path.join(tmpdir(), `aegis-${prefix}-`));
  return {
    dir,
    write: (name, text) => {
      const file = path.join(dir, name);
      writeFileSync(file, text, { mode: 0o600 });
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface IssuedServer {
  ca: CertificateAuthority;
  certPem: string;
  keyPem: string;
}

/** A CA of its own and a serving certificate it issued for `hosts`. */
export async function serverCertificate(hosts: string[], caName = "aegis-test-ca"): Promise<IssuedServer> {
  const ca = await createCertificateAuthority(caName);
  const serving = await issueServingCertificate(ca, hosts);
  return { ca, certPem: serving.certPem, keyPem: serving.keyPem };
}

export { createCertificateAuthority, issueClientCertificate, issueServingCertificate };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}
