//! The timers of the operating units: each starts within a spread of
//! its calendar time, and a run missed while the machine was off starts
//! at the next boot. The heartbeats allow for the spread.

use crate::nix::{Attrs, Nix};

/// How long after its calendar time a backup may start: spreads hosts'
/// uploads, as the restic module's default timer does.
pub(crate) const BACKUP_DELAY: &str = "1h";
/// Drills run at a quiet hour within this window of their calendar time.
pub(crate) const DRILL_DELAY: &str = "6h";
/// How long after its calendar time an upgrade may start: hosts of a
/// fleet upgrading on one schedule do not all switch at once.
pub(crate) const UPGRADE_DELAY: &str = "1h";

pub(crate) fn timer(description: &str, schedule: &str, delay: &str) -> Nix {
    let mut t = Attrs::new();
    t.insert("description".into(), Nix::str(description));
    t.insert("wantedBy".into(), Nix::strs(["timers.target"]));
    let mut config = Attrs::new();
    config.insert("OnCalendar".into(), Nix::str(schedule));
    // A run missed while the machine was off starts at the next boot.
    config.insert("Persistent".into(), Nix::Bool(true));
    config.insert("RandomizedDelaySec".into(), Nix::str(delay));
    t.insert("timerConfig".into(), Nix::Attrs(config));
    Nix::Attrs(t)
}

/// The whole hours of a delay.
pub(crate) fn hours(delay: &str) -> u32 {
    delay
        .trim_end_matches('h')
        .parse()
        .expect("delays are whole hours")
}
