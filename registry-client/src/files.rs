//! Private files: written atomically and readable by their owner only (mode 0600), for secret
//! keys and the key files of DIDs. A key file holds one multibase Ed25519 secret key.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use did_method::crypto::SecretKey;

/// Why a private file could not be written or a key file read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a multibase Ed25519 secret key file", path.display())]
    NotAKey { path: PathBuf },
}

/// Writes `contents` to `path`, readable only by its owner, atomically: a temporary file
/// beside it (mode 0600) is written and synced, then renamed over `path`, so a crash leaves
/// either the old file or the new one, never half of one.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), FileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let err = |source| FileError::Write {
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        f.write_all(contents).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    fs::rename(&tmp, path).map_err(err)?;
    Ok(())
}

/// Writes `key` as a private key file (its multibase form and a newline).
pub fn write_secret_key(path: &Path, key: &SecretKey) -> Result<(), FileError> {
    write_private(path, format!("{}\n", key.to_multibase()).as_bytes())
}

/// Reads a key file written by [`write_secret_key`] (surrounding whitespace ignored).
pub fn read_secret_key(path: &Path) -> Result<SecretKey, FileError> {
    let text = fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.to_owned(),
        source,
    })?;
    SecretKey::from_multibase(text.trim()).map_err(|_| FileError::NotAKey {
        path: path.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_key_file_is_private_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agency.key");
        let key = SecretKey::from_seed(&[7; 32]);
        write_secret_key(&path, &key).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            read_secret_key(&path).unwrap().public_key(),
            key.public_key()
        );
        assert!(!path.with_extension("tmp").exists());
    }

    #[test]
    fn rewriting_replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_private(&path, b"a much longer first version").unwrap();
        write_private(&path, b"short").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"short");
    }

    #[test]
    fn a_file_that_is_not_a_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.txt");
        fs::write(&path, "hello").unwrap();
        let e = read_secret_key(&path).unwrap_err();
        assert!(matches!(e, FileError::NotAKey { .. }));
        assert!(e.to_string().contains("notes.txt"), "{e}");
        let missing = read_secret_key(&dir.path().join("absent.key")).unwrap_err();
        assert!(matches!(missing, FileError::Read { .. }), "{missing}");
    }
}
