//! The record of issued credentials: one row per credential a citizen holds, with the
//! global status index it carries (unique: a database constraint backs the claim) and its
//! state (`valid`, `suspended`, `revoked`).

use sqlx::Row;

use super::{Store, StoreError, Txn, now_ms};

const INDEX_TAKEN: &str = "SELECT 1 FROM issued WHERE status_index = $1";
const INSERT_ISSUED: &str = "INSERT INTO issued (id, offer_id, credential_type, format, holder, status_index, state, issued_ms) VALUES ($1, $2, $3, $4, $5, $6, 'valid', $7)";
const ISSUED_STATUS: &str = "SELECT state, status_index, format FROM issued WHERE id = $1";
const SET_ISSUED_STATE: &str = "UPDATE issued SET state = $1 WHERE id = $2";
const COUNT_ISSUED_BETWEEN: &str =
    "SELECT COUNT(*) FROM issued WHERE status_index >= $1 AND status_index < $2";
const ISSUED_LIST: &str = "SELECT id, offer_id, credential_type, format, holder, status_index, state, issued_ms FROM issued WHERE ($1 IS NULL OR offer_id = $1) ORDER BY issued_ms, id";

/// A credential to record as issued (state `valid`, issued now).
pub struct NewIssued<'a> {
    pub id: &'a str,
    /// The offer it was issued for (`None` for the VC-API).
    pub offer_id: Option<&'a str>,
    pub credential_type: &'a str,
    pub format: &'a str,
    /// The holder's DID, as far as the issuer knows it.
    pub holder: &'a str,
    pub status_index: i64,
}

/// What a status change needs of an issued credential.
pub struct IssuedStatus {
    pub state: String,
    pub status_index: i64,
    pub format: String,
}

/// One row of the issued-credentials record, as the admin API lists it.
pub struct IssuedRow {
    pub id: String,
    pub offer_id: Option<String>,
    pub credential_type: String,
    pub format: String,
    pub holder: String,
    pub status_index: i64,
    pub state: String,
    pub issued_ms: i64,
}

impl Store {
    /// Whether an issued credential has status index `index` now (a hint: the claim is
    /// [`Txn::record_issued`]'s).
    pub async fn status_index_taken(&self, index: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query(INDEX_TAKEN)
            .bind(index)
            .fetch_optional(&self.read)
            .await?
            .is_some())
    }

    pub async fn issued_status(&self, id: &str) -> Result<Option<IssuedStatus>, StoreError> {
        Ok(sqlx::query(ISSUED_STATUS)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| IssuedStatus {
                state: r.get(0),
                status_index: r.get(1),
                format: r.get(2),
            }))
    }

    /// How many issued credentials have a status index in `from..until`.
    pub async fn count_issued_between(&self, from: i64, until: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query(COUNT_ISSUED_BETWEEN)
            .bind(from)
            .bind(until)
            .fetch_one(&self.read)
            .await?
            .get::<i64, _>(0))
    }

    /// The issued credentials (of one offer, or all), oldest first.
    pub async fn issued_credentials(
        &self,
        offer_id: Option<&str>,
    ) -> Result<Vec<IssuedRow>, StoreError> {
        let rows = sqlx::query(ISSUED_LIST)
            .bind(offer_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| IssuedRow {
                id: r.get(0),
                offer_id: r.get(1),
                credential_type: r.get(2),
                format: r.get(3),
                holder: r.get(4),
                status_index: r.get(5),
                state: r.get(6),
                issued_ms: r.get(7),
            })
            .collect())
    }
}

impl Txn<'_> {
    /// Records an issued credential, claiming its status index. `false` (and nothing
    /// written) when another issuance claimed the index first: the caller rolls back and
    /// signs again with another.
    pub async fn record_issued(&mut self, c: &NewIssued<'_>) -> Result<bool, StoreError> {
        let taken = sqlx::query(INDEX_TAKEN)
            .bind(c.status_index)
            .fetch_optional(&mut *self.conn)
            .await?
            .is_some();
        if taken {
            return Ok(false);
        }
        sqlx::query(INSERT_ISSUED)
            .bind(c.id)
            .bind(c.offer_id)
            .bind(c.credential_type)
            .bind(c.format)
            .bind(c.holder)
            .bind(c.status_index)
            .bind(now_ms())
            .execute(&mut *self.conn)
            .await?;
        Ok(true)
    }

    pub async fn set_issued_state(&mut self, id: &str, state: &str) -> Result<(), StoreError> {
        sqlx::query(SET_ISSUED_STATE)
            .bind(state)
            .bind(id)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }
}
