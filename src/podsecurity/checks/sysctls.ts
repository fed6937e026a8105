import type { CheckDefinition, CheckFinding, PodCheck } from "../check.js";
import type { Pod } from "../pod-model.js";

/** Namespaced sysctls that are isolated per Pod; each Kubernetes version may add to the list. */
const ALLOWED_V1_0 = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
];
const ALLOWED_V1_27 = [...ALLOWED_V1_0, "net.ipv4.ip_local_reserved_ports"];
const ALLOWED_V1_29 = [
  ...ALLOWED_V1_27,
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
];
const ALLOWED_V1_32 = [...ALLOWED_V1_29, "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];
const ALLOWED_V1_37 = [...ALLOWED_V1_32, "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"];

/** Sysctls can disable security mechanisms or affect the whole node; only a safe subset is allowed. */
export const sysctls: CheckDefinition = {
  id: "sysctls",
  level: "baseline",
  versions: [
    { sinceMinor: 0, check: allowOnlySysctls(ALLOWED_V1_0) },
    { sinceMinor: 27, check: allowOnlySysctls(ALLOWED_V1_27) },
    { sinceMinor: 29, check: allowOnlySysctls(ALLOWED_V1_29) },
    { sinceMinor: 32, check: allowOnlySysctls(ALLOWED_V1_32) },
    { sinceMinor: 37, check: allowOnlySysctls(ALLOWED_V1_37) },
  ],
};

function allowOnlySysctls(allowedNames: readonly string[]): PodCheck {
  const allowed: ReadonlySet<string> = new Set(allowedNames);
  return (pod: Pod): CheckFinding | undefined => {
    const forbidden = pod.spec.securityContext.sysctlNames.filter((name) => !allowed.has(name));
    if (forbidden.length === 0) return undefined;
    return { reason: "forbidden sysctls", detail: forbidden.join(", ") };
  };
}
