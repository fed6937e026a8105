import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createCertificateAuthority, issueServingCertificate } from "../../../src/tls/certificates.js";

describe("webhook certificates", () => {
  it("issues a serving certificate that chains to the CA and names every host", async () => {
    const ca = await createCertificateAuthority();
    const serving = await issueServingCertificate(ca, ["aegis-webhook.aegis-system.svc", "127.0.0.1"]);
    const cert = new X509Certificate(serving.certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkHost("aegis-webhook.aegis-system.svc")).toBe("aegis-webhook.aegis-system.svc");
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.checkHost("evil.example")).toBeUndefined();
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
  });

  it("refuses to issue a certificate for no host", async () => {
    const ca = await createCertificateAuthority();
    await expect(issueServingCertificate(ca, [])).rejects.toThrow(/at least one/);
  });
});
