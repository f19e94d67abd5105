// Messages: errors (announced at once), notices (amber warnings, blue information, green
// confirmations). Each has an icon and words: never colour alone.

import type { ComponentChildren } from "preact";
import { isFailure } from "../api";
import { errorText, t } from "../i18n";
import { Icon, type IconName } from "./Icon";

/** A failure from the wallet (or a check of the form), in the holder's language. */
export function ErrorMessage({ error, extra }: { error: unknown; extra?: string }) {
  const text = typeof error === "string" ? error : errorText(error);
  return (
    <div class="message message-error" role="alert" data-testid="error-message">
      <Icon name="cross" />
      <div>
        <p>{text}</p>
        {extra && <p>{extra}</p>}
        {isFailure(error) && error.message && error.message !== text && (
          <details class="disclosure">
            <summary>{t("common.technicalDetails")}</summary>
            <p>
              <code class="wrap">{error.message}</code>
            </p>
          </details>
        )}
      </div>
    </div>
  );
}

type Tone = "warn" | "info" | "ok";
const icons: Record<Tone, IconName> = { warn: "warn", info: "info", ok: "check" };

export function Notice({
  tone,
  children,
  testid,
}: {
  tone: Tone;
  children: ComponentChildren;
  testid?: string;
}) {
  return (
    <div class={`message message-${tone}`} role="status" data-testid={testid}>
      <Icon name={icons[tone]} />
      <div>{children}</div>
    </div>
  );
}
