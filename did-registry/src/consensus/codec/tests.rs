//! Tests of the consensus codecs: consensus, liveness, stream, sync and WAL messages round
//! trip, and bad keys, tags and huge lists are refused.

use super::*;
use crate::consensus::signing::KeySigner;
use did_method::chain::ChainId;
use did_method::crypto::SecretKey;
use malachitebft_app_channel::Signer as _;
use std::fmt::Debug;

fn addr(seed: u8) -> Address {
    Address(SecretKey::from_seed(&[seed; 32]).public_key())
}

fn sig(seed: u8) -> Sig {
    Sig(SecretKey::from_seed(&[seed; 32]).sign(b"x"))
}

fn id(b: u8) -> BlockId {
    BlockId(Hash([b; 32]))
}

fn round_trip<T>(v: T)
where
    T: PartialEq + Debug,
    WireCodec: Codec<T>,
    <WireCodec as Codec<T>>::Error: Debug,
{
    let bytes = WireCodec.encode(&v).unwrap();
    let back: T = WireCodec.decode(bytes.clone()).unwrap();
    assert_eq!(back, v);
    // Every strict prefix fails to decode (no panic), and so does a trailing byte.
    for cut in 0..bytes.len() {
        assert!(
            <WireCodec as Codec<T>>::decode(&WireCodec, bytes.slice(..cut)).is_err(),
            "prefix {cut} decoded"
        );
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(<WireCodec as Codec<T>>::decode(&WireCodec, Bytes::from(longer)).is_err());
}

fn vote(t: VoteType, v: NilOrVal<BlockId>) -> Vote {
    Vote {
        vote_type: t,
        height: Height(42),
        round: Round::new(3),
        value: v,
        validator: addr(1),
        extension: None,
    }
}

#[test]
fn consensus_messages_round_trip() {
    round_trip(SignedConsensusMsg::<Ctx>::Vote(SignedMessage::new(
        vote(VoteType::Prevote, NilOrVal::Nil),
        sig(1),
    )));
    round_trip(SignedConsensusMsg::<Ctx>::Vote(SignedMessage::new(
        vote(VoteType::Precommit, NilOrVal::Val(id(7))),
        sig(2),
    )));
    round_trip(SignedConsensusMsg::<Ctx>::Proposal(SignedMessage::new(
        Proposal {
            height: Height(9),
            round: Round::new(1),
            value: id(3),
            pol_round: Round::Nil,
            proposer: addr(2),
        },
        sig(3),
    )));
    round_trip(SignedConsensusMsg::<Ctx>::Proposal(SignedMessage::new(
        Proposal {
            height: Height(9),
            round: Round::new(4),
            value: id(3),
            pol_round: Round::new(2),
            proposer: addr(2),
        },
        sig(3),
    )));
}

#[test]
fn liveness_and_certificates_round_trip() {
    round_trip(LivenessMsg::<Ctx>::Vote(SignedMessage::new(
        vote(VoteType::Precommit, NilOrVal::Nil),
        sig(4),
    )));
    let polka = PolkaCertificate::<Ctx> {
        height: Height(5),
        round: Round::new(0),
        value_id: id(1),
        polka_signatures: vec![
            PolkaSignature::new(addr(1), sig(1)),
            PolkaSignature::new(addr(2), sig(2)),
        ],
    };
    round_trip(polka.clone());
    round_trip(LivenessMsg::<Ctx>::PolkaCertificate(polka));
    round_trip(LivenessMsg::<Ctx>::SkipRoundCertificate(RoundCertificate {
        height: Height(5),
        round: Round::new(2),
        cert_type: RoundCertificateType::Skip,
        round_signatures: vec![
            RoundSignature::new(VoteType::Prevote, NilOrVal::Nil, addr(1), sig(1)),
            RoundSignature::new(VoteType::Precommit, NilOrVal::Val(id(9)), addr(3), sig(3)),
        ],
    }));
}

#[test]
fn stream_messages_round_trip() {
    let init = ProposalInit {
        height: Height(11),
        round: Round::new(0),
        pol_round: Round::Nil,
        proposer: addr(5),
        block_id: id(8),
        total_len: 1234,
    };
    let sid = StreamId::new(Bytes::from_static(&[1, 2, 3]));
    round_trip(ProposalPart::Init(init.clone()));
    round_trip(ProposalPart::Data(Bytes::from_static(b"hello block")));
    round_trip(ProposalPart::Fin(sig(6)));
    round_trip(StreamMessage::new(
        sid.clone(),
        0,
        StreamContent::Data(ProposalPart::Init(init)),
    ));
    round_trip(StreamMessage::new(
        sid.clone(),
        1,
        StreamContent::Data(ProposalPart::Data(Bytes::from_static(b"abc"))),
    ));
    round_trip(StreamMessage::<ProposalPart>::new(
        sid,
        2,
        StreamContent::Fin,
    ));
}

#[tokio::test]
async fn validator_proof_round_trip() {
    let sk = SecretKey::from_seed(&[8; 32]);
    let signer = KeySigner::new(sk.clone(), ChainId::new("alliance-test").unwrap());
    let proof = signer
        .sign_validator_proof(sk.public_key().to_bytes().to_vec(), vec![0, 36, 8, 1])
        .await
        .unwrap();
    round_trip(proof);
}

#[test]
fn sync_messages_round_trip() {
    let peer_id = PeerId::from_bytes(&[0, 4, 1, 2, 3, 4]).unwrap();
    round_trip(Status::<Ctx> {
        peer_id,
        tip_height: Height(100),
        history_min_height: Height(1),
    });
    round_trip(Request::<Ctx>::ValueRequest(ValueRequest::new(
        Height(3)..=Height(7),
    )));
    let cert = ExtendedCommitCertificate::<Ctx> {
        height: Height(3),
        round: Round::new(1),
        value_id: id(3),
        commit_signatures: vec![
            ExtendedCommitSignature::new(addr(1), sig(1), None),
            ExtendedCommitSignature::new(addr(2), sig(2), Some(SignedMessage::new((), sig(9)))),
        ],
    };
    let resp = Response::<Ctx>::ValueResponse(ValueResponse::new(
        Height(3),
        vec![RawDecidedValue::new(
            Bytes::from_static(b"{\"block\":1}"),
            cert,
        )],
    ));
    let len = WireCodec.encoded_len(&resp).unwrap();
    assert_eq!(len, WireCodec.encode(&resp).unwrap().len());
    round_trip(resp);
    round_trip(Response::<Ctx>::ValueResponse(ValueResponse::new(
        Height(3),
        vec![],
    )));
}

#[test]
fn wal_entries_round_trip() {
    for validity in [Validity::Valid, Validity::Invalid] {
        let pv = ProposedValue::<Ctx> {
            height: Height(8),
            round: Round::new(2),
            valid_round: Round::new(1),
            proposer: addr(3),
            value: id(4),
            validity,
        };
        round_trip(pv.clone());
        assert_eq!(
            decode_proposed_value(&encode_proposed_value(&pv)).unwrap(),
            pv
        );
    }
}

#[test]
fn rejects_bad_keys_tags_and_huge_lists() {
    // An unknown message tag.
    let good = WireCodec
        .encode(&SignedConsensusMsg::<Ctx>::Vote(SignedMessage::new(
            vote(VoteType::Prevote, NilOrVal::Nil),
            sig(1),
        )))
        .unwrap();
    let mut bad = good.to_vec();
    bad[0] = 9;
    assert!(
        <WireCodec as Codec<SignedConsensusMsg<Ctx>>>::decode(&WireCodec, Bytes::from(bad))
            .is_err()
    );
    // A polka certificate claiming 2^32-1 signatures.
    let mut w = W::default();
    w.height(Height(1));
    w.round(Round::new(0));
    w.block_id(&id(1));
    w.u32(u32::MAX);
    assert!(<WireCodec as Codec<PolkaCertificate<Ctx>>>::decode(&WireCodec, w.finish()).is_err());
}
