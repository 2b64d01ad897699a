//! Stage 3: the fleet, the resolved model every later stage reads.

mod model;
pub mod policy;
mod quotas;
mod replica;
mod resolve;
mod sso;

pub use model::*;
pub use quotas::{ProjectQuota, project_id};
pub use replica::{Pulled, REPLICAS, ReplicaPlan};
pub use resolve::{resolve, toml_to_nix};
pub use sso::{OidcClient, PROVISIONED_PROVIDERS, SsoPlan};
