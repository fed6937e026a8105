import { z } from "zod";

/**
 * `aegis serve` settings: every flag has an environment variable (DESIGN §4). Parsed once at
 * start-up into a frozen object; the rest of the program receives slices of it.
 */
export const SERVE_OPTIONS = [
  {
    flag: "--webhook-url <url>",
    env: "AEGIS_WEBHOOK_URL",
    key: "webhookUrl",
    help: "URL the API server calls when AEGIS runs outside the cluster, e.g. https://127.0.0.1:9443",
  },
  {
    flag: "--webhook-service <ns/name>",
    env: "AEGIS_WEBHOOK_SERVICE",
    key: "webhookService",
    help: "Service the API server calls when AEGIS runs in the cluster",
  },
  {
    flag: "--webhook-cert-dir <dir>",
    env: "AEGIS_WEBHOOK_CERT_DIR",
    key: "webhookCertDir",
    help: "serve tls.crt/tls.key from this folder (e.g. a cert-manager Secret), reloaded on change; AEGIS then manages neither its CA nor the webhook configuration",
  },
  {
    flag: "--webhook-client-ca <file>",
    env: "AEGIS_WEBHOOK_CLIENT_CA",
    key: "webhookClientCa",
    help: "mutual TLS: PEM CA bundle the API server's client certificate must chain to (its AdmissionConfiguration); other callers fail the TLS handshake; reloaded on change. Unset: the webhook trusts any caller that can reach it",
  },
  {
    flag: "--webhook-port <port>",
    env: "AEGIS_WEBHOOK_PORT",
    key: "webhookPort",
    help: "HTTPS port of the admission webhook",
    default: "9443",
  },
  {
    flag: "--webhook-host <host>",
    env: "AEGIS_WEBHOOK_HOST",
    key: "webhookHost",
    help: "address the webhook listens on",
    default: "0.0.0.0",
  },
  {
    flag: "--api-port <port>",
    env: "AEGIS_API_PORT",
    key: "apiPort",
    help: "HTTP port of the REST API, dashboard and /metrics",
    default: "8750",
  },
  {
    flag: "--api-cert-dir <dir>",
    env: "AEGIS_API_CERT_DIR",
    key: "apiCertDir",
    help: "serve the REST API, dashboard and /metrics over HTTPS with tls.crt/tls.key from this folder (e.g. a cert-manager Secret), reloaded on change; plain HTTP is then refused. Unset: HTTP",
  },
  {
    flag: "--api-host <host>",
    env: "AEGIS_API_HOST",
    key: "apiHost",
    help: "address the REST API listens on",
    default: "0.0.0.0",
  },
  {
    flag: "--api-token-audience <audience>",
    env: "AEGIS_API_TOKEN_AUDIENCE",
    key: "apiTokenAudience",
    help: "bearer tokens for the REST API must be minted for this audience (kubectl create token NAME --audience aegis); tokens for the API server itself are refused",
    default: "aegis",
  },
  {
    flag: "--api-trusted-proxies <list>",
    env: "AEGIS_API_TRUSTED_PROXIES",
    key: "apiTrustedProxies",
    help: "comma-separated addresses or CIDRs (or loopback) of reverse proxies whose X-Forwarded-For names the client; unset: the peer address is the client",
  },
  {
    flag: "--oidc-issuer <url>",
    env: "AEGIS_OIDC_ISSUER",
    key: "oidcIssuer",
    help: "dashboard single sign-on with OpenID Connect (docs/sso.md): the provider's issuer URL, discovered from its /.well-known/openid-configuration; needs --oidc-client-id, AEGIS_SESSION_SECRET and AEGIS_DASHBOARD_URL or --oidc-redirect-url. Client secret: AEGIS_OIDC_CLIENT_SECRET (environment only). Unset: tokens only",
  },
  {
    flag: "--oidc-client-id <id>",
    env: "AEGIS_OIDC_CLIENT_ID",
    key: "oidcClientId",
    help: "the client AEGIS is registered as at the OIDC provider",
  },
  {
    flag: "--oidc-redirect-url <url>",
    env: "AEGIS_OIDC_REDIRECT_URL",
    key: "oidcRedirectUrl",
    help: "where the provider sends users back (registered at the provider); default AEGIS_DASHBOARD_URL/auth/callback",
  },
  {
    flag: "--oidc-username-claim <claim>",
    env: "AEGIS_OIDC_USERNAME_CLAIM",
    key: "oidcUsernameClaim",
    help: "ID token claim that is the Kubernetes username, as kube-apiserver's --oidc-username-claim (use the cluster's value)",
    default: "email",
  },
  {
    flag: "--oidc-username-prefix <prefix>",
    env: "AEGIS_OIDC_USERNAME_PREFIX",
    key: "oidcUsernamePrefix",
    help: "as kube-apiserver's --oidc-username-prefix: prepended to the username; - for none; unset: ISSUER# for claims other than email",
  },
  {
    flag: "--oidc-groups-claim <claim>",
    env: "AEGIS_OIDC_GROUPS_CLAIM",
    key: "oidcGroupsClaim",
    help: "ID token claim with the user's groups, as kube-apiserver's --oidc-groups-claim",
    default: "groups",
  },
  {
    flag: "--oidc-groups-prefix <prefix>",
    env: "AEGIS_OIDC_GROUPS_PREFIX",
    key: "oidcGroupsPrefix",
    help: "as kube-apiserver's --oidc-groups-prefix: prepended to every group",
  },
  {
    flag: "--oidc-scopes <list>",
    env: "AEGIS_OIDC_SCOPES",
    key: "oidcScopes",
    help: "scopes asked of the provider, space- or comma-separated (must include openid)",
    default: "openid email groups",
  },
  {
    flag: "--oidc-session-ttl <seconds>",
    env: "AEGIS_OIDC_SESSION_TTL",
    key: "oidcSessionTtl",
    help: "how long a dashboard sign-in lasts (the sealed aegis_session cookie)",
    default: "28800",
  },
  {
    flag: "--namespace <ns>",
    env: "AEGIS_NAMESPACE",
    key: "namespace",
    help: "AEGIS's own namespace (never gated; holds its Lease and CA Secret)",
    default: "aegis-system",
  },
  {
    flag: "--data-dir <dir>",
    env: "AEGIS_DATA_DIR",
    key: "dataDir",
    help: "embedded database, evidence spool and signing key",
    default: "./.aegis-data",
  },
  {
    flag: "--database-url <url>",
    env: "DATABASE_URL",
    key: "databaseUrl",
    help: "PostgreSQL; unset: embedded PostgreSQL (PGlite) in the data dir",
  },
  {
    flag: "--database-admin-url <url>",
    env: "AEGIS_DATABASE_ADMIN_URL",
    key: "databaseAdminUrl",
    help: "PostgreSQL login owning the evidence tables: runs the migrations and grants the --database-url login the aegis_evidence_writer role (SELECT, INSERT only), which AEGIS then serves with. Unset: --database-url migrates too, and AEGIS warns if that login could rewrite the ledger",
  },
  {
    flag: "--database-role <role>",
    env: "AEGIS_DATABASE_ROLE",
    key: "databaseRole",
    help: "role the admin login grants aegis_evidence_writer to (default: the --database-url login)",
  },
  {
    flag: "--redis-url <url>",
    env: "REDIS_URL",
    key: "redisUrl",
    help: "Redis for pub/sub between replicas; unset: in-process (one replica only)",
  },
  {
    flag: "--redis-ca-file <file>",
    env: "AEGIS_REDIS_CA_FILE",
    key: "redisCaFile",
    help: "rediss:// only: PEM CA bundle the Redis server's certificate must chain to (it must also name the URL's host); read again on every reconnect. Unset: the system CAs",
  },
  {
    flag: "--kubeconfig <file>",
    env: "KUBECONFIG",
    key: "kubeconfig",
    help: "kubeconfig outside a cluster (default ~/.kube/config)",
  },
  {
    flag: "--evidence-signing-key <file>",
    env: "AEGIS_EVIDENCE_SIGNING_KEY",
    key: "evidenceSigningKey",
    help: "Ed25519 PEM key that signs evidence checkpoints (e.g. a mounted Secret, shared by replicas); default <data-dir>/evidence-signing-key.pem, created when absent",
  },
  {
    flag: "--evidence-checkpoint-interval <seconds>",
    env: "AEGIS_EVIDENCE_CHECKPOINT_INTERVAL",
    key: "evidenceCheckpointInterval",
    help: "sign and store a Merkle checkpoint of the evidence log this often while records arrive (and at shutdown)",
    default: "10",
  },
  {
    flag: "--argocd-namespace <namespace>",
    env: "AEGIS_ARGOCD_NAMESPACE",
    key: "argoCdNamespace",
    help: "where Argo CD's Applications live: a change an Application applies names the commit it syncs (evidence, ApprovalRequest, GitHub statuses); empty: never read",
    default: "argocd",
  },
  {
    flag: "--risk-train-interval <seconds>",
    env: "AEGIS_RISK_TRAIN_INTERVAL",
    key: "riskTrainInterval",
    help: "the leader retrains the risk model from the ledger's human decisions this often (0: only on demand, POST /api/risk/train or aegis risk train)",
    default: "600",
  },
  {
    flag: "--evidence-witness <list>",
    env: "AEGIS_EVIDENCE_WITNESSES",
    key: "evidenceWitnesses",
    help: "C2SP tlog-witnesses each checkpoint is published to, comma-separated: URL (its add-checkpoint prefix), optionally a space and the witness's verifier key (name+id+base64) to check its cosignatures",
  },
  {
    flag: "--evidence-fail-closed <bool>",
    env: "AEGIS_EVIDENCE_FAIL_CLOSED",
    key: "evidenceFailClosed",
    help: "while the database is down, deny admissions instead of spooling their evidence (a record neither the database nor the spool takes always denies)",
    default: "false",
  },
  {
    flag: "--healing-backoff-ms <ms>",
    env: "AEGIS_HEALING_BASE_BACKOFF_MS",
    key: "healingBackoffMs",
    help: "wait after a self-healing action before the next step; doubles per step",
    default: "60000",
  },
  {
    flag: "--log-level <level>",
    env: "AEGIS_LOG_LEVEL",
    key: "logLevel",
    help: "trace|debug|info|warn|error",
    default: "info",
  },
] as const;

const port = z.coerce.number().int().min(1).max(65_535);
const booleanText = z.enum(["true", "false", "1", "0"]).transform((value) => value === "true" || value === "1");

export const serveConfigSchema = z
  .object({
    webhookUrl: z.url({ protocol: /^https$/, error: "--webhook-url must be an https:// URL" }).optional(),
    webhookService: z
      .string()
      .regex(/^[a-z0-9-]+\/[a-z0-9-]+$/, "--webhook-service must be NAMESPACE/NAME")
      .optional(),
    webhookCertDir: z.string().min(1).optional(),
    webhookClientCa: z.string().min(1).optional(),
    webhookPort: port,
    webhookHost: z.string().min(1),
    apiPort: port,
    apiCertDir: z.string().min(1).optional(),
    apiHost: z.string().min(1),
    apiTokenAudience: z.string().regex(/^[\w.:/-]{1,253}$/, "--api-token-audience must be one audience, e.g. aegis"),
    apiTrustedProxies: z
      .string()
      .optional()
      .transform((list) =>
        (list ?? "")
          .split(",")
          .map((entry) => entry.trim())
          .filter((entry) => entry.length > 0),
      ),
    oidcIssuer: z.string().min(1).optional(),
    oidcClientId: z.string().min(1).optional(),
    oidcRedirectUrl: z.string().min(1).optional(),
    oidcUsernameClaim: z.string().min(1),
    oidcUsernamePrefix: z.string().min(1).optional(),
    oidcGroupsClaim: z.string().min(1),
    oidcGroupsPrefix: z.string().min(1).optional(),
    oidcScopes: z.string().min(1),
    oidcSessionTtl: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 86_400),
    namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "--namespace must be a valid namespace name"),
    dataDir: z.string().min(1),
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// URL")
      .optional(),
    databaseAdminUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "AEGIS_DATABASE_ADMIN_URL must be a postgres:// URL")
      .optional(),
    databaseRole: z.string().min(1).max(63).optional(),
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, "REDIS_URL must be a redis:// URL")
      .optional(),
    redisCaFile: z.string().min(1).optional(),
    kubeconfig: z.string().optional(),
    evidenceSigningKey: z.string().min(1).optional(),
    evidenceFailClosed: booleanText,
    evidenceWitnesses: z.string().optional(),
    evidenceCheckpointInterval: z.coerce.number().min(0.1).max(86_400),
    riskTrainInterval: z.coerce.number().min(0).max(604_800),
    argoCdNamespace: z.string().max(63),
    healingBackoffMs: z.coerce.number().int().min(100).max(3_600_000),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error"]),
  })
  .refine((config) => !(config.webhookUrl && config.webhookService), {
    message: "give --webhook-url or --webhook-service, not both",
  })
  .refine((config) => config.databaseAdminUrl === undefined || config.databaseUrl !== undefined, {
    message: "--database-admin-url needs --database-url (DATABASE_URL): the login AEGIS serves with",
  })
  .refine((config) => config.databaseRole === undefined || config.databaseAdminUrl !== undefined, {
    message: "--database-role is granted by --database-admin-url: give both",
  })
  .refine((config) => config.redisCaFile === undefined || config.redisUrl?.startsWith("rediss://") === true, {
    message: "--redis-ca-file (AEGIS_REDIS_CA_FILE) needs a rediss:// REDIS_URL: with redis:// nothing is encrypted",
  });
export type ServeConfig = Readonly<z.infer<typeof serveConfigSchema>> & {
  /** Slack, GitHub and the dashboard URL, from the environment only. */
  readonly integrations: IntegrationSettings;
};

type OptionKey = (typeof SERVE_OPTIONS)[number]["key"];

/** Flags win over the environment, which wins over defaults. Throws with every bad field named. */
export function loadServeConfig(flags: Partial<Record<OptionKey, string>>, env: NodeJS.ProcessEnv): ServeConfig {
  const raw: Record<string, string | undefined> = {};
  for (const option of SERVE_OPTIONS) {
    // An empty value (`DATABASE_URL=`) means unset, as it does for the shell.
    const fromFlag = flags[option.key] || undefined;
    const fromEnv = env[option.env] || undefined;
    raw[option.key] = fromFlag ?? fromEnv ?? ("default" in option ? option.default : undefined);
  }
  const parsed = serveConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "config"}: ${issue.message}`);
    throw new Error(`invalid configuration: ${problems.join("; ")}`);
  }
  return Object.freeze({ ...parsed.data, integrations: loadIntegrationSettings(env) });
}

/**
 * Slack, GitHub and the dashboard's public URL, from the environment (secrets never come from
 * flags, which show up in `ps`). Unset values turn the integration off.
 */
export const INTEGRATION_ENV = {
  SLACK_BOT_TOKEN: "Slack bot token (xoxb-…): post and update approval messages",
  SLACK_SIGNING_SECRET: "Slack signing secret: verify POST /slack/interactions",
  SLACK_API_URL: "Slack Web API base URL (default https://slack.com/api/)",
  AEGIS_SLACK_RESPONSE_URL_PREFIX: "response_url prefix AEGIS may call back (default https://hooks.slack.com/)",
  GITHUB_TOKEN:
    "GitHub token: commit statuses (repo:status) and answers to deployment protection rules (actions: read and write, deployments)",
  GITHUB_API_URL: "GitHub API base URL (default https://api.github.com)",
  GITHUB_WEBHOOK_SECRET: "GitHub webhook secret: verify POST /github/webhook",
  AEGIS_DASHBOARD_URL: "public URL of the dashboard, for links in Slack and GitHub statuses",
} as const;

const optional = z.string().trim().min(1).optional().catch(undefined);
const settingsSchema = z.object({
  SLACK_BOT_TOKEN: optional,
  SLACK_SIGNING_SECRET: optional,
  SLACK_API_URL: z.url().optional(),
  AEGIS_SLACK_RESPONSE_URL_PREFIX: z.url().optional(),
  GITHUB_TOKEN: optional,
  GITHUB_API_URL: z.url().optional(),
  GITHUB_WEBHOOK_SECRET: optional,
  AEGIS_DASHBOARD_URL: z.url({ protocol: /^https?$/ }).optional(),
});
export type IntegrationSettings = z.infer<typeof settingsSchema>;

/** Reads the variables above; empty means unset. Throws naming every malformed URL. */
export function loadIntegrationSettings(env: NodeJS.ProcessEnv): IntegrationSettings {
  const raw = Object.fromEntries(Object.keys(INTEGRATION_ENV).map((key) => [key, env[key] || undefined]));
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(
      `invalid integration settings: ${parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}
