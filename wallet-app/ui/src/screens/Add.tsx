// Adding a credential: paste the offer link, or choose (or paste) a picture of its QR code;
// look at the offer; accept it. A link opened from outside arrives here already filled in. A
// business's request (openid4vp://) given here goes to its own screen.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, type OfferPreview as Preview } from "../api";
import { t } from "../i18n";
import { readBytes } from "../files";
import { isRequestLink, navigate } from "../state";
import { Screen } from "../components/Screen";
import { Field } from "../components/Field";
import { ErrorMessage, Notice } from "../components/Messages";
import { NetworkNotice } from "../components/NetworkNotice";
import { OfferPreview } from "../components/OfferPreview";

type Busy = null | "reading" | "inspecting" | "accepting";

export function Add({ link: initial }: { link?: string }) {
  const [link, setLink] = useState(initial ?? "");
  const [busy, setBusy] = useState<Busy>(null);
  const [error, setError] = useState<unknown>(null);
  const [preview, setPreview] = useState<Preview | null>(null);
  /** The preview can no longer be accepted (a failed accept, and the offer cannot be re-read). */
  const [stale, setStale] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);

  const inspect = async (text: string) => {
    const s = text.trim();
    if (!s) {
      setError(t("add.linkMissing"));
      return;
    }
    if (isRequestLink(s)) {
      // A business's request, pasted or scanned here: it has its own screen.
      navigate({ name: "request", link: s, nonce: Date.now() });
      return;
    }
    setBusy("inspecting");
    setError(null);
    try {
      setPreview(await api.inspectOffer(s));
      setStale(false);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  useEffect(() => {
    if (initial) void inspect(initial);
  }, []);

  const readImage = async (file: File) => {
    setBusy("reading");
    setError(null);
    try {
      const text = await api.decodeQr(await readBytes(file));
      setLink(text);
      setBusy(null);
      await inspect(text);
    } catch (e) {
      setError(e);
      setBusy(null);
    }
  };

  const accept = async (txCode: string | null) => {
    if (!preview) return;
    setBusy("accepting");
    setError(null);
    try {
      const card = await api.acceptOffer(preview.previewId, txCode);
      navigate({ name: "details", id: card.id }, { key: "add.received", params: { title: card.title } });
      return;
    } catch (e) {
      setError(e);
      // The wallet forgets a preview once it is used: look at the offer again for another try.
      try {
        setPreview(await api.inspectOffer(link.trim()));
      } catch {
        setStale(true);
      }
    }
    setBusy(null);
  };

  const cancel = () => {
    setPreview(null);
    setError(null);
    setStale(false);
  };

  const onPaste = (e: ClipboardEvent) => {
    const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith("image/"));
    if (file && !preview) {
      e.preventDefault();
      void readImage(file);
    }
  };

  if (preview) {
    return (
      <Screen title={t("offer.title")} back={busy ? undefined : cancel}>
        <div aria-live="polite" class="live">
          {busy === "accepting" && <p class="loading">{t("offer.receiving")}</p>}
        </div>
        <OfferPreview
          key={preview.previewId}
          preview={preview}
          error={error}
          busy={busy !== null}
          canAccept={!stale}
          onAccept={(c) => void accept(c)}
          onCancel={() => (stale ? cancel() : navigate({ name: "home" }))}
        />
      </Screen>
    );
  }

  return (
    <Screen title={t("add.title")} back={() => navigate({ name: "home" })}>
      <div onPaste={onPaste}>
        <p class="lead">{t("add.lead")}</p>
        <NetworkNotice />
        <form
          class="panel"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void inspect(link);
          }}
        >
          <h2>{t("add.linkHeading")}</h2>
          <Field
            label={t("add.linkLabel")}
            hint={t("add.linkHint")}
            value={link}
            onInput={setLink}
            testid="offer-link-input"
            autoFocus
          />
          <div class="actions">
            <button type="submit" class="primary" disabled={busy !== null} data-testid="offer-inspect">
              {t("add.inspect")}
            </button>
          </div>
        </form>
        <section class="panel">
          <h2>{t("add.qrHeading")}</h2>
          <p class="hint" id="qr-hint">
            {t("add.qrHint")}
          </p>
          <label class="file-button">
            <input
              ref={fileRef}
              type="file"
              accept="image/png,image/jpeg"
              aria-describedby="qr-hint"
              disabled={busy !== null}
              data-testid="qr-file"
              onChange={(e) => {
                const f = e.currentTarget.files?.[0];
                if (f) void readImage(f);
                e.currentTarget.value = "";
              }}
            />
            <span>{t("add.qrChoose")}</span>
          </label>
        </section>
        <div aria-live="polite" class="live">
          {busy === "reading" && <Notice tone="info"><p>{t("add.reading")}</p></Notice>}
          {busy === "inspecting" && <Notice tone="info"><p>{t("add.inspecting")}</p></Notice>}
        </div>
        {error !== null && <ErrorMessage error={error} />}
      </div>
    </Screen>
  );
}
