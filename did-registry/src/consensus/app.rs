//! The application side of Malachite: answers every [`AppMsg`] using the [`Host`].

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use did_method::chain::{Block, ChainId};
use malachitebft_app_channel::app::consensus::ProposedValue;
use malachitebft_app_channel::app::engine::host::{HeightParams, Next, SyncedValueOutcome};
use malachitebft_app_channel::app::types::LocallyProposedValue;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, LinearTimeouts, Round, Validity,
};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::{AppMsg, NetworkMsg};
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::ConsensusError;
use super::cert::{to_chain_certificate, to_extended_certificate};
use super::host::{Host, HostError};
use super::signing::{KeySigner, stream_sign_bytes};
use super::store::ProposalStore;
use super::streams::{CompleteStream, StreamAssembler, stream_id, stream_messages};
use super::types::{Address, AllianceContext, BlockId, Height, ProposalInit, ValidatorSet};

type Ctx = AllianceContext;
type Pv = ProposedValue<Ctx>;

/// Complete streams for future heights kept until that height starts.
const MAX_PENDING: usize = 32;
/// How far ahead of the next height a stream may be kept.
const MAX_PENDING_AHEAD: u64 = 2;
/// Most decided values served in one sync response.
const MAX_SYNC_BATCH: u64 = 64;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Why a decided block could not be committed.
enum CommitError {
    /// We do not hold the block (it can be fetched from peers).
    MissingBlock(String),
    /// Conversion, verification or the host's commit failed.
    Failed(String),
}

/// State of the application loop.
pub(crate) struct App {
    host: Arc<dyn Host>,
    chain_id: ChainId,
    signer: KeySigner,
    address: Address,
    store: ProposalStore,
    streams: StreamAssembler,
    pending: Vec<CompleteStream>,
    timeouts: LinearTimeouts,
    target_time: Option<Duration>,
    empty_block_interval: Option<Duration>,
    /// A request for a value we answer once an operation arrives or the empty-block wait
    /// ends (`None`: nothing deferred). The message loop keeps running meanwhile.
    deferred: Option<Deferred>,
    /// Makes our stream ids unique, also across restarts.
    stream_nonce: u64,
    /// (height, time) of the last block we know committed.
    last_time: Option<(u64, u64)>,
}

/// A request for a value to propose, answered later (see `App::empty_wait_until`).
struct Deferred {
    height: Height,
    round: Round,
    until_ms: u64,
    reply: tokio::sync::oneshot::Sender<LocallyProposedValue<Ctx>>,
}

impl App {
    pub(crate) fn new(
        host: Arc<dyn Host>,
        signer: KeySigner,
        store: ProposalStore,
        timeouts: LinearTimeouts,
        target_time: Option<Duration>,
        empty_block_interval: Option<Duration>,
    ) -> Self {
        Self {
            chain_id: host.chain_id().clone(),
            address: signer.address(),
            host,
            signer,
            store,
            streams: StreamAssembler::default(),
            pending: Vec::new(),
            timeouts,
            target_time,
            empty_block_interval,
            deferred: None,
            stream_nonce: now_ms(),
            last_time: None,
        }
    }

    fn height_params(&self, height: u64) -> Result<HeightParams<Ctx>, ConsensusError> {
        let set = self
            .host
            .validator_set(height)
            .ok_or(ConsensusError::NoValidatorSet(height))?;
        let set = ValidatorSet::from_chain(&set).ok_or(ConsensusError::NoValidatorSet(height))?;
        Ok(HeightParams::new(set, self.timeouts, self.target_time))
    }

    /// Handles one message from consensus. An error is fatal for the engine.
    pub(crate) async fn handle(
        &mut self,
        msg: AppMsg<Ctx>,
        network: &mpsc::Sender<NetworkMsg<Ctx>>,
    ) -> Result<(), ConsensusError> {
        match msg {
            AppMsg::ConsensusReady { reply } => {
                let next = self.host.next_height();
                self.store.prune_below(next);
                let params = self.height_params(next)?;
                info!(
                    height = next,
                    validators = params.validator_set.validators().len(),
                    "consensus ready"
                );
                if reply.send((Height(next), params)).is_err() {
                    warn!("consensus dropped the ConsensusReady reply");
                }
            }

            AppMsg::StartedRound {
                height,
                round,
                proposer,
                role,
                reply_value,
            } => {
                debug!(%height, %round, %proposer, ?role, "started round");
                if self
                    .deferred
                    .as_ref()
                    .is_some_and(|d| (d.height, d.round) != (height, round))
                {
                    // Consensus moved on: that request is void.
                    self.deferred = None;
                }
                let values = self.started_round(height.0, round);
                if reply_value.send(values).is_err() {
                    warn!("consensus dropped the StartedRound reply");
                }
            }

            AppMsg::GetValue {
                height,
                round,
                timeout,
                reply,
            } => {
                if round == Round::new(0)
                    && let Some(until_ms) = self.empty_wait_until(height.0, timeout)
                {
                    debug!(%height, "mempool empty: waiting for operations before proposing");
                    self.deferred = Some(Deferred {
                        height,
                        round,
                        until_ms,
                        reply,
                    });
                    return Ok(());
                }
                self.propose(height, round, reply, network).await?;
            }

            AppMsg::ReceivedProposalPart {
                from,
                published_by,
                part,
                reply,
            } => {
                let publisher = published_by.unwrap_or(from);
                let next = self.host.next_height();
                let value = match self.streams.insert(publisher, part, next) {
                    Some(stream) => self.on_stream(stream, next),
                    None => None,
                };
                if reply.send(value).is_err() {
                    warn!("consensus dropped the ReceivedProposalPart reply");
                }
            }

            AppMsg::RestreamProposal {
                height,
                round,
                valid_round,
                address,
                value_id,
            } => match self.store.block(height.0, &value_id) {
                Some(block) => {
                    debug!(%height, %round, %valid_round, original_proposer = %address, block = %value_id, "restreaming");
                    self.publish(network, &block, round, valid_round).await?;
                }
                None => {
                    debug!(%height, %round, block = %value_id, "cannot restream: block not held")
                }
            },

            AppMsg::Decided {
                certificate,
                extensions: _,
                reply,
            } => {
                if let Err(CommitError::MissingBlock(reason) | CommitError::Failed(reason)) =
                    self.commit(&certificate)
                {
                    // Retried at `Finalized`, where a failure is fatal.
                    error!(height = %certificate.height, block = %certificate.value_id, %reason, "could not commit decided block");
                }
                if reply.send(()).is_err() {
                    warn!("consensus dropped the Decided reply");
                }
            }

            AppMsg::Finalized {
                certificate,
                extensions: _,
                evidence,
                reply,
            } => {
                if !evidence.is_empty() {
                    warn!(height = %certificate.height, ?evidence, "misbehaviour observed");
                }
                let height = certificate.height.0;
                if self.host.next_height() <= height {
                    match self.commit(&certificate) {
                        Ok(()) => {}
                        Err(CommitError::MissingBlock(reason)) => {
                            // Only after losing a received block in a machine crash: re-run
                            // the height; peers are past it, so value sync brings the block
                            // with its certificate.
                            error!(height, %reason, "restarting the height to fetch the decided block from peers");
                            let params = self.height_params(height)?;
                            if reply.send(Next::Restart(Height(height), params)).is_err() {
                                warn!("consensus dropped the Finalized reply");
                            }
                            return Ok(());
                        }
                        Err(CommitError::Failed(reason)) => {
                            return Err(ConsensusError::Commit { height, reason });
                        }
                    }
                }
                let next = self.host.next_height();
                let params = self.height_params(next)?;
                if reply.send(Next::Start(Height(next), params)).is_err() {
                    warn!("consensus dropped the Finalized reply");
                }
            }

            AppMsg::GetDecidedValues { range, reply } => {
                let values = self.decided_values(range);
                if reply.send(values).is_err() {
                    debug!("sync dropped the GetDecidedValues reply");
                }
            }

            AppMsg::GetHistoryMinHeight { reply } => {
                if reply.send(Height(self.host.history_min_height())).is_err() {
                    debug!("sync dropped the GetHistoryMinHeight reply");
                }
            }

            AppMsg::ProcessSyncedValue {
                height,
                round,
                proposer,
                value_bytes,
                reply,
            } => {
                let outcome = self.synced_value(height, round, proposer, &value_bytes);
                if reply.send(outcome).is_err() {
                    debug!("sync dropped the ProcessSyncedValue reply");
                }
            }

            AppMsg::ExtendVote { reply, .. } => {
                if reply.send(None).is_err() {
                    debug!("consensus dropped the ExtendVote reply");
                }
            }

            AppMsg::VerifyVoteExtensions {
                extensions, reply, ..
            } => {
                // Vote extensions are disabled for every height, so consensus rejects votes
                // carrying one before asking; accept whatever it still asks about.
                let verdicts = extensions
                    .into_iter()
                    .map(|(address, _)| (address, Ok(())))
                    .collect();
                if reply.send(verdicts).is_err() {
                    debug!("consensus dropped the VerifyVoteExtensions reply");
                }
            }
        }
        Ok(())
    }

    /// Values to hand to consensus when a round starts: what we already saw for that round
    /// (after a restart), plus streams for this height that completed early.
    fn started_round(&mut self, height: u64, round: Round) -> Vec<Pv> {
        let mut values = round
            .as_u32()
            .map(|r| self.store.values(height, r))
            .unwrap_or_default();
        let next = self.host.next_height();
        for stream in std::mem::take(&mut self.pending) {
            let h = stream.init.height.0;
            if h < next {
                continue;
            }
            if h == next {
                if let Some(pv) = self.validate(stream)
                    && !values.contains(&pv)
                {
                    values.push(pv);
                }
            } else {
                self.pending.push(stream);
            }
        }
        values
    }

    /// The block to propose at (height, round): the one built before for that round if any
    /// (after a restart, Malachite requires the same proposal), else a new one from the host.
    fn value_to_propose(&mut self, height: u64, round: Round) -> Option<Arc<Block>> {
        let Some(r) = round.as_u32() else {
            warn!(height, "asked for a value at a nil round");
            return None;
        };
        if let Some(block) = self.store.built(height, r) {
            return Some(block);
        }
        match self.build(height, r) {
            Ok(block) => Some(block),
            Err(reason) => {
                // Not replying lets the propose timeout expire; the round moves on.
                error!(height, round = r, %reason, "could not build a block to propose");
                None
            }
        }
    }

    /// The time of the block before `height` (0 before the first).
    fn prev_time(&self, height: u64) -> u64 {
        match (height.checked_sub(1), self.last_time) {
            (Some(prev), Some((h, t))) if h == prev => t,
            (Some(prev), _) if prev > 0 => self
                .host
                .decided(prev)
                .map(|(b, _)| b.header.time_ms)
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// With nothing to propose at round 0, a proposer waits until an operation arrives or
    /// the empty-block interval has passed since the previous block, but never more than
    /// half of `timeout` (the propose timeout: the other validators must get our proposal
    /// before theirs expires). `None`: propose now.
    fn empty_wait_until(&self, height: u64, timeout: Duration) -> Option<u64> {
        let interval = self.empty_block_interval?;
        if self.store.built(height, 0).is_some() || self.host.pending_operations() > 0 {
            return None; // after a restart the block already built is proposed again
        }
        let start = now_ms();
        let until = self
            .prev_time(height)
            .saturating_add(interval.as_millis() as u64)
            .min(start.saturating_add(timeout.as_millis() as u64 / 2));
        (until > start).then_some(until)
    }

    /// Whether a deferred request for a value waits (the engine loop then calls
    /// [`Self::poll_deferred`] every few milliseconds).
    pub(crate) fn has_deferred(&self) -> bool {
        self.deferred.is_some()
    }

    /// Answers the deferred request once an operation has arrived or its wait is over.
    pub(crate) async fn poll_deferred(
        &mut self,
        network: &mpsc::Sender<NetworkMsg<Ctx>>,
    ) -> Result<(), ConsensusError> {
        let ready = self
            .deferred
            .as_ref()
            .is_some_and(|d| self.host.pending_operations() > 0 || now_ms() >= d.until_ms);
        if !ready {
            return Ok(());
        }
        match self.deferred.take() {
            Some(d) => self.propose(d.height, d.round, d.reply, network).await,
            None => Ok(()),
        }
    }

    /// Builds (or takes the block already built for) our proposal, answers consensus and
    /// streams the block.
    async fn propose(
        &mut self,
        height: Height,
        round: Round,
        reply: tokio::sync::oneshot::Sender<LocallyProposedValue<Ctx>>,
        network: &mpsc::Sender<NetworkMsg<Ctx>>,
    ) -> Result<(), ConsensusError> {
        let Some(block) = self.value_to_propose(height.0, round) else {
            return Ok(());
        };
        let id = BlockId(block.id());
        debug!(%height, %round, block = %id, "proposing");
        if reply
            .send(LocallyProposedValue::new(height, round, id))
            .is_err()
        {
            warn!(%height, %round, "consensus dropped the GetValue reply");
        }
        self.publish(network, &block, round, Round::Nil).await
    }

    fn build(&mut self, height: u64, round: u32) -> Result<Arc<Block>, HostError> {
        let prev_time = self.prev_time(height);
        let time_ms = now_ms().max(prev_time.saturating_add(1));
        let block = self
            .host
            .build_block(height, round, time_ms, &self.address.0)?;
        if block.header.height != height {
            return Err(HostError::internal(format!(
                "host built a block for height {} instead of {height}",
                block.header.height
            )));
        }
        // Durable before we propose it: after a crash we must propose the same block again.
        let block = self
            .store
            .insert_block(&block, true)
            .map_err(|e| HostError::storage(format!("storing built block: {e}")))?;
        let pv = ProposedValue {
            height: Height(height),
            round: Round::new(round),
            valid_round: Round::Nil,
            proposer: self.address,
            value: BlockId(block.id()),
            validity: Validity::Valid,
        };
        self.store
            .record_value(&pv, true, true)
            .map_err(|e| HostError::storage(format!("recording built block: {e}")))?;
        Ok(block)
    }

    /// Streams `block` to the network as proposal parts signed by us.
    async fn publish(
        &mut self,
        network: &mpsc::Sender<NetworkMsg<Ctx>>,
        block: &Block,
        round: Round,
        pol_round: Round,
    ) -> Result<(), ConsensusError> {
        let encoded = block.encode();
        let Ok(total_len) = u32::try_from(encoded.len()) else {
            error!(height = block.header.height, "block too large to stream");
            return Ok(());
        };
        let height = block.header.height;
        let init = ProposalInit {
            height: Height(height),
            round,
            pol_round,
            proposer: self.address,
            block_id: BlockId(block.id()),
            total_len,
        };
        let fin = self.signer.sign_stream(&init);
        self.stream_nonce = self.stream_nonce.wrapping_add(1);
        let id = stream_id(
            height,
            round.as_u32().unwrap_or(u32::MAX),
            self.stream_nonce,
        );
        for msg in stream_messages(id, init, &encoded, fin) {
            network
                .send(NetworkMsg::PublishProposalPart(msg))
                .await
                .map_err(|_| ConsensusError::EngineStopped("network channel closed".into()))?;
        }
        Ok(())
    }

    fn on_stream(&mut self, stream: CompleteStream, next: u64) -> Option<Pv> {
        let h = stream.init.height.0;
        if h < next {
            return None;
        }
        if h > next {
            self.keep_for_later(stream, next);
            return None;
        }
        self.validate(stream)
    }

    /// Keeps a complete stream for a height that has not started yet (common: the next
    /// proposer is often faster than we are to finish the current height). It is checked
    /// when that height starts; what can be checked now (the streamer's signature, when the
    /// validator set is known) is checked now, so that junk does not take the room.
    fn keep_for_later(&mut self, stream: CompleteStream, next: u64) {
        let h = stream.init.height.0;
        if h > next + MAX_PENDING_AHEAD {
            debug!(height = h, next, "dropping proposal too far ahead");
            return;
        }
        if let Some(set) = self.host.validator_set(h) {
            let signed = set.get(&stream.init.proposer.0).is_some()
                && stream
                    .init
                    .proposer
                    .0
                    .verify(
                        &stream_sign_bytes(&self.chain_id, &stream.init),
                        &stream.signature.0,
                    )
                    .is_ok();
            if !signed {
                warn!(height = h, streamer = %stream.init.proposer, "dropping unauthenticated proposal stream");
                return;
            }
        }
        if self.pending.iter().any(|p| p.init == stream.init) {
            return;
        }
        if self.pending.len() >= MAX_PENDING {
            // Prefer the nearest heights.
            let Some((i, _)) = self
                .pending
                .iter()
                .enumerate()
                .max_by_key(|(_, p)| p.init.height)
            else {
                return;
            };
            if self.pending[i].init.height.0 <= h {
                debug!(height = h, "no room for a future proposal");
                return;
            }
            self.pending.swap_remove(i);
        }
        debug!(height = h, "keeping proposal for a future height");
        self.pending.push(stream);
    }

    /// Checks a complete stream for the next height and turns it into a proposed value.
    /// Streams that are not authentic or whose content does not match its id are dropped
    /// (`None`) rather than reported invalid: the id of a well-formed block commits to all of
    /// it, so only a block that is itself bad may make us vote nil on its id.
    fn validate(&mut self, stream: CompleteStream) -> Option<Pv> {
        let CompleteStream {
            init,
            data,
            signature,
        } = stream;
        let h = init.height.0;
        init.round.as_u32()?;
        let Some(set) = self.host.validator_set(h) else {
            warn!(height = h, "no validator set to check a proposal against");
            return None;
        };
        if set.get(&init.proposer.0).is_none() {
            warn!(height = h, streamer = %init.proposer, "proposal streamed by a non-validator");
            return None;
        }
        if init
            .proposer
            .0
            .verify(&stream_sign_bytes(&self.chain_id, &init), &signature.0)
            .is_err()
        {
            warn!(height = h, streamer = %init.proposer, "bad proposal stream signature");
            return None;
        }
        let id = init.block_id;
        let validity = match (self.store.validity(h, &id), self.store.block(h, &id)) {
            (Some(validity), Some(_)) => validity,
            _ => {
                let block = match Block::decode_with(&data, |id| self.host.known_operation(id)) {
                    Ok(b) => b,
                    Err(e) => {
                        warn!(height = h, streamer = %init.proposer, error = %e, "undecodable proposed block");
                        return None;
                    }
                };
                if block.id() != id.0
                    || block.header.height != h
                    || block.header.chain_id != self.chain_id
                    || block.check_operations_root().is_err()
                {
                    warn!(height = h, streamer = %init.proposer, "proposed block does not match its id");
                    return None;
                }
                let validity = match self.host.check_block(&block) {
                    Ok(()) => Validity::Valid,
                    Err(reason) => {
                        warn!(height = h, block = %id, %reason, "invalid proposed block: voting nil");
                        Validity::Invalid
                    }
                };
                if let Err(e) = self.store.insert_block(&block, false) {
                    error!(height = h, error = %e, "could not store a proposed block");
                }
                validity
            }
        };
        let pv = ProposedValue {
            height: Height(h),
            round: init.round,
            valid_round: init.pol_round,
            proposer: init.proposer,
            value: id,
            validity,
        };
        if let Err(e) = self.store.record_value(&pv, false, false) {
            error!(height = h, error = %e, "could not record a proposed value");
        }
        Some(pv)
    }

    /// Verifies the decided certificate with `did_method` and commits the block.
    fn commit(&mut self, certificate: &CommitCertificate<Ctx>) -> Result<(), CommitError> {
        let h = certificate.height.0;
        if self.host.next_height() > h {
            return Ok(());
        }
        let block = self.store.block(h, &certificate.value_id).ok_or_else(|| {
            CommitError::MissingBlock(format!(
                "decided block {} is not available",
                certificate.value_id
            ))
        })?;
        let cert =
            to_chain_certificate(certificate).map_err(|e| CommitError::Failed(e.to_string()))?;
        let set = self
            .host
            .validator_set(h)
            .ok_or_else(|| CommitError::Failed(format!("no validator set for height {h}")))?;
        cert.verify_header(&block.header, &self.chain_id, &set)
            .map_err(|e| {
                CommitError::Failed(format!("decided certificate does not verify: {e}"))
            })?;
        self.host
            .commit(&block, &cert)
            .map_err(|e| CommitError::Failed(e.to_string()))?;
        info!(height = h, round = cert.round, block = %certificate.value_id, signatures = cert.signatures.len(), "committed");
        self.last_time = Some((h, block.header.time_ms));
        let next = self.host.next_height().max(h + 1);
        self.store.prune_below(next);
        self.streams.prune_below(next);
        self.pending.retain(|s| s.init.height.0 >= next);
        Ok(())
    }

    fn decided_values(&self, range: RangeInclusive<Height>) -> Vec<RawDecidedValue<Ctx>> {
        let start = range.start().0.max(self.host.history_min_height());
        let end = range.end().0.min(start.saturating_add(MAX_SYNC_BATCH - 1));
        let mut values = Vec::new();
        for h in start..=end {
            let Some((block, cert)) = self.host.decided(h) else {
                break;
            };
            values.push(RawDecidedValue::new(
                Bytes::from(block.encode()),
                to_extended_certificate(&cert),
            ));
        }
        debug!(start, end, served = values.len(), "serving decided values");
        values
    }

    fn synced_value(
        &mut self,
        height: Height,
        round: Round,
        proposer: Address,
        bytes: &[u8],
    ) -> SyncedValueOutcome<Ctx> {
        let block = match Block::decode(bytes) {
            Ok(b) => b,
            Err(e) => {
                warn!(%height, error = %e, "undecodable synced block");
                return SyncedValueOutcome::PeerFault;
            }
        };
        if block.header.height != height.0
            || block.header.chain_id != self.chain_id
            || block.check_operations_root().is_err()
        {
            warn!(%height, "synced block does not match its height, chain or operations");
            return SyncedValueOutcome::PeerFault;
        }
        if let Err(e) = self.store.insert_block(&block, false) {
            error!(%height, error = %e, "could not store a synced block");
            return SyncedValueOutcome::LocalTransientError;
        }
        debug!(%height, %round, "synced block received");
        // The commit certificate that comes with it is verified by consensus; the block is
        // verified against it (and executed) when it is committed.
        SyncedValueOutcome::Verdict(ProposedValue {
            height,
            round,
            valid_round: Round::Nil,
            proposer,
            value: BlockId(block.id()),
            validity: Validity::Valid,
        })
    }
}
