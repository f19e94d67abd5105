// Who issues a credential, as the registry proved it: the name, the identifier, "proven by
// the Alliance registry at height H", the accreditation, and whether the web address is the
// one the registry lists. What is not proven is shown in amber, with words.

import type { IssuerProof } from "../api";
import { shorten } from "../files";
import { formatNumber, t } from "../i18n";
import { formatList } from "../i18n/format";
import { Icon } from "./Icon";
import { Identifier } from "./Identifier";

function Check({ ok, text, testid }: { ok: boolean; text: string; testid: string }) {
  return (
    <li class={ok ? "check check-ok" : "check check-warn"} data-testid={testid} data-ok={ok}>
      <Icon name={ok ? "check" : "warn"} />
      <span>{text}</span>
    </li>
  );
}

export function IssuerBlock({
  name,
  did,
  url,
  proof,
  credentialType,
  accreditedForThis,
}: {
  name: string;
  did: string | null;
  url?: string;
  proof: IssuerProof;
  /** The offered type (preview): the accreditation is checked for it. */
  credentialType?: string;
  accreditedForThis?: boolean;
}) {
  const authority = proof.accreditedBy ? shorten(proof.accreditedBy) : t("issuer.unknownAuthority");
  let accreditation;
  if (credentialType !== undefined) {
    accreditation = accreditedForThis ? (
      <Check ok text={t("issuer.accreditedFor", { type: credentialType, authority })} testid="issuer-accredited" />
    ) : (
      <Check
        ok={false}
        text={
          proof.accreditedFor.length > 0
            ? t("issuer.notAccreditedForThis", { type: credentialType })
            : t("issuer.notAccredited")
        }
        testid="issuer-accredited"
      />
    );
  } else {
    accreditation =
      proof.accreditedFor.length > 0 ? (
        <Check
          ok
          text={t("issuer.accreditedForList", { types: formatList(proof.accreditedFor), authority })}
          testid="issuer-accredited"
        />
      ) : (
        <Check ok={false} text={t("issuer.notAccredited")} testid="issuer-accredited" />
      );
  }
  return (
    <section class="panel issuer" aria-labelledby="issuer-heading" data-testid="issuer-block">
      <h2 id="issuer-heading">{t("issuer.heading")}</h2>
      <p class="issuer-name" data-testid="issuer-name">
        {name}
      </p>
      {did && <Identifier value={did} />}
      <ul class="checks">
        {proof.registered ? (
          <Check
            ok
            text={
              proof.height !== null
                ? t("issuer.registeredAt", { height: formatNumber(proof.height) })
                : t("issuer.registered")
            }
            testid="issuer-registered"
          />
        ) : (
          <Check ok={false} text={t("issuer.notRegistered")} testid="issuer-registered" />
        )}
        {accreditation}
        {url !== undefined ? (
          <Check
            ok={proof.urlBound}
            text={proof.urlBound ? t("issuer.urlBound", { url }) : t("issuer.urlNotBound", { url })}
            testid="issuer-url"
          />
        ) : (
          <Check
            ok={proof.urlBound}
            text={proof.urlBound ? t("issuer.urlBoundShort") : t("issuer.urlNotBoundShort")}
            testid="issuer-url"
          />
        )}
      </ul>
      <p class="hint">{t("issuer.registryExplained")}</p>
      {!(proof.registered && proof.urlBound) && (
        <p class="hint warn-text">{url !== undefined ? t("issuer.caution") : t("issuer.cautionHeld")}</p>
      )}
    </section>
  );
}
