//! The signing provider: Malachite's [`Signer`] / [`Verifier`] over `did_method` keys.
//!
//! Every signature is over a domain-separated byte string:
//! - votes: exactly [`did_method::chain::vote_sign_bytes`], so that the precommit signatures
//!   gathered by consensus form a `did_method::chain::CommitCertificate` as they are;
//! - proposals: [`proposal_sign_bytes`] (tag `alliance-did/proposal/v1`);
//! - proposal streams: [`stream_sign_bytes`] (tag `alliance-did/proposal-stream/v1`);
//! - vote extensions (unused): [`vote_extension_sign_bytes`] (tag `alliance-did/vote-extension/v1`);
//! - validator proofs (binding the libp2p peer id to the consensus key): Malachite's
//!   canonical `ValidatorProof::signing_bytes` ("PoV" prefix), as the protocol requires.
//!
//! The binary layout mirrors `did_method`'s: the ASCII tag and a NUL byte, then the fields in
//! order, integers big-endian, byte strings prefixed by their length as a big-endian `u32`.

use async_trait::async_trait;
use did_method::chain::{self, ChainId};
use did_method::crypto::{PublicKey, SecretKey};
use malachitebft_app_channel::app::types::core::{
    NilOrVal, Round, SignedExtension, SignedMessage, SignedProposal, SignedVote, ValidatorProof,
    VoteExtensionScope, VoteType,
};
use malachitebft_app_channel::{Signer, Verifier};
use malachitebft_signing::{Error as SigningError, VerificationResult};

use super::types::{Address, AllianceContext, Proposal, ProposalInit, Sig, Vote};

const TAG_PROPOSAL: &str = "alliance-did/proposal/v1";
const TAG_STREAM: &str = "alliance-did/proposal-stream/v1";
const TAG_VOTE_EXTENSION: &str = "alliance-did/vote-extension/v1";

/// Tagged binary writer (same conventions as `did_method`'s encoding).
struct Tagged(Vec<u8>);

impl Tagged {
    fn new(tag: &str) -> Self {
        let mut v = Vec::with_capacity(160);
        v.extend_from_slice(tag.as_bytes());
        v.push(0);
        Self(v)
    }
    fn u8(mut self, x: u8) -> Self {
        self.0.push(x);
        self
    }
    fn u32(mut self, x: u32) -> Self {
        self.0.extend_from_slice(&x.to_be_bytes());
        self
    }
    fn u64(mut self, x: u64) -> Self {
        self.0.extend_from_slice(&x.to_be_bytes());
        self
    }
    fn fixed(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    fn bytes(self, b: &[u8]) -> Self {
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        self.u32(len).fixed(b)
    }
    /// A round that may be nil: `0` for nil, `1` followed by the round.
    fn opt_round(self, r: Round) -> Self {
        match r.as_u32() {
            Some(r) => self.u8(1).u32(r),
            None => self.u8(0),
        }
    }
    fn finish(self) -> Vec<u8> {
        self.0
    }
}

/// The bytes a proposer signs for a `Proposal` message.
pub fn proposal_sign_bytes(chain_id: &ChainId, p: &Proposal) -> Vec<u8> {
    Tagged::new(TAG_PROPOSAL)
        .bytes(chain_id.as_str().as_bytes())
        .u64(p.height.0)
        .opt_round(p.round)
        .opt_round(p.pol_round)
        .fixed(&p.value.0.0)
        .fixed(p.proposer.0.as_bytes())
        .finish()
}

/// The bytes a validator signs when it streams a block as proposal parts (the `Fin` part).
/// The block id commits to the whole block, so this authenticates the stream's content.
pub fn stream_sign_bytes(chain_id: &ChainId, init: &ProposalInit) -> Vec<u8> {
    Tagged::new(TAG_STREAM)
        .bytes(chain_id.as_str().as_bytes())
        .u64(init.height.0)
        .opt_round(init.round)
        .opt_round(init.pol_round)
        .fixed(init.proposer.0.as_bytes())
        .fixed(&init.block_id.0.0)
        .u32(init.total_len)
        .finish()
}

/// The bytes signed for a vote extension (extensions are disabled; kept well-defined anyway).
pub fn vote_extension_sign_bytes(
    chain_id: &ChainId,
    scope: &VoteExtensionScope<AllianceContext>,
) -> Vec<u8> {
    Tagged::new(TAG_VOTE_EXTENSION)
        .bytes(chain_id.as_str().as_bytes())
        .u64(scope.height.0)
        .opt_round(scope.round)
        .fixed(&scope.value_id.0.0)
        .fixed(scope.validator_address.0.as_bytes())
        .finish()
}

/// The bytes a vote is signed over: `did_method::chain::vote_sign_bytes`. `None` for a vote
/// without a round (consensus never produces one).
pub fn vote_bytes(chain_id: &ChainId, vote: &Vote) -> Option<Vec<u8>> {
    let round = vote.round.as_u32()?;
    let vote_type = match vote.vote_type {
        VoteType::Prevote => chain::VoteType::Prevote,
        VoteType::Precommit => chain::VoteType::Precommit,
    };
    let block_id = match &vote.value {
        NilOrVal::Nil => None,
        NilOrVal::Val(id) => Some(&id.0),
    };
    Some(chain::vote_sign_bytes(
        chain_id,
        vote_type,
        vote.height.0,
        round,
        block_id,
    ))
}

fn verdict(public_key: &PublicKey, msg: Option<Vec<u8>>, signature: &Sig) -> VerificationResult {
    match msg {
        Some(msg) => VerificationResult::from_bool(public_key.verify(&msg, &signature.0).is_ok()),
        None => VerificationResult::Invalid,
    }
}

/// Verifies consensus signatures for one chain. Holds no key material.
#[derive(Clone, Debug)]
pub struct KeyVerifier {
    chain_id: ChainId,
}

impl KeyVerifier {
    pub fn new(chain_id: ChainId) -> Self {
        Self { chain_id }
    }
}

#[async_trait]
impl Verifier<AllianceContext> for KeyVerifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &Sig,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verdict(
            public_key,
            vote_bytes(&self.chain_id, vote),
            signature,
        ))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &Sig,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verdict(
            public_key,
            Some(proposal_sign_bytes(&self.chain_id, proposal)),
            signature,
        ))
    }

    async fn verify_signed_vote_extension(
        &self,
        scope: &VoteExtensionScope<AllianceContext>,
        _extension: &(),
        signature: &Sig,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verdict(
            public_key,
            Some(vote_extension_sign_bytes(&self.chain_id, scope)),
            signature,
        ))
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<AllianceContext>,
    ) -> Result<VerificationResult, SigningError> {
        let public_key = proof.decoded_public_key().map_err(|e| {
            SigningError::from_source(format!("invalid public key in validator proof: {e}"))
        })?;
        Ok(verdict(
            &public_key,
            Some(proof.preimage()),
            &proof.signature,
        ))
    }
}

/// Signs consensus messages with the validator's consensus key.
#[derive(Clone, Debug)]
pub struct KeySigner {
    secret: SecretKey,
    chain_id: ChainId,
}

impl KeySigner {
    pub fn new(secret: SecretKey, chain_id: ChainId) -> Self {
        Self { secret, chain_id }
    }

    pub fn address(&self) -> Address {
        Address(self.secret.public_key())
    }

    /// Signs the `Fin` part of a proposal stream.
    pub fn sign_stream(&self, init: &ProposalInit) -> Sig {
        Sig(self.secret.sign(&stream_sign_bytes(&self.chain_id, init)))
    }
}

#[async_trait]
impl Signer<AllianceContext> for KeySigner {
    async fn sign_vote(&self, vote: Vote) -> Result<SignedVote<AllianceContext>, SigningError> {
        let msg = vote_bytes(&self.chain_id, &vote)
            .ok_or_else(|| SigningError::from_source("vote without a round"))?;
        let signature = Sig(self.secret.sign(&msg));
        Ok(SignedMessage::new(vote, signature))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedProposal<AllianceContext>, SigningError> {
        let signature = Sig(self
            .secret
            .sign(&proposal_sign_bytes(&self.chain_id, &proposal)));
        Ok(SignedMessage::new(proposal, signature))
    }

    async fn sign_vote_extension(
        &self,
        scope: VoteExtensionScope<AllianceContext>,
        extension: (),
    ) -> Result<SignedExtension<AllianceContext>, SigningError> {
        let signature = Sig(self
            .secret
            .sign(&vote_extension_sign_bytes(&self.chain_id, &scope)));
        Ok(SignedMessage::new(extension, signature))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<AllianceContext>, SigningError> {
        let preimage = ValidatorProof::<AllianceContext>::signing_bytes(&public_key, &peer_id);
        let signature = Sig(self.secret.sign(&preimage));
        Ok(ValidatorProof::new(public_key, peer_id, signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::types::{BlockId, Height};
    use malachitebft_app_channel::app::types::core::Context as _;

    fn chain() -> ChainId {
        ChainId::new("alliance-test").unwrap()
    }

    #[tokio::test]
    async fn vote_signatures_are_over_did_method_vote_sign_bytes() {
        let sk = SecretKey::from_seed(&[3u8; 32]);
        let signer = KeySigner::new(sk.clone(), chain());
        let id = BlockId(chain::Hash([9u8; 32]));
        let ctx = AllianceContext;
        for (vote, vt) in [
            (
                ctx.new_precommit(
                    Height(7),
                    Round::new(2),
                    NilOrVal::Val(id),
                    signer.address(),
                ),
                chain::VoteType::Precommit,
            ),
            (
                ctx.new_prevote(
                    Height(7),
                    Round::new(2),
                    NilOrVal::Val(id),
                    signer.address(),
                ),
                chain::VoteType::Prevote,
            ),
        ] {
            let signed = signer.sign_vote(vote.clone()).await.unwrap();
            let expected = chain::vote_sign_bytes(&chain(), vt, 7, 2, Some(&id.0));
            assert_eq!(vote_bytes(&chain(), &vote).unwrap(), expected);
            sk.public_key()
                .verify(&expected, &signed.signature.0)
                .unwrap();
            let v = KeyVerifier::new(chain());
            assert!(
                v.verify_signed_vote(&vote, &signed.signature, &sk.public_key())
                    .await
                    .unwrap()
                    .is_valid()
            );
        }
        // nil vote
        let nil = ctx.new_prevote(Height(7), Round::new(0), NilOrVal::Nil, signer.address());
        let signed = signer.sign_vote(nil).await.unwrap();
        let expected = chain::vote_sign_bytes(&chain(), chain::VoteType::Prevote, 7, 0, None);
        sk.public_key()
            .verify(&expected, &signed.signature.0)
            .unwrap();
    }

    #[tokio::test]
    async fn signatures_are_domain_separated_and_chain_bound() {
        let sk = SecretKey::from_seed(&[4u8; 32]);
        let signer = KeySigner::new(sk.clone(), chain());
        let id = BlockId(chain::Hash([1u8; 32]));
        let proposal = AllianceContext.new_proposal(
            Height(3),
            Round::new(0),
            id,
            Round::Nil,
            signer.address(),
        );
        let signed = signer.sign_proposal(proposal.clone()).await.unwrap();
        let verifier = KeyVerifier::new(chain());
        assert!(
            verifier
                .verify_signed_proposal(&proposal, &signed.signature, &sk.public_key())
                .await
                .unwrap()
                .is_valid()
        );

        // Another chain does not accept it.
        let other = KeyVerifier::new(ChainId::new("alliance-other").unwrap());
        assert!(
            other
                .verify_signed_proposal(&proposal, &signed.signature, &sk.public_key())
                .await
                .unwrap()
                .is_invalid()
        );

        // A proposal signature is not a valid vote signature for the same (height, round, id).
        let vote = AllianceContext.new_prevote(
            Height(3),
            Round::new(0),
            NilOrVal::Val(id),
            signer.address(),
        );
        assert!(
            verifier
                .verify_signed_vote(&vote, &signed.signature, &sk.public_key())
                .await
                .unwrap()
                .is_invalid()
        );

        // Tampered proposal fails.
        let mut tampered = proposal.clone();
        tampered.pol_round = Round::new(0);
        assert!(
            verifier
                .verify_signed_proposal(&tampered, &signed.signature, &sk.public_key())
                .await
                .unwrap()
                .is_invalid()
        );
    }

    #[tokio::test]
    async fn validator_proof_round_trip() {
        let sk = SecretKey::from_seed(&[5u8; 32]);
        let signer = KeySigner::new(sk.clone(), chain());
        let proof = signer
            .sign_validator_proof(sk.public_key().to_bytes().to_vec(), vec![1, 2, 3])
            .await
            .unwrap();
        let verifier = KeyVerifier::new(chain());
        assert!(
            verifier
                .verify_validator_proof(&proof)
                .await
                .unwrap()
                .is_valid()
        );
        let mut bad = proof.clone();
        bad.peer_id = vec![1, 2, 4];
        assert!(
            verifier
                .verify_validator_proof(&bad)
                .await
                .unwrap()
                .is_invalid()
        );
    }
}
