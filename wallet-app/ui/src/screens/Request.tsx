// A business asks for information: who asks (its identifier proven by the Alliance registry,
// and whether the registry allows it to ask for this), why, and exactly what each credential
// would share. Anything it asks beyond what it is registered for is said in amber, in words.
// The holder picks among credentials that answer, then shares or declines; nothing is sent
// before "Share".

import { useEffect, useState } from "preact/hooks";
import { api, type Answer, type BusinessRequest, type Overreach, type RequestOption } from "../api";
import { formatNumber, t } from "../i18n";
import { formatList } from "../i18n/format";
import { navigate } from "../state";
import { Screen } from "../components/Screen";
import { ErrorMessage, Notice } from "../components/Messages";
import { Icon } from "../components/Icon";
import { Identifier } from "../components/Identifier";

/** A warning in the holder's language. */
export function warningText(w: Overreach): string {
  switch (w.kind) {
    case "not_registered":
      return t("request.warn.notRegistered");
    case "withdrawn":
      return t("request.warn.withdrawn", { authority: w.authority, reason: w.reason });
    case "out_of_term":
      return t("request.warn.outOfTerm");
    case "type_not_covered":
      return t("request.warn.typeNotCovered", { credential: w.credentialType });
    case "claims_not_covered":
      return t("request.warn.claimsNotCovered", { credential: w.credentialType, claims: formatList(w.claims) });
    case "whole":
      return t("request.warn.whole", { credential: w.credentialType, allowed: formatList(w.allowed) });
  }
}

function Warnings({ list, testid }: { list: Overreach[]; testid: string }) {
  if (list.length === 0) return null;
  return (
    <Notice tone="warn" testid={testid}>
      {list.map((w, i) => (
        <p key={i}>{warningText(w)}</p>
      ))}
    </Notice>
  );
}

function scopesText(scopes: [string, string[]][]): string {
  return formatList(
    scopes.map(([type, claims]) =>
      claims.includes("*") ? type : t("request.scope", { type, claims: formatList(claims) }),
    ),
  );
}

function Option({ o, name, picked, onPick, several }: {
  o: RequestOption;
  name: string;
  picked: boolean;
  onPick: () => void;
  several: boolean;
}) {
  return (
    <li class="request-option" data-testid="request-option" data-card-id={o.cardId}>
      <label class="option-head">
        {several && <input type="radio" name={name} checked={picked} onChange={onPick} />}
        <span>
          <strong>{o.title}</strong> <span class="hint">{t("request.from", { issuer: o.issuerName })}</span>
        </span>
      </label>
      {o.whole && <p class="hint" data-testid="request-whole">{t("request.whole")}</p>}
      {o.shares.length > 0 ? (
        <ul class="shares" data-testid="request-shares">
          {o.shares.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </ul>
      ) : (
        <p class="hint">{t("request.nothingSelective")}</p>
      )}
      <Warnings list={o.warnings} testid="option-warning" />
    </li>
  );
}

export function Request({ link }: { link: string }) {
  const [view, setView] = useState<BusinessRequest | null>(null);
  const [picks, setPicks] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<null | "reading" | "sharing">("reading");
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState<Answer | null>(null);

  useEffect(() => {
    api
      .inspectRequest(link)
      .then((v) => {
        setView(v);
        const first: Record<string, string> = {};
        for (const q of v.queries) if (q.options[0]) first[q.id] = q.options[0].cardId;
        setPicks(first);
      })
      .catch(setError)
      .finally(() => setBusy(null));
  }, []);

  const home = () => navigate({ name: "home" });
  const share = async () => {
    if (!view) return;
    setBusy("sharing");
    setError(null);
    try {
      setSent(await api.shareRequest(view.requestId, picks));
    } catch (e) {
      setError(e);
    }
    setBusy(null);
  };
  const decline = () => {
    if (view) void api.declineRequest(view.requestId).catch(() => undefined);
    navigate({ name: "home" }, { key: "request.declined" });
  };

  if (sent) {
    return (
      <Screen title={t("request.sentTitle")}>
        <Notice tone="ok" testid="request-sent">
          <p>{t("request.sent")}</p>
        </Notice>
        <section class="panel">
          <h2>{t("request.sharedHeading")}</h2>
          {sent.shared.map((s) => (
            <p key={s.title}>
              <strong>{s.title}</strong>: {s.claims.length > 0 ? formatList(s.claims) : t("request.nothingSelective")}
            </p>
          ))}
        </section>
        <div class="actions">
          <button type="button" class="primary" onClick={home} data-testid="request-done">
            {t("request.done")}
          </button>
        </div>
      </Screen>
    );
  }

  const noAnswer = !!view && view.unmet.length > 0;
  // Said at the top too: what the picked credentials would share beyond the registration.
  const beyond = view
    ? view.queries.flatMap((q) => q.options.filter((o) => o.cardId === picks[q.id]).flatMap((o) => o.warnings))
    : [];
  return (
    <Screen title={t("request.title")} back={busy ? undefined : view ? decline : home}>
      <div aria-live="polite" class="live">
        {busy === "reading" && <Notice tone="info"><p>{t("request.reading")}</p></Notice>}
        {busy === "sharing" && <Notice tone="info"><p>{t("request.sharing")}</p></Notice>}
      </div>
      {view && (
        <div data-testid="request-screen">
          <section class="panel" aria-labelledby="who-heading">
            <h2 id="who-heading">{t("request.whoHeading")}</h2>
            {view.name && (
              <p data-testid="requester-name">
                <span class="issuer-name">{view.name}</span>{" "}
                <span class="hint">{t("request.nameGiven")}</span>
              </p>
            )}
            <Identifier value={view.clientDid} label={t("request.didLabel")} />
            <ul class="checks">
              <li class="check check-ok" data-testid="requester-registered">
                <Icon name="check" />
                <span>{t("issuer.registeredAt", { height: formatNumber(view.height) })}</span>
              </li>
              {view.registration && view.warnings.length === 0 && (
                <li class="check check-ok" data-testid="requester-rp">
                  <Icon name="check" />
                  <span>
                    {t("request.registeredFor", {
                      authority: view.registration.authority,
                      scopes: scopesText(view.registration.scopes),
                    })}
                  </span>
                </li>
              )}
            </ul>
            <Warnings list={[...view.warnings, ...beyond]} testid="requester-warning" />
          </section>
          <section class="panel" aria-labelledby="why-heading">
            <h2 id="why-heading">{t("request.whyHeading")}</h2>
            <p data-testid="request-purpose">
              {view.purpose ? t("request.purpose", { text: view.purpose }) : t("request.noPurpose")}
            </p>
          </section>
          {noAnswer ? (
            <Notice tone="warn" testid="request-unmet">
              <p>{t("request.unmet")}</p>
              <ul>
                {view.unmet.map((u) => (
                  <li key={u}>{u}</li>
                ))}
              </ul>
            </Notice>
          ) : (
            view.queries.map((q) => (
              <section class="panel" key={q.id} aria-label={t("request.whatHeading")}>
                <h2>{t("request.whatHeading")}</h2>
                {q.options.length > 1 && <p class="hint">{t("request.choose")}</p>}
                <ul class="request-options">
                  {q.options.map((o) => (
                    <Option
                      key={o.cardId}
                      o={o}
                      name={`q-${q.id}`}
                      picked={picks[q.id] === o.cardId}
                      several={q.options.length > 1}
                      onPick={() => setPicks({ ...picks, [q.id]: o.cardId })}
                    />
                  ))}
                </ul>
              </section>
            ))
          )}
        </div>
      )}
      {error !== null && <ErrorMessage error={error} />}
      <div class="actions">
        {view && !noAnswer && (
          <button type="button" class="primary" disabled={busy !== null} onClick={() => void share()} data-testid="request-share">
            {t("request.share")}
          </button>
        )}
        <button type="button" disabled={busy === "sharing"} onClick={view ? decline : home} data-testid="request-decline">
          {view ? t("request.decline") : t("request.back")}
        </button>
      </div>
    </Screen>
  );
}
