//! # wallet-vault: what a citizen's wallet keeps, kept safe
//!
//! The desktop wallet's secrets and data at rest. Holder keys live in the OS keyring
//! ([`keyring`]: Secret Service, Keychain or Credential Manager), one per credential copy,
//! and never in a file. Credentials, the activity log and the settings live in a local redb
//! database whose records are each sealed with XChaCha20-Poly1305 under a data key that also
//! lives in the keyring ([`seal`], ADR 0019). The app's PIN is a gate kept as an Argon2id
//! verifier with a throttle ([`pin`]), never a key. Backups are one file sealed under a
//! passphrase (Argon2id with its parameters stored, XChaCha20-Poly1305) holding every key and
//! record ([`backup`]).
//!
//! Every change that touches both the keyring and the database is ordered so that a crash at
//! any point leaves the old state or the new one: keys are recorded as pending in the
//! database before they are written to the keyring, and removed from the keyring only after
//! the records that used them are gone ([`Vault`]); a restore builds the new profile beside
//! the old one and switches with one rename ([`profile`]).
//!
//! It is **not** the wallet's protocols (that is `wallet-core`) and knows nothing of what a
//! credential says: an [`Item`]'s body is the app's, opaque here.

#![forbid(unsafe_code)]

pub mod backup;
pub mod keyring;
pub mod pin;
pub mod profile;
pub mod seal;
mod store;

pub use keyring::Keyring;
pub use pin::{PinVerifier, Throttle};
pub use store::{Activity, Item, Reservation, Snapshot, Vault};

/// What kind of failure a [`VaultError`] is, for a user interface that words it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    NoKeyring,
    Keyring,
    KeyLost,
    Storage,
    Corrupt,
    NotFound,
    WrongPin,
    Throttled,
    BadPin,
    WrongPassphrase,
    BadBackup,
    NotEmpty,
}

/// Why the vault could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("no keyring service is available ({0}); the wallet will not store keys without one")]
    NoKeyring(String),
    #[error("the keyring refused: {0}")]
    Keyring(String),
    #[error("the keyring no longer holds {0}")]
    MissingSecret(String),
    #[error("the keyring no longer holds this wallet's data key; restore it from a backup")]
    DataKeyLost,
    #[error("the wallet's storage failed: {0}")]
    Storage(String),
    #[error("{0} is damaged or was altered")]
    Corrupt(String),
    #[error("no such {0}")]
    NotFound(String),
    #[error("the PIN is wrong ({tries_left} tries left before a delay)")]
    WrongPin { tries_left: u32 },
    #[error("too many wrong PINs: wait {wait_s} s before trying again")]
    Throttled { wait_s: u64 },
    #[error("a PIN needs at least {min} characters")]
    PinTooShort { min: usize },
    #[error("a PIN or passphrase has at most {max} characters")]
    PinTooLong { max: usize },
    #[error("no PIN is set yet")]
    NoPin,
    #[error("the passphrase is wrong, or the backup file was altered")]
    WrongPassphrase,
    #[error("this is not a wallet backup, or it is damaged: {0}")]
    BadBackup(String),
    #[error("this wallet already holds credentials; restoring would replace them")]
    NotEmpty,
}

impl VaultError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NoKeyring(_) => ErrorKind::NoKeyring,
            Self::Keyring(_) => ErrorKind::Keyring,
            Self::MissingSecret(_) | Self::DataKeyLost => ErrorKind::KeyLost,
            Self::Storage(_) => ErrorKind::Storage,
            Self::Corrupt(_) => ErrorKind::Corrupt,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::WrongPin { .. } => ErrorKind::WrongPin,
            Self::Throttled { .. } => ErrorKind::Throttled,
            Self::PinTooShort { .. } | Self::PinTooLong { .. } | Self::NoPin => ErrorKind::BadPin,
            Self::WrongPassphrase => ErrorKind::WrongPassphrase,
            Self::BadBackup(_) => ErrorKind::BadBackup,
            Self::NotEmpty => ErrorKind::NotEmpty,
        }
    }
}

impl From<redb::Error> for VaultError {
    fn from(e: redb::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

macro_rules! storage_from {
    ($($t:ty),*) => {$(
        impl From<$t> for VaultError {
            fn from(e: $t) -> Self {
                Self::Storage(e.to_string())
            }
        }
    )*};
}
storage_from!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    std::io::Error
);
