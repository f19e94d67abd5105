// Presenting a credential offline: choose what to share (SD-JWT: claim by claim; Data
// Integrity: all of it), enter the business's code, check exactly what goes to whom, then
// show the animated QR code or save the file.

import { useEffect, useState } from "preact/hooks";
import { api, type CardDetails, type Claim, type Presentation } from "../api";
import { t, tn } from "../i18n";
import { navigate } from "../state";
import { Screen } from "../components/Screen";
import { ErrorMessage, Notice } from "../components/Messages";
import { PresentForm } from "../components/PresentForm";
import { PresentResult } from "../components/PresentResult";

/** A claim the holder may leave out: one top-level name, covering its nested claims. */
export interface Choice {
  name: string;
  label: string;
  values: Claim[];
}

/** "home_address" → "Home address": a name with no label from the issuer, made readable. */
function humanize(name: string): string {
  const words = name.replace(/[_-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The selective claims grouped by their top-level name (what the wallet discloses). */
export function choicesOf(claims: Claim[]): Choice[] {
  const out = new Map<string, Choice>();
  for (const c of claims.filter((c) => c.selective)) {
    const top = c.name.split(".")[0];
    const ch = out.get(top) ?? { name: top, label: top === c.name ? c.label : humanize(top), values: [] };
    if (top === c.name) ch.label = c.label;
    ch.values.push(c);
    out.set(top, ch);
  }
  return [...out.values()];
}

type Step = "choose" | "confirm" | "done";

export function Present({ id }: { id: string }) {
  const [d, setD] = useState<CardDetails | null>(null);
  const [step, setStep] = useState<Step>("choose");
  const [reveal, setReveal] = useState<string[]>([]);
  const [challenge, setChallenge] = useState("");
  const [audience, setAudience] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Presentation | null>(null);

  useEffect(() => {
    api.details(id).then(setD).catch(setError);
  }, [id]);

  const back = () => navigate({ name: "details", id });
  if (!d) {
    return (
      <Screen title={t("present.title")} back={back}>
        {error !== null ? <ErrorMessage error={error} /> : <p class="loading">{t("common.loading")}</p>}
      </Screen>
    );
  }

  const sdJwt = d.format === "dc+sd-jwt";
  const choices = sdJwt ? choicesOf(d.claims) : [];
  const always = sdJwt ? d.claims.filter((c) => !c.selective) : d.claims;
  const shared = [
    ...choices.filter((c) => reveal.includes(c.name)).map((c) => c.label),
    ...always.map((c) => c.label),
  ];

  const share = async () => {
    setBusy(true);
    setError(null);
    try {
      setResult(await api.present(d.id, sdJwt ? reveal : [], challenge.trim(), audience.trim()));
      setStep("done");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  if (step === "done" && result) {
    return (
      <Screen title={t("present.doneTitle")}>
        <PresentResult result={result} audience={audience.trim()} />
        <div class="actions">
          <button type="button" class="primary" onClick={back} data-testid="present-done">
            {t("present.done")}
          </button>
        </div>
      </Screen>
    );
  }

  if (step === "confirm") {
    return (
      <Screen title={t("present.confirmTitle")} back={() => setStep("choose")}>
        <div
          onKeyDown={(e) => {
            if (e.key === "Escape" && !busy) setStep("choose");
          }}
        >
          <section class="panel" data-testid="present-summary">
            <p class="lead">{t("present.confirmLead", { audience: audience.trim(), title: d.title })}</p>
            {shared.length > 0 ? (
              <ul class="tags">
                {shared.map((l) => (
                  <li key={l}>{l}</li>
                ))}
              </ul>
            ) : (
              <p>{t("present.nothingSelected")}</p>
            )}
            <p class="hint">{t("present.alsoShared", { issuer: d.issuerName })}</p>
            {!sdJwt && <p class="hint">{t("present.wholeNotice")}</p>}
            {sdJwt && d.copiesLeft !== null && d.copiesLeft > 0 && (
              <p class="hint">{tn("present.usesCopy", d.copiesLeft)}</p>
            )}
            {sdJwt && d.copiesLeft === 0 && (
              <Notice tone="warn">
                <p>{t("present.noCopiesLeft")}</p>
              </Notice>
            )}
            <p class="hint">
              {t("present.codeShown", { challenge: challenge.trim() })}
            </p>
          </section>
          {error !== null && <ErrorMessage error={error} />}
          <div aria-live="polite" class="live">
            {busy && <p class="loading">{t("present.working")}</p>}
          </div>
          <div class="actions">
            <button
              type="button"
              class="primary big"
              onClick={() => void share()}
              disabled={busy}
              data-testid="present-confirm"
            >
              {t("present.shareNow")}
            </button>
            <button type="button" onClick={() => setStep("choose")} disabled={busy} data-testid="present-back">
              {t("present.change")}
            </button>
          </div>
        </div>
      </Screen>
    );
  }

  return (
    <Screen title={t("present.titleOf", { title: d.title })} back={back}>
      <PresentForm
        details={d}
        choices={choices}
        always={always}
        reveal={reveal}
        setReveal={setReveal}
        challenge={challenge}
        setChallenge={setChallenge}
        audience={audience}
        setAudience={setAudience}
        onNext={() => {
          setError(null);
          setStep("confirm");
        }}
      />
      {error !== null && <ErrorMessage error={error} />}
    </Screen>
  );
}
