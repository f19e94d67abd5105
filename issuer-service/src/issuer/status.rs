//! Status indices and the lists they live in. Indices are global and random within the open
//! list (herd privacy); list `n` holds `n × size ..= n × size + size - 1`, and when the open
//! list is nearly full the next is created, published, and only then used (ADR 0009).

use std::sync::atomic::Ordering;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use serde_json::json;

use super::build::no_free_index;
use super::{IssueError, Issuer, StartError};
use crate::store::Txn;

/// A status list is left for the next once this full: herd privacy needs lists well
/// populated, and random probing for a free index stays cheap below it.
pub(super) const ROLLOVER_PERCENT: i64 = 90;

/// The Token Status List of SD-JWT VCs (its id, and the last segment of its URL).
pub const TOKEN_LIST: &str = "token";
/// Every list an issuer keeps: Bitstring revocation and suspension lists for Data Integrity
/// credentials, and the Token Status List for SD-JWT VCs.
const LISTS: [&str; 3] = ["revocation", "suspension", TOKEN_LIST];

/// The id (and last path segment of the URL) of status list number `list` of `purpose`:
/// the purpose alone for the first list (`revocation`), then `revocation-1`, `revocation-2`…
pub fn list_id(purpose: &str, list: i64) -> String {
    if list == 0 {
        purpose.to_owned()
    } else {
        format!("{purpose}-{list}")
    }
}

/// Whether the status list with this id is a Token Status List (`token`, `token-1`, …).
pub fn is_token_list(id: &str) -> bool {
    id == TOKEN_LIST
        || id
            .strip_prefix("token-")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl Issuer {
    /// A random status index no issued credential has at this moment (the insert that claims
    /// it is checked by a unique constraint as well), in the open list. Indices are global:
    /// list `n` holds `n × size ..= n × size + size - 1`. The next list is opened when the
    /// open one is [`ROLLOVER_PERCENT`] full (or 64 random tries all hit taken entries).
    pub(super) async fn free_index(&self) -> Result<i64, IssueError> {
        let size = self.config.status_list_size as i64;
        for _ in 0..3 {
            let list = self.open_list.load(Ordering::SeqCst);
            let count = self.open_count.load(Ordering::SeqCst);
            if count * 100 < size * ROLLOVER_PERCENT {
                for _ in 0..64 {
                    let index = list * size + (OsRng.next_u64() % size as u64) as i64;
                    if !self.store.status_index_taken(index).await? {
                        return Ok(index);
                    }
                }
            }
            self.open_next_list(list).await?;
        }
        Err(no_free_index())
    }

    /// Opens list `full + 1` (its revocation, suspension and token lists, created in one
    /// transaction), unless another issuance already did, publishes it, and only then sends
    /// new credentials to it. A publication that fails (registry down) is retried by the
    /// periodic refresh.
    async fn open_next_list(&self, full: i64) -> Result<(), IssueError> {
        let _guard = self.publish.lock().await;
        if self.open_list.load(Ordering::SeqCst) != full {
            return Ok(());
        }
        let next = full + 1;
        let mut tx = self.store.begin().await?;
        for purpose in LISTS {
            self.create_list(&mut tx.txn(), purpose, next).await?;
        }
        tx.txn()
            .audit(
                "issuer",
                "status_list.open",
                &self.status_url(&list_id("revocation", next)),
                &json!({"list": next, "previousList": full}),
            )
            .await?;
        tx.commit().await?;
        for purpose in LISTS {
            let id = list_id(purpose, next);
            if let Err(e) = self.publish_locked(&id).await {
                tracing::warn!(list = %id, error = %e.description, "a new status list is not published yet; the refresh will retry");
            }
        }
        self.open_count
            .store(self.count_in_list(next).await?, Ordering::SeqCst);
        self.open_list.store(next, Ordering::SeqCst);
        Ok(())
    }

    /// Creates status list `list` of `purpose` with every entry 0, unless it exists.
    async fn create_list(
        &self,
        tx: &mut Txn<'_>,
        purpose: &str,
        list: i64,
    ) -> Result<(), IssueError> {
        // One bit per index in the Bitstring lists, two in the Token Status List.
        let per_byte = if purpose == TOKEN_LIST { 4 } else { 8 };
        let bytes = vec![0u8; (self.config.status_list_size as usize).div_ceil(per_byte)];
        tx.create_status_list(
            &list_id(purpose, list),
            purpose,
            self.config.status_list_size as i64,
            &URL_SAFE_NO_PAD.encode(bytes),
        )
        .await?;
        Ok(())
    }

    /// The list a global status index is in, and its index in that list.
    pub(super) fn split_index(&self, index: i64) -> (i64, i64) {
        let size = self.config.status_list_size as i64;
        (index / size, index % size)
    }

    /// Makes sure every list up to the last one opened exists in all three purposes (a crash
    /// while a list was being opened is completed here), that the configured list size is
    /// the one the lists were made with, and counts the open list.
    pub(super) async fn ensure_status_lists(&self) -> Result<(), StartError> {
        let size = self.config.status_list_size as i64;
        let mut last = 0;
        for (id, stored) in self.store.status_list_sizes().await? {
            if stored != size {
                return Err(StartError::StatusListSize {
                    list: id,
                    stored,
                    configured: size,
                });
            }
            if let Some((_, n)) = id.rsplit_once('-')
                && let Ok(n) = n.parse::<i64>()
            {
                last = last.max(n);
            }
        }
        let mut tx = self.store.begin().await?;
        for list in 0..=last {
            for purpose in LISTS {
                self.create_list(&mut tx.txn(), purpose, list).await?;
            }
        }
        tx.commit().await?;
        self.open_list.store(last, Ordering::SeqCst);
        let count = self.count_in_list(last).await?;
        self.open_count.store(count, Ordering::SeqCst);
        Ok(())
    }

    /// How many issued credentials list `list` holds.
    async fn count_in_list(&self, list: i64) -> Result<i64, IssueError> {
        let size = self.config.status_list_size as i64;
        Ok(self
            .store
            .count_issued_between(list * size, list * size + size)
            .await?)
    }

    /// Counts credentials just recorded towards the open list's fill.
    pub(super) fn counted(&self, indices: impl IntoIterator<Item = i64>) {
        let size = self.config.status_list_size as i64;
        let open = self.open_list.load(Ordering::SeqCst);
        let n = indices.into_iter().filter(|i| i / size == open).count() as i64;
        self.open_count.fetch_add(n, Ordering::SeqCst);
    }
}
