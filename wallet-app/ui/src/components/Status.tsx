// A credential's status as a badge (icon + word + colour), and the phrases around it:
// how old the last check is, and the validity dates.

import type { StatusState } from "../api";
import { t, type Key } from "../i18n";
import { formatAge, formatDate } from "../i18n/format";
import { Icon, type IconName } from "./Icon";

const icon: Record<StatusState, IconName> = {
  valid: "check",
  expiring: "clock",
  expired: "cross",
  suspended: "pause",
  revoked: "cross",
  unknown: "question",
};

const STATES: StatusState[] = ["valid", "expiring", "expired", "suspended", "revoked", "unknown"];

/** A status from the wallet, with anything unexpected read as "unknown". */
export function statusOf(s: string): StatusState {
  return (STATES as string[]).includes(s) ? (s as StatusState) : "unknown";
}

export function statusWord(s: StatusState): string {
  return t(`status.${s}` as Key);
}

export function StatusBadge({ status, testid }: { status: string; testid?: string }) {
  const s = statusOf(status);
  return (
    <span class={`badge badge-${s}`} data-testid={testid} data-status={s}>
      <Icon name={icon[s]} />
      {statusWord(s)}
    </span>
  );
}

/** "Status checked 3 hours ago" / "Status never checked". */
export function checkedText(checkedMs: number | null, now: number): string {
  return checkedMs === null
    ? t("status.neverChecked")
    : t("status.checkedAgo", { age: formatAge(checkedMs, now) });
}

/** One line on the validity dates. */
export function validityText(from: number | null, until: number | null, now: number): string {
  if (until !== null && until <= now) return t("validity.expiredOn", { date: formatDate(until) });
  if (from !== null && from > now) return t("validity.notYet", { date: formatDate(from) });
  if (until !== null) return t("validity.until", { date: formatDate(until) });
  return t("validity.noEnd");
}
