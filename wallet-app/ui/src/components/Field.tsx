// A labelled text field with its explanation (tied with aria-describedby) and, when the
// form finds a problem with it, the problem in words.

import { useEffect, useId, useRef } from "preact/hooks";

export function Field({
  label,
  hint,
  value,
  onInput,
  testid,
  type = "text",
  problem,
  autoFocus,
  inputMode,
  maxLength,
  autoComplete = "off",
  multiline = false,
}: {
  label: string;
  hint?: string;
  value: string;
  onInput: (v: string) => void;
  testid: string;
  type?: "text" | "password";
  problem?: string | null;
  autoFocus?: boolean;
  inputMode?: "text" | "numeric";
  maxLength?: number;
  autoComplete?: string;
  multiline?: boolean;
}) {
  const id = useId();
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  useEffect(() => {
    if (autoFocus) ref.current?.focus({ preventScroll: true });
  }, []);
  const hintId = `${id}-hint`;
  const problemId = `${id}-problem`;
  const described = [hint ? hintId : "", problem ? problemId : ""].filter(Boolean).join(" ");
  const common = {
    id,
    value,
    ref,
    "data-testid": testid,
    maxLength,
    autoComplete,
    spellcheck: false,
    "aria-describedby": described || undefined,
    "aria-invalid": problem ? true : undefined,
  };
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      )}
      {multiline ? (
        <textarea
          {...common}
          rows={3}
          onInput={(e) => onInput(e.currentTarget.value)}
        />
      ) : type === "password" ? (
        <input {...common} type="password" onInput={(e) => onInput(e.currentTarget.value)} />
      ) : (
        <input
          {...common}
          type="text"
          inputMode={inputMode}
          onInput={(e) => onInput(e.currentTarget.value)}
        />
      )}
      {problem && (
        <p class="field-problem" id={problemId} role="alert" data-testid="error-message">
          {problem}
        </p>
      )}
    </div>
  );
}
