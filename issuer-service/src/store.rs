//! The issuer's database: SQLite (a file) by default, PostgreSQL by URL, the same SQL for
//! both through sqlx's `Any` driver, with migrations applied at start.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

#[derive(Clone)]
pub struct Store {
    pub pool: AnyPool,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates. `url`: `sqlite://PATH` or
    /// `postgres://…`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        install_default_drivers();
        let url = if url.starts_with("sqlite:") && !url.contains("mode=") {
            format!("{url}{}mode=rwc", if url.contains('?') { "&" } else { "?" })
        } else {
            url.to_owned()
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if url.starts_with("sqlite:") { 1 } else { 8 })
            .connect(&url)
            .await?;
        if url.starts_with("sqlite:") {
            // Durable and safe under a kill: every commit is on disk before we answer.
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&pool)
                .await?;
            sqlx::query("PRAGMA synchronous=FULL")
                .execute(&pool)
                .await?;
            sqlx::query("PRAGMA foreign_keys=ON").execute(&pool).await?;
        }
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Appends to the audit log.
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        details: &serde_json::Value,
    ) -> Result<(), StoreError> {
        insert_audit(&self.pool, actor, action, subject, details).await
    }

    /// Appends to the audit log inside a transaction (committed with what it records).
    pub async fn audit_tx(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        actor: &str,
        action: &str,
        subject: &str,
        details: &serde_json::Value,
    ) -> Result<(), StoreError> {
        insert_audit(&mut **tx, actor, action, subject, details).await
    }

    /// The audit log, oldest first, from `since_ms`.
    pub async fn audit_log(
        &self,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows = sqlx::query("SELECT at_ms, actor, action, subject, details FROM audit WHERE at_ms >= $1 ORDER BY at_ms, id LIMIT $2")
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
                    "details": serde_json::from_str::<serde_json::Value>(&details).unwrap_or(serde_json::Value::Null),
                })
            })
            .collect())
    }
}

async fn insert_audit<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    actor: &str,
    action: &str,
    subject: &str,
    details: &serde_json::Value,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit (id, at_ms, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5, $6)")
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
