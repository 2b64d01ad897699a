//! Stage 3: the fleet, the resolved model every later stage reads.

mod agents;
pub mod alerts;
mod data;
mod host_plan;
mod instance;
mod model;
mod mqtt;
mod nfs;
mod operations;
mod passthrough;
pub mod policy;
mod quotas;
mod replica;
mod resolve;
mod secrets;
mod sso;
mod sso_gateway;
#[cfg(test)]
mod testing;
mod wiring;

pub use model::*;
pub use nfs::{MOUNT_ROOT, NfsMount};
pub use operations::*;
pub use passthrough::toml_to_nix;
pub use quotas::{ProjectQuota, project_id};
pub use replica::{
    NasRepository, Pulled, REPLICAS, REST_SERVER_PORT, ReplicaPlan, nas_login_secret,
};
pub use resolve::resolve;
pub use sso::{
    KEYCLOAK_ADMIN_CLIENT, OidcClient, PROVISIONED_PROVIDERS, ProviderKind, SsoPlan, own_sign_in,
};
pub use sso_gateway::{GATEWAY, GATEWAY_PORT, GATEWAY_PREFIX, GatedRoute, Gateway, gated};
pub use wiring::{Peer, Wire, front_proxy, is_ip, loopback_only};
