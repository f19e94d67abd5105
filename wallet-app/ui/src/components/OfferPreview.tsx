// What the holder is shown before accepting an offer: who issues it (as the registry proved
// it), what the credential will contain, how many copies, and the agency's PIN if it asks.

import { useState } from "preact/hooks";
import type { OfferPreview as Preview } from "../api";
import { t, tn } from "../i18n";
import { Field } from "./Field";
import { ErrorMessage } from "./Messages";
import { IssuerBlock } from "./IssuerBlock";

export function OfferPreview({
  preview,
  error,
  busy,
  canAccept,
  onAccept,
  onCancel,
}: {
  preview: Preview;
  /** Why the last accept failed (shown next to the button). */
  error: unknown;
  busy: boolean;
  canAccept: boolean;
  onAccept: (txCode: string | null) => void;
  onCancel: () => void;
}) {
  const [code, setCode] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const tx = preview.txCode;

  const submit = (e: Event) => {
    e.preventDefault();
    if (busy || !canAccept) return;
    if (tx) {
      const c = code.trim();
      if (c.length === 0) return setProblem(t("offer.txCodeMissing"));
      if (tx.numeric && !/^[0-9]+$/.test(c)) return setProblem(t("offer.txCodeDigits"));
      if (tx.length !== null && c.length !== tx.length) {
        return setProblem(t("offer.txCodeLength", { length: tx.length }));
      }
      setProblem(null);
      onAccept(c);
    } else {
      onAccept(null);
    }
  };

  const sdJwt = preview.format === "dc+sd-jwt";
  return (
    <form onSubmit={submit} noValidate onKeyDown={(e) => e.key === "Escape" && !busy && onCancel()}>
      <p class="lead" data-testid="offer-summary">
        {t("offer.lead", { issuer: preview.issuerName, title: preview.credentialTitle })}
      </p>
      <IssuerBlock
        name={preview.issuerName}
        did={preview.issuerDid}
        url={preview.issuerUrl}
        proof={preview.issuerProof}
        credentialType={preview.credentialType}
        accreditedForThis={preview.accreditedForThis}
      />
      <section class="panel" aria-labelledby="what-heading">
        <h2 id="what-heading">{t("offer.whatHeading")}</h2>
        {preview.claimLabels.length > 0 ? (
          <>
            <p>{t("offer.whatLead")}</p>
            <ul class="tags" data-testid="offer-claims">
              {preview.claimLabels.map((l) => (
                <li key={l}>{l}</li>
              ))}
            </ul>
          </>
        ) : (
          <p>{t("offer.noLabels")}</p>
        )}
        <p data-testid="offer-copies">
          {sdJwt && preview.copies > 1
            ? tn("offer.copies", preview.copies)
            : sdJwt
              ? t("offer.oneCopySdJwt")
              : t("offer.oneCopyDi")}
        </p>
      </section>
      {tx && (
        <section class="panel" aria-labelledby="tx-heading">
          <h2 id="tx-heading">{t("offer.txCodeHeading")}</h2>
          <Field
            label={t("offer.txCodeLabel")}
            hint={
              tx.length !== null
                ? tx.numeric
                  ? t("offer.txCodeHintDigits", { length: tx.length })
                  : t("offer.txCodeHintChars", { length: tx.length })
                : t("offer.txCodeHint")
            }
            value={code}
            onInput={setCode}
            testid="tx-code-input"
            inputMode={tx.numeric ? "numeric" : "text"}
            maxLength={tx.length ?? undefined}
            autoComplete="one-time-code"
            problem={problem}
            autoFocus={error !== null}
          />
          {tx.description && (
            <p class="quote">{t("offer.agencySays", { text: tx.description })}</p>
          )}
        </section>
      )}
      {error !== null && <ErrorMessage error={error} />}
      <div class="actions">
        {canAccept && (
          <button type="submit" class="primary big" disabled={busy} data-testid="offer-accept">
            {busy ? t("offer.accepting") : t("offer.accept")}
          </button>
        )}
        <button type="button" onClick={onCancel} disabled={busy} data-testid="offer-cancel">
          {canAccept ? t("common.cancel") : t("offer.startAgain")}
        </button>
      </div>
    </form>
  );
}
