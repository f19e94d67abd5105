// The frame of every screen: an optional way back, the one h1 (focused when the screen or
// its step changes, so a screen reader starts there), and a confirmation carried over from
// the previous screen.

import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { t } from "../i18n";
import { useStore } from "../state";
import { Icon } from "./Icon";
import { Notice } from "./Messages";

export function Screen({
  title,
  back,
  focusHeading = true,
  narrow = false,
  children,
}: {
  title: string;
  back?: () => void;
  focusHeading?: boolean;
  narrow?: boolean;
  children: ComponentChildren;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  const { flash } = useStore();
  useEffect(() => {
    // A field that took the focus itself (the one to type in first) keeps it.
    const main = heading.current?.closest("main");
    const active = document.activeElement;
    if (focusHeading && !(active && active !== document.body && main?.contains(active))) {
      heading.current?.focus();
    }
  }, [title]);
  return (
    <main id="main" class={narrow ? "screen screen-narrow" : "screen"}>
      {back && (
        <button type="button" class="back" onClick={back} data-testid="back-button">
          <Icon name="back" />
          {t("common.back")}
        </button>
      )}
      <h1 tabIndex={-1} ref={heading}>
        {title}
      </h1>
      {flash && <Notice tone="ok">{t(flash.key, flash.params)}</Notice>}
      {children}
    </main>
  );
}
