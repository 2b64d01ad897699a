//! Stage 3: the fleet, the resolved model every later stage reads.

mod model;
pub mod policy;
mod resolve;

pub use model::*;
pub use resolve::{resolve, toml_to_nix};
