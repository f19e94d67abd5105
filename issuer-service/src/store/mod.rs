//! The issuer's database: SQLite (a file) by default, PostgreSQL by URL, the same SQL for
//! both through sqlx's `Any` driver, with migrations applied at start.
//!
//! Every statement the issuer runs is here, behind a function named for what it does
//! (`redeem_offer`, `record_issued`, `set_status_bits`…), grouped by table: offers, access
//! tokens and nonces ([`offers`]); issued credentials ([`issued`]); status lists
//! ([`status`]); credential types ([`types`]); the audit log and API keys ([`audit`]). The
//! issuer decides; the store reads and writes. Keeping the SQL in one place keeps it portable
//! (plain `$N` parameters, `TEXT` and `BIGINT`, nothing one of the two databases lacks).
//!
//! Lookups and single admin writes are methods of [`Store`] itself (the hot path's lookups
//! go to the read-only pool). Writes that must commit together are methods of [`Txn`]: the
//! connection of a [`Store::write`] job (group commit, ADR 0011) or of a [`Store::begin`]
//! transaction (the rare admin writes that span statements).

pub mod audit;
pub mod issued;
pub mod offers;
pub mod status;
pub mod types;

use std::sync::Arc;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyConnection, AnyPool, Executor};

pub use issued::{IssuedRow, IssuedStatus, NewIssued};
pub use offers::{AccessToken, NewOffer, OfferCode, OfferLink, OfferToIssue};
pub use status::{StatusListAge, StatusListBits};

/// Why a database operation failed (or may not have been carried out).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The group commit failed: every job of the group gets it (shared, hence the `Arc`).
    #[error("database commit failed: {0}")]
    Commit(Arc<sqlx::Error>),
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("the write was not carried out (the database could not start a transaction)")]
    NotWritten,
    #[error("a database write failed unexpectedly (a bug: see the log)")]
    JobPanicked,
}

/// `pool` is where every write goes (for SQLite a single connection: SQLite has one writer);
/// `read` serves the hot path's lookups. With SQLite in WAL mode readers never wait for the
/// writer's commit (its fsync), so lookups of concurrent requests go on while one request
/// commits. With PostgreSQL both are the same pool. Both stay private: a statement run on
/// `pool` from inside a write job would wait for the connection the writer holds (ADR 0011).
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    read: AnyPool,
    writer: tokio::sync::mpsc::UnboundedSender<Job>,
}

/// A future that borrows the writer's connection.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Delivers a job's result once its group's commit is known.
type Outcome = Box<dyn FnOnce(Result<(), Arc<sqlx::Error>>) + Send>;
/// A write job: runs inside its own savepoint of the group's transaction.
type Job = Box<dyn for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, Outcome> + Send>;

/// Most write jobs committed together (one fsync for all of them).
const MAX_GROUP: usize = 128;

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
        let sqlite = url.starts_with("sqlite:");
        // Connection settings go in `after_connect`: a pool replaces its connections over
        // time (idle timeout, lifetime), and a PRAGMA run once would not reach the new ones.
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 1 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // Durable and safe under a kill: every commit is on disk before we
                        // answer.
                        conn.execute("PRAGMA journal_mode=WAL").await?;
                        conn.execute("PRAGMA synchronous=FULL").await?;
                        conn.execute("PRAGMA foreign_keys=ON").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let read = if sqlite {
            // Opened after the migrations, so readers never see a half-made schema.
            AnyPoolOptions::new()
                .max_connections(4)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA query_only=ON").await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await?
        } else {
            pool.clone()
        };
        let (writer, jobs) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(group_commit(pool.clone(), jobs));
        Ok(Self { pool, read, writer })
    }

    /// Runs `job` in a transaction and returns its result once that transaction is durably
    /// committed. Concurrent callers' jobs are committed together (group commit): the writer
    /// takes every job waiting, runs each in its own savepoint of one transaction, commits
    /// once, then answers each. A job that fails is rolled back alone (its savepoint) and
    /// gets its error; if the commit fails every job of the group gets that error. Nothing
    /// is reported written before it is on disk.
    ///
    /// A job must use only the [`Txn`] it is given (never the store, whose single SQLite
    /// write connection the writer holds), and do no slow work: the group waits for it.
    pub async fn write<T, E, F>(&self, job: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'c> FnOnce(Txn<'c>) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let boxed: Job = Box::new(move |conn: &mut AnyConnection| {
            Box::pin(async move {
                if reply.is_closed() {
                    // The caller is gone (its request was cancelled): write nothing nobody
                    // will be told about.
                    let outcome: Outcome = Box::new(|_| {});
                    return outcome;
                }
                let run: BoxFuture<'_, Result<T, E>> = Box::pin(async move {
                    let mut savepoint = sqlx::Connection::begin(&mut *conn)
                        .await
                        .map_err(|e| E::from(StoreError::Db(e)))?;
                    // On error (or panic) the savepoint is dropped: rolled back.
                    let v = job(Txn {
                        conn: &mut savepoint,
                    })
                    .await?;
                    savepoint
                        .commit()
                        .await
                        .map_err(|e| E::from(StoreError::Db(e)))?;
                    Ok(v)
                });
                let result = CatchUnwind(run)
                    .await
                    .unwrap_or_else(|()| Err(E::from(StoreError::JobPanicked)));
                let outcome: Outcome = Box::new(move |group: Result<(), Arc<sqlx::Error>>| {
                    let _ = reply.send(match (group, result) {
                        (Ok(()), r) => r,
                        // The job's own error says more than the group's.
                        (Err(_), Err(e)) => Err(e),
                        (Err(e), Ok(_)) => Err(E::from(StoreError::Commit(e))),
                    });
                });
                outcome
            })
        });
        if self.writer.send(boxed).is_err() {
            return Err(E::from(StoreError::WriterGone));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(E::from(StoreError::NotWritten)))
    }

    /// Begins a transaction on the write pool, for an admin write that spans statements
    /// (a revocation's bits and record, a new status list's three purposes). It takes its
    /// turn between the writer's groups (ADR 0011); it must not be held across slow work.
    pub async fn begin(&self) -> Result<Transaction, StoreError> {
        Ok(Transaction(self.pool.begin().await?))
    }
}

/// The connection of a write in progress: a [`Store::write`] job's savepoint, or a
/// [`Transaction`]. What is written through it is committed with everything else there,
/// or not at all.
pub struct Txn<'c> {
    conn: &'c mut AnyConnection,
}

/// A transaction on the write pool ([`Store::begin`]); dropped without [`commit`], it is
/// rolled back.
///
/// [`commit`]: Transaction::commit
pub struct Transaction(sqlx::Transaction<'static, sqlx::Any>);

impl Transaction {
    /// The transaction's connection, to read and write through.
    pub fn txn(&mut self) -> Txn<'_> {
        Txn { conn: &mut self.0 }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.0.commit().await?)
    }
}

#[cfg(test)]
impl Store {
    /// Every row of the tables the issuer's endpoints write, the audit log aside, one string
    /// each: tests compare two dumps to show that a refused request changed nothing.
    pub(crate) async fn dump(&self) -> Vec<String> {
        const TABLES: [(&str, &[&str]); 5] = [
            (
                "offers",
                &[
                    "id",
                    "code_hash",
                    "tx_code_hash",
                    "credential_type",
                    "claims",
                    "offer_json",
                    "state",
                    "failed_attempts",
                    "expires_ms",
                    "created_ms",
                ],
            ),
            (
                "access_tokens",
                &["token_hash", "offer_id", "expires_ms", "used"],
            ),
            ("nonces", &["nonce", "expires_ms"]),
            (
                "issued",
                &[
                    "id",
                    "offer_id",
                    "credential_type",
                    "format",
                    "holder",
                    "status_index",
                    "state",
                    "issued_ms",
                ],
            ),
            (
                "status_lists",
                &[
                    "id",
                    "purpose",
                    "size",
                    "bits",
                    "credential",
                    "version",
                    "anchor_sequence",
                    "anchored_version",
                    "updated_ms",
                ],
            ),
        ];
        let mut rows = vec![];
        for (table, columns) in TABLES {
            let text: Vec<String> = columns
                .iter()
                .map(|c| format!("COALESCE(CAST({c} AS TEXT), 'NULL')"))
                .collect();
            let sql = format!(
                "SELECT '{table}|' || {} FROM {table} ORDER BY 1",
                text.join(" || '|' || ")
            );
            let found = sqlx::query(&sql)
                .fetch_all(&self.pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            rows.extend(found.iter().map(|r| sqlx::Row::get::<String, _>(r, 0)));
        }
        rows
    }
}

/// Polls a boxed future, turning a panic inside it into `Err(())` (so one faulty job cannot
/// stop the writer, and with it every later write).
struct CatchUnwind<'a, T>(BoxFuture<'a, T>);

impl<T> std::future::Future for CatchUnwind<'_, T> {
    type Output = Result<T, ()>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let fut = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(_) => {
                tracing::error!("a database write job panicked; it was rolled back");
                std::task::Poll::Ready(Err(()))
            }
        }
    }
}

/// The group-commit writer: one transaction per group of waiting jobs.
async fn group_commit(pool: AnyPool, mut jobs: tokio::sync::mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let mut tx = match pool.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                // Dropping the jobs drops their reply channels: each caller is told its
                // write was not carried out.
                tracing::error!(error = %e, jobs = group.len(), "cannot begin a write");
                continue;
            }
        };
        let mut outcomes = Vec::with_capacity(group.len());
        for job in group {
            outcomes.push(job(&mut tx).await);
        }
        let committed = tx.commit().await.map_err(Arc::new);
        if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = outcomes.len(), "group commit failed");
        }
        for o in outcomes {
            o(committed.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Row;

    #[derive(Debug)]
    struct Refused;

    impl From<StoreError> for Refused {
        fn from(e: StoreError) -> Self {
            panic!("unexpected store error: {e}")
        }
    }

    /// The audit row every test job writes (subject tells them apart).
    async fn test_row(c: &mut Txn<'_>, subject: &str) -> Result<(), StoreError> {
        c.audit("test", "test.write", subject, &serde_json::json!({}))
            .await
    }

    /// A store on a new SQLite file (the directory lives as long as the returned guard).
    async fn fresh() -> (tempfile::TempDir, String, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::open(&url).await.unwrap();
        (dir, url, store)
    }

    /// Writes one audit row with `subject`, alone.
    async fn write_subject(store: &Store, subject: &'static str) -> Result<(), StoreError> {
        store
            .write(move |mut c| Box::pin(async move { test_row(&mut c, subject).await }))
            .await
    }

    async fn audit_subjects(store: &Store) -> std::collections::HashSet<String> {
        sqlx::query("SELECT subject FROM audit WHERE action = 'test.write'")
            .fetch_all(&store.read)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect()
    }

    /// Concurrent writes share commits, yet each is all-or-nothing on its own: a job that
    /// fails after writing leaves nothing, and the others of its group are kept.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_write_is_rolled_back_alone_within_its_group() {
        let (_dir, url, store) = fresh().await;
        let mut tasks = vec![];
        for i in 0..64u32 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .write(move |mut c| {
                        Box::pin(async move {
                            let subject = format!("job-{i}");
                            test_row(&mut c, &subject).await?;
                            if i % 3 == 0 { Err(Refused) } else { Ok(i) }
                        })
                    })
                    .await
            }));
        }
        let mut kept = std::collections::HashSet::new();
        for (i, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(v) => {
                    assert_eq!(v as usize, i);
                    assert_ne!(i % 3, 0);
                    kept.insert(format!("job-{i}"));
                }
                Err(Refused) => assert_eq!(i % 3, 0),
            }
        }
        assert_eq!(audit_subjects(&store).await, kept);
        // What was reported written survives reopening the file.
        drop(store);
        let store = Store::open(&url).await.unwrap();
        assert_eq!(audit_subjects(&store).await, kept);
    }

    /// A commit that fails (here a deferred foreign key, checked only at COMMIT) fails every
    /// job of its group: none of them is reported written, none of their rows is on disk, and
    /// the writer goes on with the next groups.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_commit_fails_its_whole_group_and_loses_nothing_reported_written() {
        let (_dir, url, store) = fresh().await;
        let r: Result<(), StoreError> = store
            .write(|c| {
                Box::pin(async move {
                    sqlx::query("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
                        .execute(&mut *c.conn)
                        .await?;
                    sqlx::query(
                        "CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)",
                    )
                    .execute(&mut *c.conn)
                    .await?;
                    Ok(())
                })
            })
            .await;
        r.unwrap();
        let (mut kept, mut failed) = (std::collections::HashSet::new(), 0);
        for round in 0..20u32 {
            let mut tasks = vec![];
            for i in 0..16u32 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let subject = format!("job-{round}-{i}");
                    let r: Result<(), StoreError> = store
                        .write({
                            let subject = subject.clone();
                            move |mut c| {
                                Box::pin(async move {
                                    test_row(&mut c, &subject).await?;
                                    // One job per round leaves a row that only COMMIT refuses.
                                    if i == 7 {
                                        sqlx::query("INSERT INTO child (p) VALUES (999)")
                                            .execute(&mut *c.conn)
                                            .await?;
                                    }
                                    Ok(())
                                })
                            }
                        })
                        .await;
                    (subject, r)
                }));
            }
            for t in tasks {
                match t.await.unwrap() {
                    (subject, Ok(())) => {
                        kept.insert(subject);
                    }
                    (subject, Err(e)) => {
                        assert!(matches!(e, StoreError::Commit(_)), "{subject}: {e}");
                        failed += 1;
                    }
                }
            }
        }
        // Each round's bad job took its group down with it, and only its group.
        assert!(failed >= 20, "{failed}");
        assert!(!kept.is_empty());
        assert_eq!(audit_subjects(&store).await, kept);
        // And after all that, a write goes through and survives reopening.
        write_subject(&store, "last").await.unwrap();
        kept.insert("last".into());
        drop(store);
        let store = Store::open(&url).await.unwrap();
        assert_eq!(audit_subjects(&store).await, kept);
    }

    /// A job that panics (a bug) is rolled back and its caller told; the writer goes on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_that_panics_is_rolled_back_and_writes_go_on() {
        let (_dir, _, store) = fresh().await;
        let r: Result<(), StoreError> = store
            .write(|mut c| {
                Box::pin(async move {
                    test_row(&mut c, "lost").await?;
                    if std::hint::black_box(true) {
                        panic!("a bug inside a write job");
                    }
                    Ok(())
                })
            })
            .await;
        assert!(matches!(r, Err(StoreError::JobPanicked)), "{r:?}");
        let r: Result<u8, StoreError> = store
            .write(|mut c| {
                Box::pin(async move {
                    test_row(&mut c, "kept").await?;
                    Ok(7)
                })
            })
            .await;
        assert_eq!(r.unwrap(), 7);
        let kept: std::collections::HashSet<String> = ["kept".to_string()].into();
        assert_eq!(audit_subjects(&store).await, kept);
    }
}
