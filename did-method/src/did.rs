//! `did:alliance` identifiers and their self-certifying derivation.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::chain::ChainId;
use crate::crypto::PublicKey;
use crate::encoding::Writer;

const TAG_ID: &str = "alliance-did/id/v1";
/// Bytes of the hash kept in the method-specific id.
const ID_BYTES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DidError {
    #[error("not a did:alliance DID: {0:?}")]
    NotAlliance(String),
    #[error("invalid did:alliance DID {did:?}: {reason}")]
    Invalid { did: String, reason: String },
}

/// A parsed `did:alliance:<network>:<id>`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Did {
    network: ChainId,
    id: String,
}

impl Did {
    /// The DID whose id is derived from its network, initial update key and recovery
    /// commitment.
    pub fn derive(
        network: &ChainId,
        initial_key: &PublicKey,
        recovery_commitment: &[u8; 32],
    ) -> Self {
        let digest = crate::crypto::sha256(
            &Writer::new(TAG_ID)
                .bytes(network.as_str().as_bytes())
                .fixed(initial_key.as_bytes())
                .fixed(recovery_commitment)
                .finish(),
        );
        Self {
            network: network.clone(),
            id: bs58::encode(&digest[..ID_BYTES]).into_string(),
        }
    }

    pub fn parse(s: &str) -> Result<Self, DidError> {
        let rest = s
            .strip_prefix("did:alliance:")
            .ok_or_else(|| DidError::NotAlliance(s.to_owned()))?;
        let invalid = |reason: &str| DidError::Invalid {
            did: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (network, id) = rest
            .split_once(':')
            .ok_or_else(|| invalid("expected did:alliance:<network>:<id>"))?;
        let network = ChainId::new(network).map_err(|e| invalid(&e.to_string()))?;
        // Base58 decoding is one-to-one (each leading '1' is a zero byte, the rest a number
        // written without leading zeros), so an id that decodes to 16 bytes is the one
        // base58btc form of those bytes: no re-encoding is needed to refuse another spelling.
        let mut raw = [0u8; ID_BYTES + 1];
        match bs58::decode(id).onto(&mut raw[..]) {
            Ok(ID_BYTES) => {}
            Ok(_) | Err(bs58::decode::Error::BufferTooSmall) => {
                return Err(invalid("id must be the base58btc form of 16 bytes"));
            }
            Err(_) => return Err(invalid("id is not base58btc")),
        }
        Ok(Self {
            network,
            id: id.to_owned(),
        })
    }

    pub fn network(&self) -> &ChainId {
        &self.network
    }
    pub fn id(&self) -> &str {
        &self.id
    }
    /// `did:alliance:<network>:<id>#<fragment>`
    pub fn url(&self, fragment: &str) -> String {
        format!("{self}#{fragment}")
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "did:alliance:{}:{}", self.network, self.id)
    }
}
impl fmt::Debug for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Did({self})")
    }
}
impl std::str::FromStr for Did {
    type Err = DidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
impl TryFrom<String> for Did {
    type Error = DidError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Did> for String {
    fn from(d: Did) -> String {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    #[test]
    fn derive_parse_round_trip() {
        let net = ChainId::new("alliance-test").unwrap();
        let key = SecretKey::from_seed(&[1; 32]).public_key();
        let did = Did::derive(&net, &key, &[2; 32]);
        let s = did.to_string();
        assert!(s.starts_with("did:alliance:alliance-test:"));
        assert_eq!(Did::parse(&s).unwrap(), did);
        // Another key gives another DID.
        let other = Did::derive(&net, &SecretKey::from_seed(&[3; 32]).public_key(), &[2; 32]);
        assert_ne!(other, did);
        // Another recovery commitment gives another DID.
        assert_ne!(Did::derive(&net, &key, &[4; 32]), did);
        // The same keys on another network give another id.
        let other_net = Did::derive(&ChainId::new("other").unwrap(), &key, &[2; 32]);
        assert_ne!(other_net.id(), did.id());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "did:web:example.com",
            "did:alliance:",
            "did:alliance:net",
            "did:alliance:Net:abc",
            "did:alliance:net:0OIl",
            "did:alliance:net:2",
            "did:alliance:net:abc:def",
        ] {
            assert!(Did::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn only_the_base58btc_form_of_16_bytes_parses() {
        let net = "did:alliance:net:";
        for i in 0..=255u8 {
            // Leading zero bytes (written as leading '1's) included.
            let mut bytes = [i.wrapping_mul(151); ID_BYTES];
            bytes[..(i as usize % 4)].fill(0);
            let id = bs58::encode(bytes).into_string();
            let did = Did::parse(&format!("{net}{id}")).unwrap();
            assert_eq!(did.id(), id);
            // Another leading '1' is another zero byte: 17 bytes, refused; one fewer '1' (or
            // a digit dropped) is 15 bytes or a different number, never the same DID.
            assert!(Did::parse(&format!("{net}1{id}")).is_err(), "1{id}");
            if let Some(short) = id.strip_prefix('1') {
                assert!(Did::parse(&format!("{net}{short}")).is_err(), "{short}");
            }
        }
        for len in [15, 17] {
            let id = bs58::encode(vec![7u8; len]).into_string();
            assert!(Did::parse(&format!("{net}{id}")).is_err(), "{len} bytes");
        }
    }
}
