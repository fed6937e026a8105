import type { ApprovalSettings } from "../api/v1alpha1/index.js";

/** One approver as the quorum sees them: who, and the groups their decision was made under. */
export interface QuorumApprover {
  user: string;
  groups: readonly string[];
}

/** How one quorum group stands: the approvers counted for it, and how many it needs. */
export interface QuorumStanding {
  group: string;
  min: number;
  counted: string[];
}

/**
 * The strictest combination of the policies' quorums: every group any policy names, with the
 * largest `min` asked for it.
 */
export function quorumOf(settings: readonly ApprovalSettings[]): Map<string, number> {
  const quorum = new Map<string, number>();
  for (const entry of settings.flatMap((s) => s.quorum ?? [])) {
    quorum.set(entry.group, Math.max(quorum.get(entry.group) ?? 0, entry.min));
  }
  return quorum;
}

/**
 * Assigns approvers to quorum slots so that one person fills at most one slot and as many slots
 * as possible are filled (a maximum bipartite matching, by augmenting paths). Which group a
 * person in several groups is counted for is therefore chosen by AEGIS, never double-counted.
 * Ties go to the earlier approver and the group listed first.
 */
export function assignQuorum(
  quorum: ReadonlyMap<string, number>,
  approvers: readonly QuorumApprover[],
): QuorumStanding[] {
  const slots = [...quorum].flatMap(([group, min]) => Array.from({ length: min }, () => group));
  const slotHolder: (number | undefined)[] = slots.map(() => undefined);

  const place = (approver: number, visited: Set<number>): boolean => {
    const groups = approvers[approver]?.groups ?? [];
    for (let slot = 0; slot < slots.length; slot++) {
      if (visited.has(slot) || !groups.includes(slots[slot] ?? "")) continue;
      visited.add(slot);
      const holder = slotHolder[slot];
      if (holder === undefined || place(holder, visited)) {
        slotHolder[slot] = approver;
        return true;
      }
    }
    return false;
  };
  approvers.forEach((_, index) => place(index, new Set()));

  return [...quorum].map(([group, min]) => ({
    group,
    min,
    counted: slots.flatMap((slotGroup, slot) => {
      const holder = slotHolder[slot];
      return slotGroup === group && holder !== undefined ? [approvers[holder]?.user ?? ""] : [];
    }),
  }));
}

/** Slots the quorum has in all: the fewest distinct approvers it can be met with. */
export function quorumSize(quorum: ReadonlyMap<string, number>): number {
  return [...quorum.values()].reduce((sum, min) => sum + min, 0);
}

/**
 * What approval still lacks, in words an approver acts on: "1 more from security", and, when
 * minApprovals asks for more people than the quorum, "1 more from any approver".
 */
export function missingApprovals(standings: readonly QuorumStanding[], approvers: number, required: number): string[] {
  const missing = standings
    .filter((standing) => standing.counted.length < standing.min)
    .map((standing) => `${standing.min - standing.counted.length} more from ${standing.group}`);
  const fromGroups = standings.reduce((sum, s) => sum + Math.max(0, s.min - s.counted.length), 0);
  const fromAnyone = required - approvers - fromGroups;
  if (fromAnyone > 0) missing.push(`${fromAnyone} more from any approver`);
  return missing;
}
