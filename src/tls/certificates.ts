import "reflect-metadata"; // @peculiar/x509's dependency injection needs the Reflect API
import { webcrypto, randomBytes } from "node:crypto";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto);

const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

export interface ServingCertificate {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

/** A CA for the webhook's serving certificates; its certificate is the webhook's caBundle. */
export async function createCertificateAuthority(
  commonName = "aegis-webhook-ca",
  validDays = 3650,
): Promise<CertificateAuthority> {
  const keys = await generateKeys();
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + validDays * DAY_MS),
    keys,
    signingAlgorithm: KEY_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKeyPem(keys.privateKey) };
}

/** A serving certificate for the given DNS names and IP addresses, signed by `ca`. */
export async function issueServingCertificate(
  ca: CertificateAuthority,
  hosts: readonly string[],
  validDays = 365,
): Promise<ServingCertificate> {
  if (hosts.length === 0) throw new Error("a serving certificate needs at least one DNS name or IP address");
  return issueLeaf(ca, `CN=${hosts[0]}`, x509.ExtendedKeyUsage.serverAuth, validDays, [
    new x509.SubjectAlternativeNameExtension(
      hosts.map((host) => (isIpAddress(host) ? { type: "ip", value: host } : { type: "dns", value: host })),
    ),
  ]);
}

/**
 * A client certificate (extended key usage clientAuth) for `commonName`, signed by `ca`: what
 * the API server presents to a webhook started with --webhook-client-ca.
 */
export async function issueClientCertificate(
  ca: CertificateAuthority,
  commonName: string,
  validDays = 365,
): Promise<ServingCertificate> {
  return issueLeaf(ca, `CN=${commonName}`, x509.ExtendedKeyUsage.clientAuth, validDays, []);
}

async function issueLeaf(
  ca: CertificateAuthority,
  subject: string,
  usage: x509.ExtendedKeyUsageType,
  validDays: number,
  extensions: x509.Extension[],
): Promise<ServingCertificate> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importKeyPem(ca.keyPem);
  const keys = await generateKeys();
  const now = new Date();
  const notAfter = new Date(now.getTime() + validDays * DAY_MS);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: KEY_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([usage], false),
      ...extensions,
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: `${cert.toString("pem")}\n`, keyPem: await exportKeyPem(keys.privateKey), notAfter };
}

/** When a PEM certificate stops being valid. */
export function certificateNotAfter(certPem: string): Date {
  return new x509.X509Certificate(certPem).notAfter;
}

function isIpAddress(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(":");
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // a positive serial number
  return bytes.toString("hex");
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey("pkcs8", key));
  const body =
    der
      .toString("base64")
      .match(/.{1,64}/g)
      ?.join("\n") ?? "";
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
  return webcrypto.subtle.importKey("pkcs8", Buffer.from(body, "base64"), KEY_ALGORITHM, true, ["sign"]);
}
