// `aegis serve`'s TLS settings for its hops: --api-cert-dir and --redis-ca-file (config.ts).
import { describe, expect, it } from "vitest";
import { loadServeConfig } from "../../../src/wiring/config.js";

describe("--api-cert-dir and --redis-ca-file", () => {
  it("come from the flag or the environment", () => {
    const fromEnv = loadServeConfig(
      {},
      {
        AEGIS_API_CERT_DIR: "/etc/aegis/api-tls",
        REDIS_URL: "rediss://aegis:pw@redis.example:6380",
        AEGIS_REDIS_CA_FILE: "/etc/aegis/redis-tls/ca.crt",
      },
    );
    expect(fromEnv.apiCertDir).toBe("/etc/aegis/api-tls");
    expect(fromEnv.redisCaFile).toBe("/etc/aegis/redis-tls/ca.crt");
    const fromFlags = loadServeConfig({ apiCertDir: "/certs", redisUrl: "rediss://r:6380", redisCaFile: "/ca" }, {});
    expect([fromFlags.apiCertDir, fromFlags.redisCaFile]).toEqual(["/certs", "/ca"]);
    const unset = loadServeConfig({}, {});
    expect([unset.apiCertDir, unset.redisCaFile]).toEqual([undefined, undefined]);
  });

  it("refuses a Redis CA file without a rediss:// URL", () => {
    expect(() => loadServeConfig({ redisUrl: "redis://r:6379", redisCaFile: "/ca" }, {})).toThrow(
      /--redis-ca-file \(AEGIS_REDIS_CA_FILE\) needs a rediss:\/\/ REDIS_URL/,
    );
    expect(() => loadServeConfig({ redisCaFile: "/ca" }, {})).toThrow(/needs a rediss:\/\/ REDIS_URL/);
  });
});
