//! Stage 3: the fleet, the resolved model every later stage reads.

mod agents;
pub mod alerts;
pub mod channels;
mod data;
mod deploy;
mod host_plan;
mod instance;
mod metrics_store;
mod model;
mod mqtt;
mod nfs;
mod operations;
mod passthrough;
mod plain;
pub mod policy;
mod ports;
mod quotas;
mod replica;
mod resolve;
mod secrets;
mod segments;
mod sso;
mod sso_gateway;
#[cfg(test)]
pub(crate) mod testing;
mod wiring;

pub use deploy::{BuildOn, DeployPlan, Gate};
pub use metrics_store::MetricsStore;
pub use model::*;
pub use nfs::NfsMount;
pub(crate) use operations::*;
pub use plain::PlainDataset;
pub(crate) use ports::{GATEWAY_PORT, REST_SERVER_PORT, VMALERT_PORT, port_bind};
pub use quotas::{ProjectQuota, project_id};
pub(crate) use replica::{NAS_REPOSITORY_DATASET, NAS_REPOSITORY_ROOT, REPLICAS, nas_login_secret};
pub use replica::{Pulled, ReplicaPlan};
pub use resolve::resolve;
pub use segments::{Member, OnSegment, SegmentPlan, WILDCARD_ADDRESS, serves, vlan_interface};
pub(crate) use sso::{KEYCLOAK_ADMIN_CLIENT, PROVISIONED_PROVIDERS, own_sign_in};
pub use sso::{OidcClient, ProviderKind, SsoPlan};
pub(crate) use sso_gateway::{GATEWAY, GATEWAY_PREFIX};
pub use sso_gateway::{GatedRoute, Gateway, gated};
pub(crate) use wiring::is_ip;
pub use wiring::{Peer, front_proxy, loopback_only};
