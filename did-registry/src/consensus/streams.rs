//! Proposal streaming: cutting a block into proposal parts, and re-assembling the parts
//! received from peers.
//!
//! A stream is `Init`, `Data`…, `Fin(signature)` as `StreamContent::Data` messages with
//! sequence numbers 0, 1, …, followed by a `StreamContent::Fin` message. Parts may arrive out
//! of order and through different neighbours; they are grouped by the publishing peer and the
//! stream id. Memory is bounded: at most [`MAX_STREAMS`] partial streams (the oldest is
//! evicted) and at most `did_method::chain::MAX_BLOCK_BYTES` of data per stream.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use did_method::chain::MAX_BLOCK_BYTES;
use malachitebft_app_channel::app::streaming::StreamContent;
use malachitebft_app_channel::app::types::PeerId;
use malachitebft_app_channel::app::types::streaming::{StreamId, StreamMessage};
use tracing::debug;

use super::types::{ProposalInit, ProposalPart, Sig};

/// Size of a `Data` part.
pub const CHUNK_SIZE: usize = 128 * 1024;
/// Partial streams kept at once.
pub const MAX_STREAMS: usize = 64;
/// Partial streams kept at once per publishing peer.
pub const MAX_STREAMS_PER_PUBLISHER: usize = 8;
/// Highest sequence number accepted (a maximal block needs far fewer parts).
const MAX_SEQUENCE: u64 = (MAX_BLOCK_BYTES / CHUNK_SIZE) as u64 + 16;

/// The stream id of our `nonce`-th stream for (height, round): unique per publisher.
pub fn stream_id(height: u64, round: u32, nonce: u64) -> StreamId {
    let mut b = Vec::with_capacity(20);
    b.extend_from_slice(&height.to_be_bytes());
    b.extend_from_slice(&round.to_be_bytes());
    b.extend_from_slice(&nonce.to_be_bytes());
    StreamId::new(Bytes::from(b))
}

/// The messages of one stream carrying `encoded` (an encoded block) described by `init`.
pub fn stream_messages(
    id: StreamId,
    init: ProposalInit,
    encoded: &[u8],
    fin: Sig,
) -> Vec<StreamMessage<ProposalPart>> {
    let mut parts = Vec::with_capacity(encoded.len() / CHUNK_SIZE + 3);
    parts.push(ProposalPart::Init(init));
    for chunk in encoded.chunks(CHUNK_SIZE) {
        parts.push(ProposalPart::Data(Bytes::copy_from_slice(chunk)));
    }
    parts.push(ProposalPart::Fin(fin));
    let mut msgs: Vec<StreamMessage<ProposalPart>> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| StreamMessage::new(id.clone(), i as u64, StreamContent::Data(p)))
        .collect();
    msgs.push(StreamMessage::new(
        id,
        msgs.len() as u64,
        StreamContent::Fin,
    ));
    msgs
}

/// A complete, well-formed stream (signature and block not yet checked).
#[derive(Clone, Debug)]
pub struct CompleteStream {
    pub init: ProposalInit,
    pub data: Vec<u8>,
    pub signature: Sig,
}

struct Partial {
    created: u64,
    height: Option<u64>,
    bytes: usize,
    fin_sequence: Option<u64>,
    parts: BTreeMap<u64, StreamContent<ProposalPart>>,
}

/// Re-assembles proposal streams.
#[derive(Default)]
pub struct StreamAssembler {
    streams: HashMap<(PeerId, StreamId), Partial>,
    counter: u64,
}

impl StreamAssembler {
    /// Adds a message from `publisher`. Returns the stream once complete. Streams for heights
    /// below `min_height` are dropped.
    pub fn insert(
        &mut self,
        publisher: PeerId,
        msg: StreamMessage<ProposalPart>,
        min_height: u64,
    ) -> Option<CompleteStream> {
        if msg.sequence > MAX_SEQUENCE {
            return None;
        }
        let key = (publisher, msg.stream_id.clone());
        if !self.streams.contains_key(&key) {
            self.evict_if_full(&publisher);
            self.counter += 1;
            let p = Partial {
                created: self.counter,
                height: None,
                bytes: 0,
                fin_sequence: None,
                parts: BTreeMap::new(),
            };
            self.streams.insert(key.clone(), p);
        }
        let partial = self.streams.get_mut(&key)?;
        if partial.parts.contains_key(&msg.sequence) {
            return None;
        }
        let mut drop_stream = false;
        match &msg.content {
            StreamContent::Fin => partial.fin_sequence = Some(msg.sequence),
            StreamContent::Data(ProposalPart::Init(init)) => {
                partial.height = Some(init.height.0);
                drop_stream = msg.sequence != 0 || init.height.0 < min_height;
            }
            StreamContent::Data(ProposalPart::Data(b)) => {
                partial.bytes = partial.bytes.saturating_add(b.len());
                drop_stream = partial.bytes > MAX_BLOCK_BYTES;
            }
            StreamContent::Data(ProposalPart::Fin(_)) => {}
        }
        if drop_stream {
            debug!(publisher = %key.0, "dropping malformed, oversized or stale proposal stream");
            self.streams.remove(&key);
            return None;
        }
        partial.parts.insert(msg.sequence, msg.content);
        let done = matches!(partial.fin_sequence, Some(n) if partial.parts.len() as u64 == n + 1);
        if !done {
            return None;
        }
        let partial = self.streams.remove(&key)?;
        let complete = assemble(partial);
        if complete.is_none() {
            debug!(publisher = %key.0, "dropping ill-formed proposal stream");
        }
        complete
    }

    /// Drops partial streams for heights below `min_height`.
    pub fn prune_below(&mut self, min_height: u64) {
        self.streams
            .retain(|_, p| p.height.is_none_or(|h| h >= min_height));
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// Makes room for a new stream of `publisher`: evicts its own oldest partial stream if it
    /// has [`MAX_STREAMS_PER_PUBLISHER`], and the oldest of all if [`MAX_STREAMS`] are open,
    /// so that one peer flooding partial streams cannot crowd out the others for long.
    fn evict_if_full(&mut self, publisher: &PeerId) {
        let own = self.streams.keys().filter(|(p, _)| p == publisher).count();
        if own >= MAX_STREAMS_PER_PUBLISHER {
            self.evict_oldest(|p| p == publisher);
        }
        while self.streams.len() >= MAX_STREAMS {
            if !self.evict_oldest(|_| true) {
                break;
            }
        }
    }

    fn evict_oldest(&mut self, of: impl Fn(&PeerId) -> bool) -> bool {
        let oldest = self
            .streams
            .iter()
            .filter(|((p, _), _)| of(p))
            .min_by_key(|(_, s)| s.created)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => self.streams.remove(&k).is_some(),
            None => false,
        }
    }
}

/// Checks the shape `Init, Data+, Fin(sig), <end>` with contiguous sequences.
fn assemble(partial: Partial) -> Option<CompleteStream> {
    let n = partial.fin_sequence?;
    let mut init = None;
    let mut signature = None;
    let mut data = Vec::with_capacity(partial.bytes);
    for (i, (seq, content)) in partial.parts.into_iter().enumerate() {
        if seq != i as u64 {
            return None;
        }
        match content {
            StreamContent::Data(ProposalPart::Init(x)) if seq == 0 => init = Some(x),
            StreamContent::Data(ProposalPart::Data(b))
                if seq > 0 && seq + 1 < n && init.is_some() =>
            {
                data.extend_from_slice(&b)
            }
            StreamContent::Data(ProposalPart::Fin(s)) if seq + 1 == n => signature = Some(s),
            StreamContent::Fin if seq == n => {}
            _ => return None,
        }
    }
    let init = init?;
    if data.len() != init.total_len as usize {
        return None;
    }
    Some(CompleteStream {
        init,
        data,
        signature: signature?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::types::{Address, BlockId, Height};
    use did_method::chain::Hash;
    use did_method::crypto::SecretKey;
    use malachitebft_app_channel::app::types::core::Round;

    fn init(height: u64, len: usize) -> ProposalInit {
        ProposalInit {
            height: Height(height),
            round: Round::new(0),
            pol_round: Round::Nil,
            proposer: Address(SecretKey::from_seed(&[1; 32]).public_key()),
            block_id: BlockId(Hash([2; 32])),
            total_len: len as u32,
        }
    }

    fn peer(i: u8) -> PeerId {
        PeerId::from_bytes(&[0, 4, i, i, i, i]).unwrap()
    }

    fn sig() -> Sig {
        Sig(SecretKey::from_seed(&[1; 32]).sign(b"s"))
    }

    #[test]
    fn reassembles_out_of_order_and_ignores_duplicates() {
        let data: Vec<u8> = (0..(CHUNK_SIZE * 2 + 17)).map(|i| i as u8).collect();
        let mut msgs = stream_messages(stream_id(5, 0, 0), init(5, data.len()), &data, sig());
        assert_eq!(msgs.len(), 1 + 3 + 1 + 1);
        msgs.reverse();
        let dup = msgs[2].clone();
        let mut a = StreamAssembler::default();
        let mut out = None;
        for (i, m) in msgs.into_iter().enumerate() {
            let r = a.insert(peer(1), m, 1);
            if i == 1 {
                assert!(a.insert(peer(1), dup.clone(), 1).is_none());
            }
            if r.is_some() {
                out = r;
            }
        }
        let c = out.expect("complete");
        assert_eq!(c.data, data);
        assert_eq!(c.init, init(5, data.len()));
        assert_eq!(a.len(), 0);
    }

    #[test]
    fn streams_from_different_publishers_are_separate() {
        let data = vec![7u8; 10];
        let msgs = stream_messages(stream_id(5, 0, 0), init(5, 10), &data, sig());
        let mut a = StreamAssembler::default();
        for m in &msgs[..msgs.len() - 1] {
            assert!(a.insert(peer(1), m.clone(), 1).is_none());
        }
        // The last message from another publisher does not complete peer 1's stream.
        assert!(a.insert(peer(2), msgs[msgs.len() - 1].clone(), 1).is_none());
        assert!(a.insert(peer(1), msgs[msgs.len() - 1].clone(), 1).is_some());
    }

    #[test]
    fn rejects_wrong_length_stale_and_bounds_memory() {
        let data = vec![7u8; 10];
        // Declared length does not match.
        let mut a = StreamAssembler::default();
        let out: Vec<_> = stream_messages(stream_id(5, 0, 0), init(5, 11), &data, sig())
            .into_iter()
            .filter_map(|m| a.insert(peer(1), m, 1))
            .collect();
        assert!(out.is_empty());
        // Stale height.
        let out: Vec<_> = stream_messages(stream_id(5, 0, 1), init(5, 10), &data, sig())
            .into_iter()
            .filter_map(|m| a.insert(peer(1), m, 6))
            .collect();
        assert!(out.is_empty());
        // Many partial streams: bounded, per publisher and in total.
        let mut a = StreamAssembler::default();
        for i in 0..(MAX_STREAMS as u64 * 2) {
            let m = stream_messages(stream_id(9, 0, i), init(9, 10), &data, sig()).remove(0);
            a.insert(peer(3), m, 1);
        }
        assert_eq!(a.len(), MAX_STREAMS_PER_PUBLISHER);
        for i in 0..(MAX_STREAMS as u8 * 2) {
            let m = stream_messages(stream_id(9, 0, 0), init(9, 10), &data, sig()).remove(0);
            a.insert(peer(10 + i), m, 1);
        }
        assert_eq!(a.len(), MAX_STREAMS);
        a.prune_below(10);
        assert_eq!(a.len(), 0);
    }
}
