import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createCertificateAuthority, issueServingCertificate } from "../../../src/tls/certificates.js";
import { readCertDir, watchCertDir } from "../../../src/tls/cert-dir.js";
import type { TlsMaterial } from "../../../src/webhook/server.js";

describe("--webhook-cert-dir", () => {
  it("reads tls.crt/tls.key and reloads them when the Secret is renewed", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "aegis-certs-"));
    const ca = await createCertificateAuthority();
    const first = await issueServingCertificate(ca, ["aegis-webhook.aegis-system.svc"]);
    writeFileSync(path.join(dir, "tls.crt"), first.certPem);
    writeFileSync(path.join(dir, "tls.key"), first.keyPem);
    expect((await readCertDir(dir)).cert).toBe(first.certPem);

    const applied: TlsMaterial[] = [];
    const stop = watchCertDir(
      dir,
      (tls) => applied.push(tls),
      (error) => {
        throw error;
      },
      50,
    );
    await new Promise((resolve) => setTimeout(resolve, 120));
    const second = await issueServingCertificate(ca, ["aegis-webhook.aegis-system.svc"]);
    writeFileSync(path.join(dir, "tls.crt"), second.certPem);
    writeFileSync(path.join(dir, "tls.key"), second.keyPem);
    await new Promise((resolve) => setTimeout(resolve, 300));
    stop();
    expect(applied.at(-1)?.cert).toBe(second.certPem);
  });

  it("names the folder and files when they are missing", async () => {
    await expect(readCertDir("/nonexistent/aegis")).rejects.toThrow(/\/nonexistent\/aegis \(tls.crt, tls.key\)/);
  });
});
