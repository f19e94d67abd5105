// Small shared hooks.

import { useEffect, useState } from "preact/hooks";

/** The current time, renewed every `everyMs` (ages like "3 min ago" stay true). */
export function useNow(everyMs = 30_000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const h = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(h);
  }, [everyMs]);
  return now;
}
