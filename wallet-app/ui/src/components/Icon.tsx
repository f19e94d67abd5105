// Small line icons drawn as SVG elements (no icon font, no emoji: they look the same on
// every desktop). Always decorative: the text next to them says the same.

const paths: Record<IconName, string> = {
  check: "M5 12.5l4.5 4.5L19 7.5",
  warn: "M12 3.5l9.5 17h-19zM12 10v4.5M12 17.5v.5",
  cross: "M6 6l12 12M18 6L6 18",
  pause: "M8 5v14M16 5v14",
  clock: "M12 3a9 9 0 1 0 .01 0zM12 7v5l3.5 2",
  question: "M12 3a9 9 0 1 0 .01 0zM9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 .9-1 1.6v.6M12 17v.5",
  lock: "M6 11h12v9H6zM8.5 11V8a3.5 3.5 0 0 1 7 0v3",
  plus: "M12 5v14M5 12h14",
  refresh: "M19 12a7 7 0 1 1-2.05-4.95M19 4v4h-4",
  back: "M15 5l-7 7 7 7",
  info: "M12 3a9 9 0 1 0 .01 0zM12 11v6M12 7.5v.5",
};

export type IconName =
  | "check"
  | "warn"
  | "cross"
  | "pause"
  | "clock"
  | "question"
  | "lock"
  | "plus"
  | "refresh"
  | "back"
  | "info";

export function Icon({ name }: { name: IconName }) {
  return (
    <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path d={paths[name]} />
    </svg>
  );
}
