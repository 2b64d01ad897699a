//! Stage 3: the fleet, the resolved model every later stage reads.

mod data;
mod host_plan;
mod instance;
mod model;
mod passthrough;
pub mod policy;
mod quotas;
mod replica;
mod resolve;
mod secrets;
mod sso;
#[cfg(test)]
mod testing;

pub use model::*;
pub use passthrough::toml_to_nix;
pub use quotas::{ProjectQuota, project_id};
pub use replica::{Pulled, REPLICAS, ReplicaPlan};
pub use resolve::resolve;
pub use sso::{OidcClient, PROVISIONED_PROVIDERS, SsoPlan};
