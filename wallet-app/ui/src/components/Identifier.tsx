// A long registry identifier (a DID), shortened with a "show full" toggle and explained.

import { useState } from "preact/hooks";
import { t } from "../i18n";
import { shorten } from "../files";

export function Identifier({ value, label }: { value: string; label?: string }) {
  const [full, setFull] = useState(false);
  const short = shorten(value);
  return (
    <div class="identifier">
      <p>
        <span class="label">{label ?? t("issuer.didLabel")}</span>{" "}
        <code class="did" data-testid="issuer-did">
          {full ? value : short}
        </code>{" "}
        {short !== value && (
          <button
            type="button"
            class="link"
            aria-expanded={full}
            onClick={() => setFull(!full)}
            data-testid="did-toggle"
          >
            {full ? t("issuer.didHide") : t("issuer.didShow")}
          </button>
        )}
      </p>
      <p class="hint">{t("issuer.didExplained")}</p>
    </div>
  );
}
