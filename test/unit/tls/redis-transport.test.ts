// What the Redis adapter makes of a rediss:// URL, and how it logs what went wrong (redis-bus.ts).
// The connections themselves: test/integration/tls/redis-tls.test.ts.
import { describe, expect, it } from "vitest";
import {
  redactRedisError,
  redisConnectionHint,
  redisTlsOptions,
  redisUnencryptedRemote,
} from "../../../src/adapters/bus/redis-bus.js";

describe("redisTlsOptions", () => {
  it("redis://: no TLS; rediss://: TLS with the host as SNI name (not for an address)", () => {
    expect(redisTlsOptions("redis://127.0.0.1:6379")).toEqual({});
    expect(redisTlsOptions("rediss://u:p@redis.example:6380")).toEqual({ tls: { servername: "redis.example" } });
    expect(redisTlsOptions("rediss://u:p@10.0.0.7:6380")).toEqual({ tls: {} });
    expect(redisTlsOptions("rediss://u:p@[::1]:6380")).toEqual({ tls: {} });
  });

  it("stops at once when the CA file is missing, naming the flag", () => {
    expect(() => redisTlsOptions("rediss://r:6380", "/nonexistent/ca.crt")).toThrow(
      /the Redis CA \(--redis-ca-file, AEGIS_REDIS_CA_FILE\): cannot read \/nonexistent\/ca\.crt/,
    );
  });
});

describe("Redis errors in the log", () => {
  it("drop the command's arguments ioredis attaches (HELLO … AUTH user password)", () => {
    const error = Object.assign(new Error("WRONGPASS invalid username-password pair or user is disabled."), {
      command: { name: "hello", args: ["3", "AUTH", "aegis", "hunter2"] },
    });
    const logged = redactRedisError(error) as Error & Record<string, unknown>;
    expect(JSON.stringify({ ...logged, message: logged.message })).not.toContain("hunter2");
    expect(logged.message).toBe(error.message);
    expect(logged["command"]).toBe("hello");
    const plain = new Error("ECONNREFUSED");
    expect(redactRedisError(plain)).toBe(plain);
  });

  it("say what to fix", () => {
    const url = "rediss://aegis:pw@redis.example:6380";
    const coded = (code: string): Error => Object.assign(new Error(code), { code });
    expect(redisConnectionHint(coded("SELF_SIGNED_CERT_IN_CHAIN"), url)).toMatch(
      /system store: give the CA .* --redis-ca-file/,
    );
    expect(redisConnectionHint(coded("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), url, "/ca.crt")).toMatch(
      /the CA in \/ca\.crt/,
    );
    expect(redisConnectionHint(coded("ERR_TLS_CERT_ALTNAME_INVALID"), url)).toMatch(/does not name redis\.example/);
    expect(redisConnectionHint(new Error("WRONGPASS invalid username-password pair"), url)).toMatch(
      /user name and password of REDIS_URL/,
    );
    expect(redisConnectionHint(new Error("NOAUTH Authentication required."), url)).toMatch(/rediss:\/\/USER:PASSWORD@/);
    expect(redisConnectionHint(new Error("NOPERM this user has no permissions"), url)).toMatch(/ACL/);
    expect(redisConnectionHint(coded("ECONNREFUSED"), url)).toBeUndefined();
  });

  it("redis:// to another host is flagged as unencrypted; loopback and rediss:// are not", () => {
    expect(redisUnencryptedRemote("redis://redis.example:6379")).toBe(true);
    expect(redisUnencryptedRemote("redis://127.0.0.1:6379")).toBe(false);
    expect(redisUnencryptedRemote("redis://localhost:6379")).toBe(false);
    expect(redisUnencryptedRemote("rediss://redis.example:6380")).toBe(false);
  });
});
