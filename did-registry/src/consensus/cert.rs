//! Conversions between Malachite's commit certificates and `did_method`'s.
//!
//! Precommits are signed over `did_method::chain::vote_sign_bytes` (see
//! [`super::signing`]), so converting is only re-labelling: the signatures carry over as
//! they are, and the result verifies with `did_method` alone.

use did_method::chain;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, ExtendedCommitCertificate, ExtendedCommitSignature, Round,
};

use super::types::{Address, AllianceContext, BlockId, Height, Sig};

/// A certificate for the nil round, which consensus never certifies.
#[derive(Debug, thiserror::Error)]
#[error("certificate for height {height} has no round")]
pub struct NilRoundError {
    pub height: u64,
}

/// Malachite certificate → `did_method` certificate. Fails only for a nil round, which
/// consensus never certifies.
pub fn to_chain_certificate(
    cert: &CommitCertificate<AllianceContext>,
) -> Result<chain::CommitCertificate, NilRoundError> {
    let round = cert.round.as_u32().ok_or(NilRoundError {
        height: cert.height.0,
    })?;
    let mut signatures: Vec<chain::CommitSignature> = cert
        .commit_signatures
        .iter()
        .map(|s| chain::CommitSignature {
            validator: s.address.0,
            signature: s.signature.0,
        })
        .collect();
    // Canonical order (by validator key) so every node stores the same bytes for the same set.
    signatures.sort_by_key(|s| s.validator);
    Ok(chain::CommitCertificate {
        height: cert.height.0,
        round,
        block_id: cert.value_id.0,
        signatures,
    })
}

/// `did_method` certificate → Malachite's extended certificate (no vote extensions), as served
/// to peers that sync from us.
pub fn to_extended_certificate(
    cert: &chain::CommitCertificate,
) -> ExtendedCommitCertificate<AllianceContext> {
    ExtendedCommitCertificate {
        height: Height(cert.height),
        round: Round::new(cert.round),
        value_id: BlockId(cert.block_id),
        commit_signatures: cert
            .signatures
            .iter()
            .map(|s| ExtendedCommitSignature::new(Address(s.validator), Sig(s.signature), None))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::signing::{KeySigner, KeyVerifier};
    use crate::consensus::types::{ValidatorSet as McValidatorSet, Vote};
    use did_method::chain::{ChainId, Hash, Header, ValidatorSet, operations_root};
    use did_method::crypto::SecretKey;
    use malachitebft_app_channel::app::types::core::{Context as _, NilOrVal, SignedVote};
    use malachitebft_app_channel::{Signer as _, VerifierExt as _};
    use malachitebft_signing::Verifier as _;

    fn chain_id() -> ChainId {
        ChainId::new("alliance-test").unwrap()
    }

    fn keys() -> Vec<SecretKey> {
        (1..=4u8).map(|i| SecretKey::from_seed(&[i; 32])).collect()
    }

    fn validator_set(keys: &[SecretKey]) -> ValidatorSet {
        ValidatorSet::new(
            keys.iter()
                .enumerate()
                .map(|(i, k)| chain::Validator {
                    name: format!("member-{i}"),
                    public_key: k.public_key(),
                    power: 10,
                    registrar_key: k.public_key(),
                    operator_did: None,
                })
                .collect(),
        )
        .unwrap()
    }

    fn header(vset: &ValidatorSet, proposer: &SecretKey) -> Header {
        Header {
            chain_id: chain_id(),
            height: 5,
            time_ms: 1_700_000_000_000,
            prev_hash: Hash([1; 32]),
            operations_root: operations_root(&[]),
            state_root: Hash([2; 32]),
            validators_hash: vset.hash(),
            next_validators_hash: vset.hash(),
            proposer: proposer.public_key(),
        }
    }

    async fn precommits(
        signers: &[SecretKey],
        round: u32,
        id: BlockId,
    ) -> Vec<SignedVote<AllianceContext>> {
        let mut out = Vec::new();
        for sk in signers {
            let s = KeySigner::new(sk.clone(), chain_id());
            let vote: Vote = AllianceContext.new_precommit(
                Height(5),
                Round::new(round),
                NilOrVal::Val(id),
                s.address(),
            );
            out.push(s.sign_vote(vote).await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn converted_certificate_verifies_with_did_method_alone() {
        let keys = keys();
        let vset = validator_set(&keys);
        let header = header(&vset, &keys[0]);
        let id = BlockId(header.hash());

        // Three of four (30 of 40 power > 2/3) precommit; Malachite builds its certificate.
        let votes = precommits(&keys[..3], 1, id).await;
        let mc_cert =
            CommitCertificate::<AllianceContext>::new(Height(5), Round::new(1), id, votes);

        // Malachite itself accepts it...
        let mc_set = McValidatorSet::from_chain(&vset).unwrap();
        let verifier = KeyVerifier::new(chain_id());
        let verdict = verifier
            .verify_commit_certificate(&AllianceContext, &mc_cert, &mc_set, Default::default())
            .await;
        assert!(verdict.is_ok(), "{verdict:?}");

        // ...and so does did_method, after conversion.
        let cert = to_chain_certificate(&mc_cert).unwrap();
        assert_eq!(cert.height, 5);
        assert_eq!(cert.round, 1);
        assert_eq!(cert.block_id, header.hash());
        cert.verify(&chain_id(), &vset).unwrap();
        cert.verify_header(&header, &chain_id(), &vset).unwrap();

        // Round trip through the sync representation gives the same certificate.
        let ext = to_extended_certificate(&cert);
        let back = to_chain_certificate(&ext.trim_vote_extensions()).unwrap();
        assert_eq!(back, cert);

        // Another chain id does not verify.
        assert!(
            cert.verify(&ChainId::new("alliance-other").unwrap(), &vset)
                .is_err()
        );
    }

    #[tokio::test]
    async fn under_quorum_or_wrong_round_does_not_verify() {
        let keys = keys();
        let vset = validator_set(&keys);
        let id = BlockId(header(&vset, &keys[0]).hash());

        let two = precommits(&keys[..2], 0, id).await;
        let cert = to_chain_certificate(&CommitCertificate::new(Height(5), Round::new(0), id, two))
            .unwrap();
        assert!(matches!(
            cert.verify(&chain_id(), &vset),
            Err(chain::ChainError::UnderQuorum { .. })
        ));

        // Signatures from round 0 relabelled as round 1 are rejected.
        let three = precommits(&keys[..3], 0, id).await;
        let mut cert =
            to_chain_certificate(&CommitCertificate::new(Height(5), Round::new(0), id, three))
                .unwrap();
        cert.verify(&chain_id(), &vset).unwrap();
        cert.round = 1;
        assert!(cert.verify(&chain_id(), &vset).is_err());
    }

    #[tokio::test]
    async fn verifier_rejects_a_signature_over_other_bytes() {
        let sk = SecretKey::from_seed(&[1; 32]);
        let s = KeySigner::new(sk.clone(), chain_id());
        let id = BlockId(Hash([3; 32]));
        let vote =
            AllianceContext.new_precommit(Height(5), Round::new(0), NilOrVal::Val(id), s.address());
        let wrong = Sig(sk.sign(b"not the vote bytes"));
        let v = KeyVerifier::new(chain_id());
        assert!(
            v.verify_signed_vote(&vote, &wrong, &sk.public_key())
                .await
                .unwrap()
                .is_invalid()
        );
    }
}
