// The animated QR sequence of a presentation: each frame an SVG image (a data: URL, as the
// CSP allows), shown in turn every 250 ms for the business's camera; pause, step, size.

import { useEffect, useMemo, useState } from "preact/hooks";
import { svgDataUrl } from "../files";
import { formatNumber, t } from "../i18n";

const FRAME_MS = 250;
type Size = "small" | "medium" | "large";

export function QrPlayer({ frames }: { frames: string[] }) {
  const urls = useMemo(() => frames.map(svgDataUrl), [frames]);
  const [index, setIndex] = useState(0);
  const [paused, setPaused] = useState(false);
  const [size, setSize] = useState<Size>("medium");
  const total = urls.length;
  useEffect(() => {
    if (paused || total < 2) return;
    const h = setInterval(() => setIndex((i) => (i + 1) % total), FRAME_MS);
    return () => clearInterval(h);
  }, [paused, total]);
  if (total === 0) return null;
  const n = Math.min(index, total - 1);
  const step = (d: number) => setIndex((i) => (i + d + total) % total);
  return (
    <section class="qr" aria-labelledby="qr-heading">
      <h2 id="qr-heading">{t("qr.heading")}</h2>
      <p class="hint">{total > 1 ? t("qr.explainMany") : t("qr.explainOne")}</p>
      <div class={`qr-frame qr-${size}`}>
        <img
          src={urls[n]}
          alt={t("qr.alt", { n: formatNumber(n + 1), total: formatNumber(total) })}
          data-testid="qr-frame"
          data-frame={n + 1}
        />
      </div>
      <p class="qr-counter" data-testid="frame-counter">
        {t("qr.counter", { n: formatNumber(n + 1), total: formatNumber(total) })}
      </p>
      <div class="qr-controls">
        {total > 1 && (
          <button
            type="button"
            onClick={() => setPaused(!paused)}
            aria-pressed={paused}
            data-testid="qr-pause"
          >
            {paused ? t("qr.play") : t("qr.pause")}
          </button>
        )}
        {total > 1 && paused && (
          <>
            <button type="button" onClick={() => step(-1)} data-testid="qr-prev">
              {t("qr.prev")}
            </button>
            <button type="button" onClick={() => step(1)} data-testid="qr-next">
              {t("qr.next")}
            </button>
          </>
        )}
        <label class="inline-label">
          {t("qr.size")}
          <select
            value={size}
            onChange={(e) => setSize(e.currentTarget.value as Size)}
            data-testid="qr-size"
          >
            <option value="small">{t("qr.sizeSmall")}</option>
            <option value="medium">{t("qr.sizeMedium")}</option>
            <option value="large">{t("qr.sizeLarge")}</option>
          </select>
        </label>
      </div>
    </section>
  );
}
