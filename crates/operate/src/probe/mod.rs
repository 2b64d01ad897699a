//! The one probe engine: what `homelab status`, `homelab verify exposure`,
//! the deploy health gate and the scheduled upgrade ask the homelab, and
//! how. The questions come from the fleet (`compile::probes`); here they
//! are asked, all at once, each within its own time limit:
//!
//! - [`http`]: a name asked for at an address of the caller's choosing,
//!   plain or with TLS (SNI and `Host` set to the name);
//! - [`tls`]: the chain verified for the name, and the days left;
//! - [`tcp`]: whether a port answers at all;
//! - [`host`]: each host's units and backup and drill records, over one
//!   SSH connection;
//! - [`run`]: every probe on its own thread, the run bounded;
//! - [`status`] and [`exposure`]: the reports the commands print.

pub mod exposure;
pub mod host;
pub mod http;
pub mod run;
pub mod status;
pub mod tcp;
pub mod tls;

pub use http::http_status;
pub(crate) use http::status_line;
