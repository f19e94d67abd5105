// The first step of presenting: what to share, and the business's code and name.

import { useState } from "preact/hooks";
import { api, type CardDetails, type Claim } from "../api";
import { t } from "../i18n";
import { readBytes } from "../files";
import type { Choice } from "../screens/Present";
import { Field } from "./Field";
import { ErrorMessage, Notice } from "./Messages";

/** Reads a business's request from the text of its QR code: JSON with the code and the
 * name, or just the code. */
function parseRequest(text: string): { challenge: string; audience: string | null } {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    if (v && typeof v === "object") {
      const pick = (...ks: string[]) => ks.map((k) => v[k]).find((x) => typeof x === "string") as string | undefined;
      const challenge = pick("challenge", "nonce");
      if (challenge) return { challenge, audience: pick("domain", "audience", "aud", "client_id") ?? null };
    }
  } catch {
    // not JSON: the text is the code
  }
  return { challenge: text.trim(), audience: null };
}

export function PresentForm(props: {
  details: CardDetails;
  choices: Choice[];
  always: Claim[];
  reveal: string[];
  setReveal: (r: string[]) => void;
  challenge: string;
  setChallenge: (v: string) => void;
  audience: string;
  setAudience: (v: string) => void;
  onNext: () => void;
}) {
  const { details: d, choices, always, reveal, setReveal } = props;
  const sdJwt = d.format === "dc+sd-jwt";
  const [problems, setProblems] = useState<{ challenge?: string; audience?: string }>({});
  const [qrError, setQrError] = useState<unknown>(null);

  const toggle = (name: string, on: boolean) =>
    setReveal(on ? [...reveal.filter((r) => r !== name), name] : reveal.filter((r) => r !== name));

  const submit = (e: Event) => {
    e.preventDefault();
    const p: typeof problems = {};
    if (!props.challenge.trim()) p.challenge = t(sdJwt ? "present.nonceMissing" : "present.challengeMissing");
    if (!props.audience.trim()) p.audience = t(sdJwt ? "present.audienceMissing" : "present.domainMissing");
    setProblems(p);
    if (!p.challenge && !p.audience) props.onNext();
  };

  const readQr = async (file: File) => {
    setQrError(null);
    try {
      const r = parseRequest(await api.decodeQr(await readBytes(file)));
      props.setChallenge(r.challenge);
      if (r.audience) props.setAudience(r.audience);
    } catch (e) {
      setQrError(e);
    }
  };

  return (
    <form onSubmit={submit} noValidate>
      <section class="panel" aria-labelledby="share-heading">
        <h2 id="share-heading">{t("present.whatHeading")}</h2>
        {sdJwt ? (
          <>
            <p class="hint">{t("present.chooseHint")}</p>
            {choices.length > 0 ? (
              <fieldset class="choices">
                <legend>{t("present.chooseLegend")}</legend>
                {choices.map((c) => (
                  <label class="choice" key={c.name}>
                    <input
                      type="checkbox"
                      checked={reveal.includes(c.name)}
                      onChange={(e) => toggle(c.name, e.currentTarget.checked)}
                      data-testid={`reveal-${c.name}`}
                    />
                    <span class="choice-text">
                      <span class="choice-label">{c.label}</span>
                      <span class="choice-value">
                        {c.values.map((v) => (c.values.length > 1 ? `${v.label}: ${v.value}` : v.value)).join(" · ")}
                      </span>
                    </span>
                  </label>
                ))}
              </fieldset>
            ) : (
              <p>{t("present.noChoices")}</p>
            )}
            {always.length > 0 && (
              <div class="always">
                <h3>{t("present.alwaysHeading")}</h3>
                <ul class="tags">
                  {always.map((c) => (
                    <li key={c.name}>{c.label}</li>
                  ))}
                </ul>
              </div>
            )}
          </>
        ) : (
          <Notice tone="info" testid="whole-notice">
            <p>{t("present.wholeNotice")}</p>
            <ul class="tags">
              {always.map((c) => (
                <li key={c.name}>{c.label}</li>
              ))}
            </ul>
          </Notice>
        )}
      </section>
      <section class="panel" aria-labelledby="business-heading">
        <h2 id="business-heading">{t("present.businessHeading")}</h2>
        <p class="hint">{t("present.businessLead")}</p>
        <Field
          label={sdJwt ? t("present.nonceLabel") : t("present.challengeLabel")}
          hint={t("present.challengeHint")}
          value={props.challenge}
          onInput={props.setChallenge}
          testid="challenge-input"
          problem={problems.challenge}
        />
        <Field
          label={sdJwt ? t("present.audienceLabel") : t("present.domainLabel")}
          hint={t("present.audienceHint")}
          value={props.audience}
          onInput={props.setAudience}
          testid="audience-input"
          problem={problems.audience}
        />
        <label class="file-button">
          <input
            type="file"
            accept="image/png,image/jpeg"
            data-testid="challenge-qr-file"
            onChange={(e) => {
              const f = e.currentTarget.files?.[0];
              if (f) void readQr(f);
              e.currentTarget.value = "";
            }}
          />
          <span>{t("present.readQr")}</span>
        </label>
        {qrError !== null && <ErrorMessage error={qrError} />}
      </section>
      <div class="actions">
        <button type="submit" class="primary big" data-testid="present-next">
          {t("present.next")}
        </button>
      </div>
    </form>
  );
}
