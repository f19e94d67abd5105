// One credential in the list: a card that opens its details (the title is the button;
// the whole card is its click area).

import type { Card } from "../api";
import { t, tn } from "../i18n";
import { checkedText, StatusBadge, validityText } from "./Status";

export function CardItem({ card, now, onOpen }: { card: Card; now: number; onOpen: () => void }) {
  const titleId = `card-${card.id}-title`;
  return (
    <li>
      <article
        class={`card card-${card.status}`}
        data-testid="card"
        data-card-id={card.id}
        data-status={card.status}
        aria-labelledby={titleId}
      >
        <div class="card-head">
          <h2 class="card-title" id={titleId}>
            <button type="button" class="card-open" onClick={onOpen} data-testid="card-open">
              {card.title}
            </button>
          </h2>
          <StatusBadge status={card.status} testid="card-status" />
        </div>
        <p class="card-issuer">{t("card.issuedBy", { issuer: card.issuerName })}</p>
        {card.mainClaims.length > 0 && (
          <dl class="card-claims">
            {card.mainClaims.slice(0, 3).map((c) => (
              <div key={c.name}>
                <dt>{c.label}</dt>
                <dd>{c.value}</dd>
              </div>
            ))}
          </dl>
        )}
        <p class="card-meta">
          <span>{validityText(card.validFromMs, card.validUntilMs, now)}</span>
          <span data-testid="card-checked">{checkedText(card.statusCheckedMs, now)}</span>
          {card.copiesLeft !== null && (
            <span data-testid="card-copies">{tn("card.copiesLeft", card.copiesLeft)}</span>
          )}
        </p>
      </article>
    </li>
  );
}
