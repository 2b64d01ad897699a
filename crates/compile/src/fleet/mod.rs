//! Stage 3: the fleet, the resolved model every later stage reads.

mod model;
pub mod policy;
mod replica;
mod resolve;

pub use model::*;
pub use replica::{Pulled, REPLICAS, ReplicaPlan};
pub use resolve::{resolve, toml_to_nix};
