// What happened in the wallet, newest first: received, shared (what, with whom), deleted,
// backed up, restored, status changes.

import { useEffect, useState } from "preact/hooks";
import { api, type ActivityEntry } from "../api";
import { hasKey, t } from "../i18n";
import { formatAge, formatDateTime, formatList } from "../i18n/format";
import { navigate } from "../state";
import { useNow } from "../hooks";
import { Screen } from "../components/Screen";
import { ErrorMessage } from "../components/Messages";
import { statusOf, statusWord } from "../components/Status";

function describe(a: ActivityEntry): string {
  const credential = a.credential || t("activity.aCredential");
  switch (a.kind) {
    case "received":
      return t("activity.received", { credential, issuer: a.counterparty });
    case "presented":
      return a.claims.length > 0
        ? t("activity.presented", { claims: formatList(a.claims), credential, audience: a.counterparty })
        : t("activity.presentedNothing", { credential, audience: a.counterparty });
    case "deleted":
      return t("activity.deleted", { credential });
    case "backup":
      return a.claims[0] ? t("activity.backupTo", { path: a.claims[0] }) : t("activity.backup");
    case "restored":
      return t("activity.restored", { count: a.claims[0] ?? "?" });
    case "status":
      return t("activity.status", { credential, status: statusWord(statusOf(a.claims[0] ?? "unknown")) });
    default:
      return t("activity.unknownKind", { kind: String(a.kind), credential });
  }
}

function kindWord(kind: string): string {
  const key = `activity.kind.${kind}`;
  return hasKey(key) ? t(key) : kind;
}

export function Activity() {
  const now = useNow();
  const [entries, setEntries] = useState<ActivityEntry[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api
      .activity()
      .then((list) => setEntries([...list].sort((a, b) => b.atMs - a.atMs)))
      .catch(setError);
  }, []);
  return (
    <Screen title={t("activity.title")} back={() => navigate({ name: "home" })}>
      <p class="lead">{t("activity.lead")}</p>
      {error !== null && <ErrorMessage error={error} />}
      {entries === null ? (
        error === null && <p class="loading">{t("common.loading")}</p>
      ) : entries.length === 0 ? (
        <p data-testid="activity-empty">{t("activity.empty")}</p>
      ) : (
        <ol class="activity" data-testid="activity-list">
          {entries.map((a, i) => (
            <li key={i} class={`activity-${a.kind}`} data-testid="activity-entry" data-kind={a.kind}>
              <span class="activity-kind">{kindWord(a.kind)}</span>
              <span class="activity-text">{describe(a)}</span>
              <time dateTime={new Date(a.atMs).toISOString()} title={formatDateTime(a.atMs)}>
                {formatDateTime(a.atMs)} · {formatAge(a.atMs, now)}
              </time>
            </li>
          ))}
        </ol>
      )}
    </Screen>
  );
}
