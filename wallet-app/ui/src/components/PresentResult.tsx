// A presentation made: the animated QR code for the business's camera, what was shared,
// how fresh the stapled proofs are, and saving it as a file.

import { useState } from "preact/hooks";
import { api, type Presentation } from "../api";
import { t } from "../i18n";
import { formatAge, formatBytes, formatList } from "../i18n/format";
import { useNow } from "../hooks";
import { QrPlayer } from "./QrPlayer";
import { ErrorMessage, Notice } from "./Messages";

export function PresentResult({ result, audience }: { result: Presentation; audience: string }) {
  const now = useNow();
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);

  const save = async () => {
    setSaving(true);
    setError(null);
    try {
      setSaved(await api.savePresentation(result.presentationId));
    } catch (e) {
      setError(e);
    } finally {
      setSaving(false);
    }
  };

  return (
    <>
      <Notice tone="ok" testid="present-ready">
        <p>
          {result.disclosed.length > 0
            ? t("present.sharedWith", { claims: formatList(result.disclosed), audience })
            : t("present.sharedNothing", { audience })}
        </p>
      </Notice>
      <QrPlayer frames={result.frames} />
      <section class="panel" aria-labelledby="file-heading">
        <h2 id="file-heading">{t("present.fileHeading")}</h2>
        <p class="hint">{t("present.fileHint", { size: formatBytes(result.sizeBytes) })}</p>
        <p class="hint" data-testid="stapled-age">
          {result.stapledMs !== null
            ? t("present.proofsFetched", { age: formatAge(result.stapledMs, now) })
            : t("present.proofsNever")}
        </p>
        <button type="button" onClick={() => void save()} disabled={saving} data-testid="save-presentation">
          {t("present.save")}
        </button>
        <div aria-live="polite" class="live">
          {saved !== null && (
            <p class="saved">
              {t("present.savedTo")} <code class="wrap" data-testid="saved-path">{saved}</code>
            </p>
          )}
        </div>
        {error !== null && <ErrorMessage error={error} />}
      </section>
    </>
  );
}
