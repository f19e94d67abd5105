//! The OS keyring, through the `keyring` ecosystem (`keyring-core` and the platform's store:
//! Secret Service on Linux, Keychain on macOS, Credential Manager on Windows).
//!
//! The wallet keeps here what must never be on disk in a form someone with the files could
//! use: each holder key (its 32-byte Ed25519 seed) and the data key that seals the wallet's
//! records. Entries are named `<profile>/<name>` under one service, so two profiles (a
//! restore beside the old one, the tests) never share an entry.
//!
//! There is no fallback: on a machine with no keyring service the wallet refuses to store
//! keys ([`VaultError::NoKeyring`]) rather than write them in plain text.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error as KError};
use zeroize::Zeroizing;

use crate::VaultError;

/// The keyring service every entry of the wallet is filed under.
pub const SERVICE: &str = "Alliance ID wallet";

/// The platform's credential store, or why there is none.
pub fn system_store() -> Result<Arc<CredentialStore>, VaultError> {
    #[cfg(target_os = "linux")]
    {
        let store = zbus_secret_service_keyring_store::Store::new().map_err(no_keyring)?;
        Ok(store)
    }
    #[cfg(target_os = "macos")]
    {
        let store = apple_native_keyring_store::keychain::Store::new().map_err(no_keyring)?;
        Ok(store)
    }
    #[cfg(target_os = "windows")]
    {
        let store = windows_native_keyring_store::Store::new().map_err(no_keyring)?;
        Ok(store)
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
    {
        Err(VaultError::NoKeyring(
            "this operating system has no supported keyring".into(),
        ))
    }
}

fn no_keyring(e: KError) -> VaultError {
    VaultError::NoKeyring(e.to_string())
}

fn keyring_error(e: KError) -> VaultError {
    match e {
        KError::NoStorageAccess(inner) => VaultError::NoKeyring(inner.to_string()),
        other => VaultError::Keyring(other.to_string()),
    }
}

/// One profile's entries in a credential store.
#[derive(Clone)]
pub struct Keyring {
    store: Arc<CredentialStore>,
    profile: String,
}

impl Keyring {
    pub fn new(store: Arc<CredentialStore>, profile: &str) -> Self {
        Self {
            store,
            profile: profile.to_owned(),
        }
    }

    pub fn store(&self) -> &Arc<CredentialStore> {
        &self.store
    }

    fn entry(&self, name: &str) -> Result<Entry, VaultError> {
        Entry::new_in_store(&self.store, SERVICE, &format!("{}/{name}", self.profile))
            .map_err(keyring_error)
    }

    /// Stores `secret` under `name` (replacing what was there).
    pub fn put(&self, name: &str, secret: &[u8]) -> Result<(), VaultError> {
        self.entry(name)?.set_secret(secret).map_err(keyring_error)
    }

    /// The secret stored under `name`.
    pub fn get(&self, name: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        match self.entry(name)?.get_secret() {
            Ok(s) => Ok(Zeroizing::new(s)),
            Err(KError::NoEntry) => Err(VaultError::MissingSecret(name.to_owned())),
            Err(e) => Err(keyring_error(e)),
        }
    }

    /// Removes `name`; removing an entry that is not there is not an error.
    pub fn delete(&self, name: &str) -> Result<(), VaultError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(KError::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_per_profile_and_deletion_is_idempotent() {
        let store = keyring_core::mock::Store::new().unwrap();
        let a = Keyring::new(store.clone(), "profile-a");
        let b = Keyring::new(store, "profile-b");
        a.put("data-key", &[1; 32]).unwrap();
        assert_eq!(&*a.get("data-key").unwrap(), &[1u8; 32]);
        assert!(matches!(
            b.get("data-key"),
            Err(VaultError::MissingSecret(_))
        ));
        a.delete("data-key").unwrap();
        a.delete("data-key").unwrap();
        assert!(matches!(
            a.get("data-key"),
            Err(VaultError::MissingSecret(_))
        ));
    }
}
