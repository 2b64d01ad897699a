//! Changing a running host safely, one step per module, each testable
//! alone and shared by `homelab deploy` (from the admin machine, over SSH)
//! and `homelab upgrade` (on the host itself, on a timer):
//!
//! 1. [`record`]: the system the host runs now, to come back to;
//! 2. [`snapshot`]: its critical datasets, named after the deploy;
//! 3. [`copy`]: the new system built and copied to the host;
//! 4. [`switch`]: `switch-to-configuration` started through `systemd-run`,
//!    so a dropped SSH connection does not kill it, and its exit code
//!    read back (1 pre-switch check or boot loader, 2 activation, 4 units);
//! 5. [`gate`]: the host's probes, every few seconds, until enough pass
//!    in a row within the window;
//! 6. [`rollback`]: the recorded system switched back, and gated again.
//!
//! [`host`] is how a step reaches the host (as root, or through
//! `sudo -n`), [`run`] strings the steps together for hosts from the admin
//! machine, [`upgrade`] for the host itself, and [`log`] keeps the history
//! on the admin machine.

pub mod copy;
pub mod gate;
pub mod host;
pub mod log;
pub mod record;
pub mod rollback;
pub mod run;
pub mod snapshot;
pub mod switch;
pub mod upgrade;

/// Why a step stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(Error(message.into()))
}
