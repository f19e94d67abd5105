//! Who did what: the audit log (append-only) and the admin API keys (stored only as hashes).

use serde_json::Value;
use sqlx::Row;

use super::{Store, StoreError, Txn, now_ms};

const INSERT_AUDIT: &str = "INSERT INTO audit (id, at_ms, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5, $6)";
const AUDIT_SINCE: &str = "SELECT at_ms, actor, action, subject, details FROM audit WHERE at_ms >= $1 ORDER BY at_ms, id LIMIT $2";
const INSERT_API_KEY: &str =
    "INSERT INTO api_keys (id, name, key_hash, created_ms) VALUES ($1, $2, $3, $4)";
const API_KEY_NAME: &str = "SELECT name FROM api_keys WHERE key_hash = $1";

async fn insert_audit<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    actor: &str,
    action: &str,
    subject: &str,
    details: &Value,
) -> Result<(), StoreError> {
    sqlx::query(INSERT_AUDIT)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(now_ms())
        .bind(actor)
        .bind(action)
        .bind(subject)
        .bind(details.to_string())
        .execute(ex)
        .await?;
    Ok(())
}

impl Store {
    /// Appends to the audit log (committed on its own).
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        details: &Value,
    ) -> Result<(), StoreError> {
        insert_audit(&self.pool, actor, action, subject, details).await
    }

    /// The audit log, oldest first, from `since_ms`.
    pub async fn audit_log(&self, since_ms: i64, limit: i64) -> Result<Vec<Value>, StoreError> {
        let rows = sqlx::query(AUDIT_SINCE)
            .bind(since_ms)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                let details: String = r.get(4);
                serde_json::json!({
                    "atMs": r.get::<i64, _>(0),
                    "actor": r.get::<String, _>(1),
                    "action": r.get::<String, _>(2),
                    "subject": r.get::<String, _>(3),
                    "details": serde_json::from_str::<Value>(&details).unwrap_or(Value::Null),
                })
            })
            .collect())
    }

    /// Records an admin API key by the hash of its secret, under `name`.
    pub async fn insert_api_key(&self, name: &str, key_hash: &str) -> Result<(), StoreError> {
        sqlx::query(INSERT_API_KEY)
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(name)
            .bind(key_hash)
            .bind(now_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The name of the API key whose secret hashes to `key_hash`, if there is one.
    pub async fn api_key_name(&self, key_hash: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query(API_KEY_NAME)
            .bind(key_hash)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get::<String, _>(0)))
    }
}

impl Txn<'_> {
    /// Appends to the audit log, committed with what it records.
    pub async fn audit(
        &mut self,
        actor: &str,
        action: &str,
        subject: &str,
        details: &Value,
    ) -> Result<(), StoreError> {
        insert_audit(&mut *self.conn, actor, action, subject, details).await
    }
}
