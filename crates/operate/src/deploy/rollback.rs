//! Back to the recorded system: the profile set to it again and switched
//! to, through the same transient unit as a deploy; the caller gates it
//! again to prove the host is healthy on it.

use super::Result;
use super::host::Host;
use super::record::PROFILE;
use super::switch::{Goal, switch};
use std::time::Duration;

pub fn rollback(host: &Host, previous: &str, id: &str, within: Duration) -> Result<()> {
    rollback_at(host, previous, id, within, PROFILE)
}

/// [`rollback`] of the profile at `profile`.
pub fn rollback_at(
    host: &Host,
    previous: &str,
    id: &str,
    within: Duration,
    profile: &str,
) -> Result<()> {
    switch(
        host,
        previous,
        Goal::Switch,
        &format!("{id}-back"),
        within,
        profile,
    )
}
