//! Status lists: for each list its entries (`bits`, base64url), and the signed credential
//! or token last published, with the registry anchor sequence it was anchored under.

use sqlx::Row;

use super::{Store, StoreError, Txn};

const STATUS_LIST_SIZES: &str = "SELECT id, size FROM status_lists";
const CREATE_STATUS_LIST: &str = "INSERT INTO status_lists (id, purpose, size, bits, credential, version, anchor_sequence, anchored_version, updated_ms) VALUES ($1, $2, $3, $4, NULL, 0, 0, 0, 0) ON CONFLICT (id) DO NOTHING";
const STATUS_BITS: &str = "SELECT bits FROM status_lists WHERE id = $1";
const SET_STATUS_BITS: &str = "UPDATE status_lists SET bits = $1 WHERE id = $2";
const STATUS_LIST_AGES: &str = "SELECT id, updated_ms, credential FROM status_lists ORDER BY id";
const STATUS_LIST_TO_SIGN: &str =
    "SELECT bits, version, anchor_sequence, purpose FROM status_lists WHERE id = $1";
const RECORD_PUBLISHED: &str = "UPDATE status_lists SET credential = $1, version = $2, anchor_sequence = $3, anchored_version = $2, updated_ms = $4 WHERE id = $5";
const PUBLISHED_STATUS_LIST: &str = "SELECT credential FROM status_lists WHERE id = $1";
const MARK_ALL_STALE: &str = "UPDATE status_lists SET updated_ms = 0";

/// When a list was last published, and whether it ever was.
pub struct StatusListAge {
    pub id: String,
    pub updated_ms: i64,
    pub published: bool,
}

/// What signing a list needs.
pub struct StatusListBits {
    pub bits: String,
    pub version: i64,
    /// The issuer's registry sequence for its next anchor.
    pub anchor_sequence: i64,
    pub purpose: String,
}

impl Store {
    /// Every list's id and number of entries.
    pub async fn status_list_sizes(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query(STATUS_LIST_SIZES)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    /// Every list, by id.
    pub async fn status_list_ages(&self) -> Result<Vec<StatusListAge>, StoreError> {
        Ok(sqlx::query(STATUS_LIST_AGES)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| StatusListAge {
                id: r.get(0),
                updated_ms: r.get(1),
                published: r.get::<Option<String>, _>(2).is_some(),
            })
            .collect())
    }

    /// The list `id` as it is now, to be signed (it exists).
    pub async fn status_list_to_sign(&self, id: &str) -> Result<StatusListBits, StoreError> {
        let r = sqlx::query(STATUS_LIST_TO_SIGN)
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(StatusListBits {
            bits: r.get(0),
            version: r.get(1),
            anchor_sequence: r.get(2),
            purpose: r.get(3),
        })
    }

    /// Serves `credential` for list `id` from now on, as `version`, anchored up to
    /// `anchor_sequence` (the next sequence to use), published at `updated_ms`.
    pub async fn record_published_status_list(
        &self,
        id: &str,
        credential: &str,
        version: i64,
        anchor_sequence: i64,
        updated_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(RECORD_PUBLISHED)
            .bind(credential)
            .bind(version)
            .bind(anchor_sequence)
            .bind(updated_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The published credential of list `id`: `None` if there is no such list,
    /// `Some(None)` if it is not published yet.
    pub async fn published_status_list(
        &self,
        id: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        Ok(sqlx::query(PUBLISHED_STATUS_LIST)
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get::<Option<String>, _>(0)))
    }

    /// Makes every list due for re-signing (after a key rotation).
    pub async fn mark_status_lists_stale(&self) -> Result<(), StoreError> {
        sqlx::query(MARK_ALL_STALE).execute(&self.pool).await?;
        Ok(())
    }
}

impl Txn<'_> {
    /// Creates list `id` with `bits` (all entries 0), unless it exists.
    pub async fn create_status_list(
        &mut self,
        id: &str,
        purpose: &str,
        size: i64,
        bits: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(CREATE_STATUS_LIST)
            .bind(id)
            .bind(purpose)
            .bind(size)
            .bind(bits)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// The entries of list `id` (it exists).
    pub async fn status_bits(&mut self, id: &str) -> Result<String, StoreError> {
        Ok(sqlx::query(STATUS_BITS)
            .bind(id)
            .fetch_one(&mut *self.conn)
            .await?
            .get::<String, _>(0))
    }

    pub async fn set_status_bits(&mut self, id: &str, bits: &str) -> Result<(), StoreError> {
        sqlx::query(SET_STATUS_BITS)
            .bind(bits)
            .bind(id)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }
}
