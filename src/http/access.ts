import { createHash } from "node:crypto";
import type { Identity } from "../api/identity.js";
import type { AccessReviewer, TokenAuthenticator } from "../ports/auth.js";

export interface AccessCacheOptions {
  /** How long a TokenReview or SubjectAccessReview answer is reused. Default 10 s. */
  ttlMs?: number;
  /** Entries kept at most; the oldest go first. Default 10 000. */
  maxEntries?: number;
  now?: () => number;
}

/**
 * Reuses TokenReview and SubjectAccessReview answers briefly: every read of the API is
 * authorised now, and the dashboard reads often. Errors are never cached (the API server being
 * away must not turn into "denied" or "allowed" for the next ten seconds). Tokens are keyed by
 * their SHA-256, so the cache holds no credential.
 */
export class CachedAccess implements TokenAuthenticator, AccessReviewer {
  private readonly answers = new Map<string, { at: number; value: unknown }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly inner: TokenAuthenticator & AccessReviewer,
    options: AccessCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  authenticate(token: string): Promise<Identity | null> {
    const key = `token:${createHash("sha256").update(token).digest("hex")}`;
    return this.cached(key, () => this.inner.authenticate(token));
  }

  canApprove(identity: Identity, namespace: string): Promise<boolean> {
    // Decisions are rare and consequential: always ask.
    return this.inner.canApprove(identity, namespace);
  }

  canTrainRisk(identity: Identity): Promise<boolean> {
    // Rare and consequential, like a decision: always ask.
    return this.inner.canTrainRisk(identity);
  }

  canRead(identity: Identity, namespace: string | null): Promise<boolean> {
    const key = `read:${identityKey(identity)}:${namespace ?? "*"}`;
    return this.cached(key, () => this.inner.canRead(identity, namespace));
  }

  private async cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.answers.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value as T;
    const value = await load();
    this.answers.delete(key);
    this.answers.set(key, { at: this.now(), value });
    if (this.answers.size > this.maxEntries) {
      const oldest = this.answers.keys().next();
      if (!oldest.done) this.answers.delete(oldest.value);
    }
    return value;
  }
}

function identityKey(identity: Identity): string {
  return JSON.stringify([identity.username, [...identity.groups].sort()]);
}

/**
 * What one authenticated caller may read: the namespaces where RBAC lets them `get`
 * ApprovalRequests, as Kubernetes would decide it. Cluster-scoped things (AegisPolicy changes,
 * threats about users) are for those who may read every namespace.
 */
export class ReadScope {
  private all: Promise<boolean> | undefined;

  constructor(
    readonly identity: Identity,
    private readonly access: AccessReviewer,
  ) {}

  readsEveryNamespace(): Promise<boolean> {
    this.all ??= this.access.canRead(this.identity, null);
    return this.all;
  }

  /** May the caller read things in `namespace`? `null`: cluster-scoped. */
  async mayRead(namespace: string | null): Promise<boolean> {
    if (await this.readsEveryNamespace()) return true;
    if (namespace === null || namespace === "") return false;
    return this.access.canRead(this.identity, namespace);
  }

  /** The items the caller may read, in their order; one review per distinct namespace. */
  async filter<T>(items: readonly T[], namespaceOf: (item: T) => string | null): Promise<T[]> {
    if (await this.readsEveryNamespace()) return [...items];
    const namespaces = [...new Set(items.map(namespaceOf))];
    const allowed = new Map(await Promise.all(namespaces.map(async (ns) => [ns, await this.mayRead(ns)] as const)));
    return items.filter((item) => allowed.get(namespaceOf(item)) === true);
  }
}

/** The namespace of an evidence subject `Kind/namespace/name`; null for `Kind/name` (cluster-scoped). */
export function subjectNamespace(subject: string): string | null {
  const parts = subject.split("/");
  return parts.length === 3 && parts[1] ? parts[1] : null;
}
