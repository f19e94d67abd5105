//! Prometheus metrics of the node (text exposition at `GET /metrics`).

use did_method::RejectKind;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub reason: String,
}

pub struct Metrics {
    registry: Registry,
    pub height: Gauge,
    pub mempool: Gauge,
    pub blocks: Counter,
    pub submitted: Counter,
    pub committed: Counter,
    pub rejections: Family<ReasonLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("alliance_registry");
        let height = Gauge::default();
        let mempool = Gauge::default();
        let blocks = Counter::default();
        let submitted = Counter::default();
        let committed = Counter::default();
        let rejections = Family::<ReasonLabel, Counter>::default();
        registry.register("height", "Last committed block height", height.clone());
        registry.register(
            "mempool_operations",
            "Operations waiting in the mempool",
            mempool.clone(),
        );
        registry.register(
            "blocks_committed",
            "Blocks committed by this node",
            blocks.clone(),
        );
        registry.register(
            "operations_admitted",
            "Operations admitted to the mempool",
            submitted.clone(),
        );
        registry.register(
            "operations_committed",
            "Operations committed in blocks",
            committed.clone(),
        );
        registry.register(
            "operations_rejected",
            "Operations rejected, by reason",
            rejections.clone(),
        );
        Self {
            registry,
            height,
            mempool,
            blocks,
            submitted,
            committed,
            rejections,
        }
    }

    pub fn rejected(&self, kind: RejectKind) {
        self.rejections
            .get_or_create(&ReasonLabel {
                reason: kind.as_str().to_owned(),
            })
            .inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
