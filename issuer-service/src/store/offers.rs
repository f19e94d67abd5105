//! Offers and what redeems them: the offers (by the hash of their pre-authorized code), the
//! access tokens granted for them, and the nonces used up by issuances.
//!
//! An offer goes `offered` → `redeemed` (token granted) → `issued`, or to `locked` (too many
//! wrong transaction codes) or `expired`. Each step is one conditional `UPDATE … WHERE state
//! = …`, so two concurrent requests can never both take it.

use sqlx::Row;

use super::{Store, StoreError, Txn};

const INSERT_OFFER: &str = "INSERT INTO offers (id, code_hash, tx_code_hash, credential_type, claims, offer_json, state, failed_attempts, expires_ms, created_ms) VALUES ($1, $2, $3, $4, $5, $6, 'offered', 0, $7, $8)";
const EXPIRE_OFFERS: &str = "UPDATE offers SET state = 'expired', claims = '{}', offer_json = NULL WHERE state IN ('offered', 'locked') AND expires_ms < $1";
const OFFER_LINK: &str = "SELECT offer_json, state, expires_ms FROM offers WHERE id = $1";
const OFFER_BY_CODE: &str =
    "SELECT id, tx_code_hash, state, failed_attempts, expires_ms FROM offers WHERE code_hash = $1";
const COUNT_WRONG_TX_CODE: &str =
    "UPDATE offers SET failed_attempts = failed_attempts + 1 WHERE id = $1 AND state = 'offered'";
const LOCK_OFFER: &str = "UPDATE offers SET state = 'locked' WHERE id = $1 AND state = 'offered' AND failed_attempts >= $2";
const OFFER_ATTEMPTS: &str = "SELECT failed_attempts, state FROM offers WHERE id = $1";
const REDEEM_OFFER: &str =
    "UPDATE offers SET state = 'redeemed', offer_json = NULL WHERE id = $1 AND state = 'offered'";
const INSERT_ACCESS_TOKEN: &str =
    "INSERT INTO access_tokens (token_hash, offer_id, expires_ms, used) VALUES ($1, $2, $3, 0)";
const ACCESS_TOKEN: &str = "SELECT offer_id, expires_ms FROM access_tokens WHERE token_hash = $1";
const OFFER_TO_ISSUE: &str = "SELECT credential_type, claims, state FROM offers WHERE id = $1";
const MARK_OFFER_ISSUED: &str =
    "UPDATE offers SET state = 'issued' WHERE id = $1 AND state = 'redeemed'";
const USE_NONCE: &str = "INSERT INTO nonces (nonce, expires_ms) VALUES ($1, $2)";
const REMOVE_EXPIRED_NONCES: &str = "DELETE FROM nonces WHERE expires_ms < $1";

/// A new offer: the hashes of its codes, never the codes.
pub struct NewOffer<'a> {
    pub id: &'a str,
    pub code_hash: &'a str,
    pub tx_code_hash: Option<&'a str>,
    pub credential_type: &'a str,
    /// The citizen's claims, a JSON object.
    pub claims: &'a str,
    /// The offer object served by its by-reference link until the code is redeemed.
    pub offer_json: &'a str,
    pub expires_ms: i64,
    pub created_ms: i64,
}

/// What the token endpoint needs of an offer found by its code.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferCode {
    pub id: String,
    pub tx_code_hash: Option<String>,
    pub state: String,
    pub failed_attempts: i64,
    pub expires_ms: i64,
}

/// What a by-reference link needs of an offer.
pub struct OfferLink {
    /// Gone once the code is redeemed or the offer expired.
    pub offer_json: Option<String>,
    pub state: String,
    pub expires_ms: i64,
}

/// What the credential endpoint needs of the offer an access token was granted for.
pub struct OfferToIssue {
    pub credential_type: String,
    /// The citizen's claims, a JSON object (`{}` once the offer expired).
    pub claims: String,
    pub state: String,
}

/// An access token, found by its hash.
pub struct AccessToken {
    pub offer_id: String,
    pub expires_ms: i64,
}

impl Store {
    pub async fn insert_offer(&self, o: &NewOffer<'_>) -> Result<(), StoreError> {
        sqlx::query(INSERT_OFFER)
            .bind(o.id)
            .bind(o.code_hash)
            .bind(o.tx_code_hash)
            .bind(o.credential_type)
            .bind(o.claims)
            .bind(o.offer_json)
            .bind(o.expires_ms)
            .bind(o.created_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks `expired` every offer not redeemed (or locked) whose time was up at `now_ms`,
    /// erasing the claims it held; returns how many.
    pub async fn expire_offers(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(EXPIRE_OFFERS)
            .bind(now_ms)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    pub async fn offer_link(&self, id: &str) -> Result<Option<OfferLink>, StoreError> {
        Ok(sqlx::query(OFFER_LINK)
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| OfferLink {
                offer_json: r.get(0),
                state: r.get(1),
                expires_ms: r.get(2),
            }))
    }

    /// The offer whose pre-authorized code hashes to `code_hash`.
    pub async fn offer_by_code(&self, code_hash: &str) -> Result<Option<OfferCode>, StoreError> {
        Ok(sqlx::query(OFFER_BY_CODE)
            .bind(code_hash)
            .fetch_optional(&self.read)
            .await?
            .map(|r| OfferCode {
                id: r.get(0),
                tx_code_hash: r.get(1),
                state: r.get(2),
                failed_attempts: r.get(3),
                expires_ms: r.get(4),
            }))
    }

    pub async fn access_token(&self, token_hash: &str) -> Result<Option<AccessToken>, StoreError> {
        Ok(sqlx::query(ACCESS_TOKEN)
            .bind(token_hash)
            .fetch_optional(&self.read)
            .await?
            .map(|r| AccessToken {
                offer_id: r.get(0),
                expires_ms: r.get(1),
            }))
    }

    /// The offer an access token was granted for (it exists: tokens are granted only for
    /// offers, which are never deleted).
    pub async fn offer_to_issue(&self, offer_id: &str) -> Result<OfferToIssue, StoreError> {
        let r = sqlx::query(OFFER_TO_ISSUE)
            .bind(offer_id)
            .fetch_one(&self.read)
            .await?;
        Ok(OfferToIssue {
            credential_type: r.get(0),
            claims: r.get(1),
            state: r.get(2),
        })
    }

    /// Forgets used nonces that expired before `now_ms` (they would be refused anyway).
    pub async fn remove_expired_nonces(&self, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(REMOVE_EXPIRED_NONCES)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Txn<'_> {
    /// Counts a wrong transaction code against an offer still `offered`, and locks it once
    /// `max` are reached. Returns the attempts counted and whether the offer is locked.
    pub async fn count_wrong_tx_code(
        &mut self,
        offer_id: &str,
        max: i64,
    ) -> Result<(i64, bool), StoreError> {
        sqlx::query(COUNT_WRONG_TX_CODE)
            .bind(offer_id)
            .execute(&mut *self.conn)
            .await?;
        sqlx::query(LOCK_OFFER)
            .bind(offer_id)
            .bind(max)
            .execute(&mut *self.conn)
            .await?;
        let row = sqlx::query(OFFER_ATTEMPTS)
            .bind(offer_id)
            .fetch_one(&mut *self.conn)
            .await?;
        let (failed, state): (i64, String) = (row.get(0), row.get(1));
        Ok((failed, state == "locked"))
    }

    /// `offered` → `redeemed`, forgetting the by-reference body; `false` (nothing changed)
    /// when the offer is no longer `offered`.
    pub async fn redeem_offer(&mut self, offer_id: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query(REDEEM_OFFER)
            .bind(offer_id)
            .execute(&mut *self.conn)
            .await?
            .rows_affected()
            == 1)
    }

    pub async fn insert_access_token(
        &mut self,
        token_hash: &str,
        offer_id: &str,
        expires_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(INSERT_ACCESS_TOKEN)
            .bind(token_hash)
            .bind(offer_id)
            .bind(expires_ms)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// `redeemed` → `issued`; `false` (nothing changed) when the offer's credentials were
    /// issued already.
    pub async fn mark_offer_issued(&mut self, offer_id: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query(MARK_OFFER_ISSUED)
            .bind(offer_id)
            .execute(&mut *self.conn)
            .await?
            .rows_affected()
            == 1)
    }

    /// Records `nonce` as used until it expires; `false` when it was used already (the
    /// primary key refuses it). After `false` the transaction must be rolled back: on
    /// PostgreSQL the refused insert has aborted it.
    pub async fn use_nonce(&mut self, nonce: &str, expires_ms: i64) -> Result<bool, StoreError> {
        match sqlx::query(USE_NONCE)
            .bind(nonce)
            .bind(expires_ms)
            .execute(&mut *self.conn)
            .await
        {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
