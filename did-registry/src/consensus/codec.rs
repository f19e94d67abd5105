//! [`WireCodec`]: the binary encoding of everything Malachite sends over the network, keeps in
//! its write-ahead log, or exchanges during value sync.
//!
//! A simple, explicit format (no schema compiler): integers big-endian and fixed width, byte
//! strings and lists prefixed by a `u32` length/count, enums by a one-byte tag, an optional
//! round as `0` (nil) or `1` + `u32`. Decoding is total: malformed input yields a
//! [`CodecError`], never a panic, and trailing bytes are rejected. Lists are bounded.
//!
//! Changing this format breaks the WAL of nodes being upgraded and the wire protocol: bump
//! the tags below (or add a version byte) if it ever has to change.

use std::ops::RangeInclusive;

use bytes::Bytes;
use did_method::chain::Hash;
use did_method::crypto::{PublicKey, Signature};
use malachitebft_app_channel::app::consensus::{LivenessMsg, ProposedValue, SignedConsensusMsg};
use malachitebft_app_channel::app::streaming::StreamContent;
use malachitebft_app_channel::app::types::PeerId;
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::{
    ExtendedCommitCertificate, ExtendedCommitSignature, NilOrVal, PolkaCertificate, PolkaSignature,
    Round, RoundCertificate, RoundCertificateType, RoundSignature, SignedMessage, ValidatorProof,
    Validity, VoteType,
};
use malachitebft_app_channel::app::types::streaming::{StreamId, StreamMessage};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_sync::{ValueRequest, ValueResponse};

use super::types::{
    Address, AllianceContext, BlockId, Height, Proposal, ProposalInit, ProposalPart, Sig, Vote,
};

type Ctx = AllianceContext;

/// Upper bound on any list in a message (signatures of a certificate, values of a sync
/// response). Validator sets have at most `did_method::chain::MAX_VALIDATORS` (150) members.
const MAX_LIST: usize = 4096;

/// Why bytes could not be decoded (or, rarely, a value encoded).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("unexpected end of input")]
    Truncated,
    #[error("{0} trailing bytes")]
    Trailing(usize),
    #[error("invalid {what} tag {tag}")]
    Tag { what: &'static str, tag: u8 },
    #[error("list of {0} items is too long")]
    TooLong(usize),
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("cannot encode: {0}")]
    Encode(&'static str),
}

/// The codec for network messages, sync and the WAL.
#[derive(Clone, Copy, Debug, Default)]
pub struct WireCodec;

// ---------------------------------------------------------------------------------------------
// Primitive writer / reader

#[derive(Default)]
struct W(Vec<u8>);

impl W {
    fn u8(&mut self, x: u8) {
        self.0.push(x);
    }
    fn u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_be_bytes());
    }
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_be_bytes());
    }
    fn fixed(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn len(&mut self, n: usize) -> Result<(), CodecError> {
        let n = u32::try_from(n).map_err(|_| CodecError::Encode("length exceeds u32"))?;
        self.u32(n);
        Ok(())
    }
    fn bytes(&mut self, b: &[u8]) -> Result<(), CodecError> {
        self.len(b.len())?;
        self.fixed(b);
        Ok(())
    }
    fn round(&mut self, r: Round) {
        match r.as_u32() {
            None => self.u8(0),
            Some(r) => {
                self.u8(1);
                self.u32(r);
            }
        }
    }
    fn height(&mut self, h: Height) {
        self.u64(h.0);
    }
    fn address(&mut self, a: &Address) {
        self.fixed(a.0.as_bytes());
    }
    fn sig(&mut self, s: &Sig) {
        self.fixed(&s.0.to_bytes());
    }
    fn block_id(&mut self, id: &BlockId) {
        self.fixed(&id.0.0);
    }
    fn nil_or_val(&mut self, v: &NilOrVal<BlockId>) {
        match v {
            NilOrVal::Nil => self.u8(0),
            NilOrVal::Val(id) => {
                self.u8(1);
                self.block_id(id);
            }
        }
    }
    fn vote_type(&mut self, t: VoteType) {
        self.u8(match t {
            VoteType::Prevote => 1,
            VoteType::Precommit => 2,
        });
    }
    fn finish(self) -> Bytes {
        Bytes::from(self.0)
    }
}

struct R<'a> {
    buf: &'a [u8],
}

impl<'a> R<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.buf.len() < n {
            return Err(CodecError::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, CodecError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn bytes(&mut self) -> Result<&'a [u8], CodecError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    /// A list count, bounded by [`MAX_LIST`] and by what the remaining input can hold.
    fn count(&mut self, min_item_len: usize) -> Result<usize, CodecError> {
        let n = self.u32()? as usize;
        if n > MAX_LIST {
            return Err(CodecError::TooLong(n));
        }
        if n.saturating_mul(min_item_len.max(1)) > self.buf.len() {
            return Err(CodecError::Truncated);
        }
        Ok(n)
    }
    fn round(&mut self) -> Result<Round, CodecError> {
        match self.u8()? {
            0 => Ok(Round::Nil),
            1 => Ok(Round::new(self.u32()?)),
            tag => Err(CodecError::Tag { what: "round", tag }),
        }
    }
    fn height(&mut self) -> Result<Height, CodecError> {
        Ok(Height(self.u64()?))
    }
    fn address(&mut self) -> Result<Address, CodecError> {
        let b: [u8; 32] = self.array()?;
        PublicKey::from_bytes(&b)
            .map(Address)
            .map_err(|_| CodecError::Invalid("public key"))
    }
    fn sig(&mut self) -> Result<Sig, CodecError> {
        let b: [u8; 64] = self.array()?;
        Ok(Sig(Signature::from_bytes(&b)))
    }
    fn block_id(&mut self) -> Result<BlockId, CodecError> {
        Ok(BlockId(Hash(self.array()?)))
    }
    fn nil_or_val(&mut self) -> Result<NilOrVal<BlockId>, CodecError> {
        match self.u8()? {
            0 => Ok(NilOrVal::Nil),
            1 => Ok(NilOrVal::Val(self.block_id()?)),
            tag => Err(CodecError::Tag {
                what: "nil-or-value",
                tag,
            }),
        }
    }
    fn vote_type(&mut self) -> Result<VoteType, CodecError> {
        match self.u8()? {
            1 => Ok(VoteType::Prevote),
            2 => Ok(VoteType::Precommit),
            tag => Err(CodecError::Tag {
                what: "vote type",
                tag,
            }),
        }
    }
    fn end(self) -> Result<(), CodecError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(CodecError::Trailing(self.buf.len()))
        }
    }
}

/// Encode with `f`, decode with `g` requiring all input to be consumed.
fn encode_with(f: impl FnOnce(&mut W) -> Result<(), CodecError>) -> Result<Bytes, CodecError> {
    let mut w = W::default();
    f(&mut w)?;
    Ok(w.finish())
}

fn decode_with<T>(
    bytes: &[u8],
    g: impl FnOnce(&mut R<'_>) -> Result<T, CodecError>,
) -> Result<T, CodecError> {
    let mut r = R::new(bytes);
    let out = g(&mut r)?;
    r.end()?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Composite encodings

const ADDRESS_LEN: usize = 32;
const SIG_LEN: usize = 64;

fn put_vote(w: &mut W, v: &Vote) {
    w.vote_type(v.vote_type);
    w.height(v.height);
    w.round(v.round);
    w.nil_or_val(&v.value);
    w.address(&v.validator);
    // Vote extensions are disabled: never encoded, always decoded as `None`.
}

fn get_vote(r: &mut R<'_>) -> Result<Vote, CodecError> {
    Ok(Vote {
        vote_type: r.vote_type()?,
        height: r.height()?,
        round: r.round()?,
        value: r.nil_or_val()?,
        validator: r.address()?,
        extension: None,
    })
}

fn put_proposal(w: &mut W, p: &Proposal) {
    w.height(p.height);
    w.round(p.round);
    w.block_id(&p.value);
    w.round(p.pol_round);
    w.address(&p.proposer);
}

fn get_proposal(r: &mut R<'_>) -> Result<Proposal, CodecError> {
    Ok(Proposal {
        height: r.height()?,
        round: r.round()?,
        value: r.block_id()?,
        pol_round: r.round()?,
        proposer: r.address()?,
    })
}

fn put_signed_msg(w: &mut W, msg: &SignedConsensusMsg<Ctx>) {
    match msg {
        SignedConsensusMsg::Vote(v) => {
            w.u8(1);
            put_vote(w, &v.message);
            w.sig(&v.signature);
        }
        SignedConsensusMsg::Proposal(p) => {
            w.u8(2);
            put_proposal(w, &p.message);
            w.sig(&p.signature);
        }
    }
}

fn get_signed_msg(r: &mut R<'_>) -> Result<SignedConsensusMsg<Ctx>, CodecError> {
    match r.u8()? {
        1 => {
            let v = get_vote(r)?;
            Ok(SignedConsensusMsg::Vote(SignedMessage::new(v, r.sig()?)))
        }
        2 => {
            let p = get_proposal(r)?;
            Ok(SignedConsensusMsg::Proposal(SignedMessage::new(
                p,
                r.sig()?,
            )))
        }
        tag => Err(CodecError::Tag {
            what: "consensus message",
            tag,
        }),
    }
}

fn put_polka(w: &mut W, c: &PolkaCertificate<Ctx>) -> Result<(), CodecError> {
    w.height(c.height);
    w.round(c.round);
    w.block_id(&c.value_id);
    w.len(c.polka_signatures.len())?;
    for s in &c.polka_signatures {
        w.address(&s.address);
        w.sig(&s.signature);
    }
    Ok(())
}

fn get_polka(r: &mut R<'_>) -> Result<PolkaCertificate<Ctx>, CodecError> {
    let height = r.height()?;
    let round = r.round()?;
    let value_id = r.block_id()?;
    let n = r.count(ADDRESS_LEN + SIG_LEN)?;
    let mut polka_signatures = Vec::with_capacity(n);
    for _ in 0..n {
        let address = r.address()?;
        polka_signatures.push(PolkaSignature::new(address, r.sig()?));
    }
    Ok(PolkaCertificate {
        height,
        round,
        value_id,
        polka_signatures,
    })
}

fn put_round_cert(w: &mut W, c: &RoundCertificate<Ctx>) -> Result<(), CodecError> {
    w.height(c.height);
    w.round(c.round);
    w.u8(match c.cert_type {
        RoundCertificateType::Skip => 1,
        RoundCertificateType::Precommit => 2,
    });
    w.len(c.round_signatures.len())?;
    for s in &c.round_signatures {
        w.vote_type(s.vote_type);
        w.nil_or_val(&s.value_id);
        w.address(&s.address);
        w.sig(&s.signature);
    }
    Ok(())
}

fn get_round_cert(r: &mut R<'_>) -> Result<RoundCertificate<Ctx>, CodecError> {
    let height = r.height()?;
    let round = r.round()?;
    let cert_type = match r.u8()? {
        1 => RoundCertificateType::Skip,
        2 => RoundCertificateType::Precommit,
        tag => {
            return Err(CodecError::Tag {
                what: "round certificate type",
                tag,
            });
        }
    };
    let n = r.count(2 + ADDRESS_LEN + SIG_LEN)?;
    let mut round_signatures = Vec::with_capacity(n);
    for _ in 0..n {
        let vote_type = r.vote_type()?;
        let value_id = r.nil_or_val()?;
        let address = r.address()?;
        round_signatures.push(RoundSignature::new(vote_type, value_id, address, r.sig()?));
    }
    Ok(RoundCertificate {
        height,
        round,
        cert_type,
        round_signatures,
    })
}

fn put_liveness(w: &mut W, m: &LivenessMsg<Ctx>) -> Result<(), CodecError> {
    match m {
        LivenessMsg::Vote(v) => {
            w.u8(1);
            put_vote(w, &v.message);
            w.sig(&v.signature);
            Ok(())
        }
        LivenessMsg::PolkaCertificate(c) => {
            w.u8(2);
            put_polka(w, c)
        }
        LivenessMsg::SkipRoundCertificate(c) => {
            w.u8(3);
            put_round_cert(w, c)
        }
    }
}

fn get_liveness(r: &mut R<'_>) -> Result<LivenessMsg<Ctx>, CodecError> {
    match r.u8()? {
        1 => {
            let v = get_vote(r)?;
            Ok(LivenessMsg::Vote(SignedMessage::new(v, r.sig()?)))
        }
        2 => Ok(LivenessMsg::PolkaCertificate(get_polka(r)?)),
        3 => Ok(LivenessMsg::SkipRoundCertificate(get_round_cert(r)?)),
        tag => Err(CodecError::Tag {
            what: "liveness message",
            tag,
        }),
    }
}

fn put_part(w: &mut W, p: &ProposalPart) -> Result<(), CodecError> {
    match p {
        ProposalPart::Init(i) => {
            w.u8(1);
            w.height(i.height);
            w.round(i.round);
            w.round(i.pol_round);
            w.address(&i.proposer);
            w.block_id(&i.block_id);
            w.u32(i.total_len);
            Ok(())
        }
        ProposalPart::Data(b) => {
            w.u8(2);
            w.bytes(b)
        }
        ProposalPart::Fin(s) => {
            w.u8(3);
            w.sig(s);
            Ok(())
        }
    }
}

fn get_part(r: &mut R<'_>) -> Result<ProposalPart, CodecError> {
    match r.u8()? {
        1 => Ok(ProposalPart::Init(ProposalInit {
            height: r.height()?,
            round: r.round()?,
            pol_round: r.round()?,
            proposer: r.address()?,
            block_id: r.block_id()?,
            total_len: r.u32()?,
        })),
        2 => Ok(ProposalPart::Data(Bytes::copy_from_slice(r.bytes()?))),
        3 => Ok(ProposalPart::Fin(r.sig()?)),
        tag => Err(CodecError::Tag {
            what: "proposal part",
            tag,
        }),
    }
}

fn put_stream_msg(w: &mut W, m: &StreamMessage<ProposalPart>) -> Result<(), CodecError> {
    w.bytes(&m.stream_id.to_bytes())?;
    w.u64(m.sequence);
    match &m.content {
        StreamContent::Fin => {
            w.u8(0);
            Ok(())
        }
        StreamContent::Data(p) => {
            w.u8(1);
            put_part(w, p)
        }
    }
}

fn get_stream_msg(r: &mut R<'_>) -> Result<StreamMessage<ProposalPart>, CodecError> {
    let stream_id = StreamId::new(Bytes::copy_from_slice(r.bytes()?));
    let sequence = r.u64()?;
    let content = match r.u8()? {
        0 => StreamContent::Fin,
        1 => StreamContent::Data(get_part(r)?),
        tag => {
            return Err(CodecError::Tag {
                what: "stream content",
                tag,
            });
        }
    };
    Ok(StreamMessage::new(stream_id, sequence, content))
}

fn put_proof(w: &mut W, p: &ValidatorProof<Ctx>) -> Result<(), CodecError> {
    w.bytes(&p.public_key)?;
    w.bytes(&p.peer_id)?;
    w.sig(&p.signature);
    Ok(())
}

fn get_proof(r: &mut R<'_>) -> Result<ValidatorProof<Ctx>, CodecError> {
    let public_key = r.bytes()?.to_vec();
    let peer_id = r.bytes()?.to_vec();
    Ok(ValidatorProof::new(public_key, peer_id, r.sig()?))
}

fn put_peer_id(w: &mut W, p: &PeerId) -> Result<(), CodecError> {
    w.bytes(&p.to_bytes())
}

fn get_peer_id(r: &mut R<'_>) -> Result<PeerId, CodecError> {
    PeerId::from_bytes(r.bytes()?).map_err(|_| CodecError::Invalid("peer id"))
}

fn put_ext_cert(w: &mut W, c: &ExtendedCommitCertificate<Ctx>) -> Result<(), CodecError> {
    w.height(c.height);
    w.round(c.round);
    w.block_id(&c.value_id);
    w.len(c.commit_signatures.len())?;
    for s in &c.commit_signatures {
        w.address(&s.address);
        w.sig(&s.signature);
        match &s.extension {
            None => w.u8(0),
            Some(ext) => {
                w.u8(1);
                w.sig(&ext.signature);
            }
        }
    }
    Ok(())
}

fn get_ext_cert(r: &mut R<'_>) -> Result<ExtendedCommitCertificate<Ctx>, CodecError> {
    let height = r.height()?;
    let round = r.round()?;
    let value_id = r.block_id()?;
    let n = r.count(ADDRESS_LEN + SIG_LEN + 1)?;
    let mut commit_signatures = Vec::with_capacity(n);
    for _ in 0..n {
        let address = r.address()?;
        let signature = r.sig()?;
        let extension = match r.u8()? {
            0 => None,
            1 => Some(SignedMessage::new((), r.sig()?)),
            tag => {
                return Err(CodecError::Tag {
                    what: "extension flag",
                    tag,
                });
            }
        };
        commit_signatures.push(ExtendedCommitSignature::new(address, signature, extension));
    }
    Ok(ExtendedCommitCertificate {
        height,
        round,
        value_id,
        commit_signatures,
    })
}

fn put_range(w: &mut W, range: &RangeInclusive<Height>) {
    w.height(*range.start());
    w.height(*range.end());
}

fn get_range(r: &mut R<'_>) -> Result<RangeInclusive<Height>, CodecError> {
    let start = r.height()?;
    let end = r.height()?;
    Ok(start..=end)
}

fn put_proposed_value(w: &mut W, v: &ProposedValue<Ctx>) {
    w.height(v.height);
    w.round(v.round);
    w.round(v.valid_round);
    w.address(&v.proposer);
    w.block_id(&v.value);
    w.u8(match v.validity {
        Validity::Valid => 1,
        Validity::Invalid => 0,
    });
}

fn get_proposed_value(r: &mut R<'_>) -> Result<ProposedValue<Ctx>, CodecError> {
    Ok(ProposedValue {
        height: r.height()?,
        round: r.round()?,
        valid_round: r.round()?,
        proposer: r.address()?,
        value: r.block_id()?,
        validity: match r.u8()? {
            1 => Validity::Valid,
            0 => Validity::Invalid,
            tag => {
                return Err(CodecError::Tag {
                    what: "validity",
                    tag,
                });
            }
        },
    })
}

fn put_response(w: &mut W, resp: &Response<Ctx>) -> Result<(), CodecError> {
    match resp {
        Response::ValueResponse(v) => {
            w.u8(1);
            w.height(v.start_height);
            w.len(v.values.len())?;
            for raw in &v.values {
                w.bytes(&raw.value_bytes)?;
                put_ext_cert(w, &raw.certificate)?;
            }
            Ok(())
        }
    }
}

fn get_response(r: &mut R<'_>) -> Result<Response<Ctx>, CodecError> {
    match r.u8()? {
        1 => {
            let start_height = r.height()?;
            let n = r.count(4 + 8 + 2 + 32 + 4)?;
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                let value_bytes = Bytes::copy_from_slice(r.bytes()?);
                let certificate = get_ext_cert(r)?;
                values.push(RawDecidedValue::new(value_bytes, certificate));
            }
            Ok(Response::ValueResponse(ValueResponse::new(
                start_height,
                values,
            )))
        }
        tag => Err(CodecError::Tag {
            what: "sync response",
            tag,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Codec implementations

macro_rules! impl_codec {
    ($ty:ty, |$w:ident, $v:ident| $enc:expr, |$r:ident| $dec:expr) => {
        impl Codec<$ty> for WireCodec {
            type Error = CodecError;

            fn decode(&self, bytes: Bytes) -> Result<$ty, CodecError> {
                decode_with(&bytes, |$r| $dec)
            }

            fn encode(&self, $v: &$ty) -> Result<Bytes, CodecError> {
                encode_with(|$w| $enc)
            }
        }
    };
}

impl_codec!(ProposalPart, |w, v| put_part(w, v), |r| get_part(r));

impl_codec!(
    SignedConsensusMsg<Ctx>,
    |w, v| {
        put_signed_msg(w, v);
        Ok(())
    },
    |r| get_signed_msg(r)
);

impl_codec!(LivenessMsg<Ctx>, |w, v| put_liveness(w, v), |r| {
    get_liveness(r)
});

impl_codec!(
    StreamMessage<ProposalPart>,
    |w, v| put_stream_msg(w, v),
    |r| get_stream_msg(r)
);

impl_codec!(ValidatorProof<Ctx>, |w, v| put_proof(w, v), |r| get_proof(
    r
));

impl_codec!(
    Status<Ctx>,
    |w, v| {
        put_peer_id(w, &v.peer_id)?;
        w.height(v.tip_height);
        w.height(v.history_min_height);
        Ok(())
    },
    |r| Ok(Status {
        peer_id: get_peer_id(r)?,
        tip_height: r.height()?,
        history_min_height: r.height()?
    })
);

impl_codec!(
    Request<Ctx>,
    |w, v| {
        match v {
            Request::ValueRequest(req) => {
                w.u8(1);
                put_range(w, &req.range);
            }
        }
        Ok(())
    },
    |r| match r.u8()? {
        1 => Ok(Request::ValueRequest(ValueRequest::new(get_range(r)?))),
        tag => Err(CodecError::Tag {
            what: "sync request",
            tag
        }),
    }
);

impl_codec!(Response<Ctx>, |w, v| put_response(w, v), |r| get_response(
    r
));

impl_codec!(
    ProposedValue<Ctx>,
    |w, v| {
        put_proposed_value(w, v);
        Ok(())
    },
    |r| get_proposed_value(r)
);

impl_codec!(
    PolkaCertificate<Ctx>,
    |w, v| put_polka(w, v),
    |r| get_polka(r)
);

impl HasEncodedLen<Response<Ctx>> for WireCodec {
    fn encoded_len(&self, msg: &Response<Ctx>) -> Result<usize, CodecError> {
        // Exact, by construction; a sync response is encoded once more here, which is cheap
        // next to reading the blocks from storage.
        let mut w = W::default();
        put_response(&mut w, msg)?;
        Ok(w.0.len())
    }
}

/// Encodes a proposed value (used by the proposal store's log).
pub(crate) fn encode_proposed_value(v: &ProposedValue<Ctx>) -> Vec<u8> {
    let mut w = W::default();
    put_proposed_value(&mut w, v);
    w.0
}

/// Decodes what [`encode_proposed_value`] produced.
pub(crate) fn decode_proposed_value(bytes: &[u8]) -> Result<ProposedValue<Ctx>, CodecError> {
    decode_with(bytes, get_proposed_value)
}

#[cfg(test)]
mod tests;
