//! Credential types: each definition stored as the JSON the admin API gave, by its id.

use sqlx::Row;

use super::{Store, StoreError, now_ms};

const TYPE_EXISTS: &str = "SELECT id FROM credential_types WHERE id = $1";
const UPDATE_TYPE: &str = "UPDATE credential_types SET definition = $1 WHERE id = $2";
const INSERT_TYPE: &str =
    "INSERT INTO credential_types (id, definition, created_ms) VALUES ($1, $2, $3)";
const ALL_TYPES: &str = "SELECT definition FROM credential_types ORDER BY id";
const TYPE_BY_ID: &str = "SELECT definition FROM credential_types WHERE id = $1";

impl Store {
    /// Defines credential type `id`, or replaces its definition; returns whether it existed.
    pub async fn save_credential_type(
        &self,
        id: &str,
        definition: &str,
    ) -> Result<bool, StoreError> {
        let exists = sqlx::query(TYPE_EXISTS)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .is_some();
        if exists {
            sqlx::query(UPDATE_TYPE)
                .bind(definition)
                .bind(id)
                .execute(&self.pool)
                .await?;
        } else {
            sqlx::query(INSERT_TYPE)
                .bind(id)
                .bind(definition)
                .bind(now_ms())
                .execute(&self.pool)
                .await?;
        }
        Ok(exists)
    }

    /// Every definition, by id.
    pub async fn credential_types(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query(ALL_TYPES)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect())
    }

    pub async fn credential_type(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query(TYPE_BY_ID)
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .map(|r| r.get::<String, _>(0)))
    }
}
