// One credential in full: every claim, who issued it (as proven), validity, status (with what
// the last check could not confirm), copies left; present it, or delete it.

import { useEffect, useState } from "preact/hooks";
import { api, type CardDetails } from "../api";
import { formatNumber, t, tn } from "../i18n";
import { formatDate, formatDateTime } from "../i18n/format";
import { navigate } from "../state";
import { useNow } from "../hooks";
import { Screen } from "../components/Screen";
import { ErrorMessage, Notice } from "../components/Messages";
import { IssuerBlock } from "../components/IssuerBlock";
import { ConfirmDialog } from "../components/Dialog";
import { checkedText, statusOf, StatusBadge, validityText } from "../components/Status";
import type { Key } from "../i18n";

export function Details({ id }: { id: string }) {
  const now = useNow();
  const [d, setD] = useState<CardDetails | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);

  useEffect(() => {
    api.details(id).then(setD).catch(setError);
  }, [id]);

  const home = () => navigate({ name: "home" });
  if (!d) {
    return (
      <Screen title={t("details.loadingTitle")} back={home}>
        {error !== null ? <ErrorMessage error={error} /> : <p class="loading">{t("common.loading")}</p>}
      </Screen>
    );
  }

  const remove = async () => {
    setDeleting(true);
    try {
      await api.deleteCard(d.id);
      navigate({ name: "home" }, { key: "details.deleted", params: { title: d.title } });
    } catch (e) {
      setConfirming(false);
      setError(e);
    } finally {
      setDeleting(false);
    }
  };

  const status = statusOf(d.status);
  return (
    <Screen title={d.title} back={home}>
      {error !== null && <ErrorMessage error={error} />}
      <div class="actions actions-top">
        <button
          type="button"
          class="primary big"
          onClick={() => navigate({ name: "present", id: d.id })}
          data-testid="present-button"
        >
          {t("details.present")}
        </button>
      </div>
      <section class="panel" aria-labelledby="status-heading">
        <h2 id="status-heading">{t("details.statusHeading")}</h2>
        <p class="status-line">
          <StatusBadge status={d.status} testid="card-status" />
          <span>{t(`status.explain.${status}` as Key)}</span>
        </p>
        <p class="hint" data-testid="card-checked">
          {checkedText(d.statusCheckedMs, now)}
        </p>
        {d.statusProblems.length > 0 && (
          <details class="disclosure" data-testid="status-problems">
            <summary>{t("details.problemsSummary")}</summary>
            <p class="hint">{t("details.problemsLead")}</p>
            <ul>
              {d.statusProblems.map((p, i) => (
                <li key={i}>
                  <code class="wrap">{p}</code>
                </li>
              ))}
            </ul>
          </details>
        )}
      </section>
      <section class="panel" aria-labelledby="claims-heading">
        <h2 id="claims-heading">{t("details.claimsHeading")}</h2>
        {d.claims.length > 0 ? (
          <dl class="claims" data-testid="claims">
            {d.claims.map((c) => (
              <div key={c.name} data-claim={c.name}>
                <dt>{c.label}</dt>
                <dd>{c.value}</dd>
              </div>
            ))}
          </dl>
        ) : (
          <p>{t("details.noClaims")}</p>
        )}
      </section>
      <IssuerBlock name={d.issuerName} did={d.issuerDid || null} proof={d.issuerProof} />
      <section class="panel" aria-labelledby="validity-heading">
        <h2 id="validity-heading">{t("details.validityHeading")}</h2>
        <dl class="claims">
          <div>
            <dt>{t("details.validFrom")}</dt>
            <dd>{d.validFromMs !== null ? formatDate(d.validFromMs) : t("details.notStated")}</dd>
          </div>
          <div>
            <dt>{t("details.validUntil")}</dt>
            <dd>{d.validUntilMs !== null ? formatDate(d.validUntilMs) : t("details.noEnd")}</dd>
          </div>
          <div>
            <dt>{t("details.received")}</dt>
            <dd>{formatDateTime(d.receivedMs)}</dd>
          </div>
          <div>
            <dt>{t("details.format")}</dt>
            <dd>{d.format === "dc+sd-jwt" ? t("details.formatSdJwt") : t("details.formatDi")}</dd>
          </div>
        </dl>
        <p class="hint">{validityText(d.validFromMs, d.validUntilMs, now)}</p>
      </section>
      {d.copiesLeft !== null && (
        <section class="panel" aria-labelledby="copies-heading">
          <h2 id="copies-heading">{t("details.copiesHeading")}</h2>
          <p data-testid="copies-left">
            {t("details.copiesLeft", {
              left: formatNumber(d.copiesLeft),
              total: formatNumber(d.copiesTotal ?? d.copiesLeft),
            })}
          </p>
          <p class="hint">{t("details.copiesExplain")}</p>
          {d.copiesLeft === 0 && (
            <Notice tone="warn">
              <p>{t("details.copiesNone")}</p>
            </Notice>
          )}
        </section>
      )}
      <section class="panel danger-zone" aria-labelledby="delete-heading">
        <h2 id="delete-heading">{t("details.deleteHeading")}</h2>
        <p class="hint">{t("details.deleteHint")}</p>
        <button type="button" class="danger" onClick={() => setConfirming(true)} data-testid="delete-button">
          {t("details.delete")}
        </button>
      </section>
      <ConfirmDialog
        open={confirming}
        title={t("details.deleteConfirmTitle", { title: d.title })}
        confirmLabel={deleting ? t("details.deleting") : t("details.deleteConfirm")}
        confirmTestid="delete-confirm"
        danger
        busy={deleting}
        onConfirm={() => void remove()}
        onCancel={() => setConfirming(false)}
      >
        <p>{t("details.deleteWarning")}</p>
        {d.copiesLeft !== null && <p>{tn("details.deleteKeys", d.copiesTotal ?? 1)}</p>}
      </ConfirmDialog>
    </Screen>
  );
}
