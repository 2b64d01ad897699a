//! Stage 1: the spec. Reads `homelab.toml` strictly, with spans, into typed
//! values. Nothing later reads the raw TOML.

mod admins;
mod alerts;
pub mod channels;
mod data;
pub mod deploy;
mod external;
pub mod grammar;
mod media;
mod model;
mod network;
mod parse;
pub mod reader;
mod sso;
pub mod status;

pub use channels::{Channel, ChannelKind, Route, Routes};
pub use grammar::is_flake_ref;
pub use model::*;
pub(crate) use parse::HARDWARE;
pub(crate) use parse::is_dns_label;
pub use parse::{parse, parse_ssh_key};
pub use reader::{Sp, suggest};
