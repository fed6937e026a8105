import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/** The shortest AEGIS_SESSION_SECRET accepted, in bytes (UTF-8). */
export const MIN_SESSION_SECRET_BYTES = 32;

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Seals small JSON values into cookie-safe strings with AES-256-GCM under a key every replica
 * derives from the same Secret (HKDF-SHA256), so a cookie sealed by one replica opens on any.
 * The cookie's name is the additional authenticated data: a sealed login state cannot be
 * replayed as a session, nor the other way round. Opening fails (null) on any change of a byte.
 */
export class CookieSealer {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (Buffer.byteLength(secret, "utf8") < MIN_SESSION_SECRET_BYTES) {
      throw new Error(
        `AEGIS_SESSION_SECRET must be at least ${MIN_SESSION_SECRET_BYTES} bytes (e.g. openssl rand -base64 48), the same on every replica`,
      );
    }
    this.key = Buffer.from(hkdfSync("sha256", secret, "aegis", "aegis cookie sealing v1", 32));
  }

  seal(purpose: string, value: unknown): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(`${VERSION}:${purpose}`));
    const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url")}`;
  }

  /** The value sealed for `purpose`, or null when the text was not sealed so by this key. */
  open(purpose: string, sealed: string): unknown {
    const [version, data, extra] = sealed.split(".");
    if (version !== VERSION || data === undefined || extra !== undefined || !/^[\w-]+$/.test(data)) return null;
    const bytes = Buffer.from(data, "base64url");
    if (bytes.length < IV_BYTES + TAG_BYTES + 2) return null;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, bytes.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(`${VERSION}:${purpose}`));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return JSON.parse(plain.toString("utf8")) as unknown;
    } catch {
      return null;
    }
  }
}
