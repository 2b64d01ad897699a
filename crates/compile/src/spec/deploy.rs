//! `[deploy]`: how `homelab deploy` changes the running hosts, and how the
//! hosts upgrade themselves on a schedule. Every key is optional.
//!
//! - `build_on`: where the systems are built: `"local"` (this machine),
//!   `"target"` (each host builds its own), or a host's name (a remote
//!   builder, for an admin machine that cannot build the hosts' platform).
//! - the health gate: probe every `gate_interval` until `gate_passes` runs
//!   in a row pass, within `gate_window` (per host: `[hosts.<h>]
//!   gate_window`); the defaults are the family-sized gate of ENGINES.md.
//! - `snapshots`: snapshot the host's critical datasets before switching.
//! - `tool`: `"homelab"` (record, switch through `systemd-run`, gate, roll
//!   back) or `"deploy-rs"` (its magic rollback, then the same gate).
//! - `schedule` and `source`: each host upgrades itself from the git URL
//!   of the user's flake, at the calendar time.

use super::grammar::{self, Grammar};
use super::model::Deploy;
use super::reader::{Sink, Sp, Table};
use super::status::parse_duration;
use crate::diagnostic::Diagnostic;

pub const GATE_WINDOW_MS: u64 = 120_000;
pub const GATE_INTERVAL_MS: u64 = 2_000;
pub const GATE_PASSES: u32 = 3;

pub const TOOLS: [&str; 2] = ["homelab", "deploy-rs"];

pub fn deploy(t: &mut Table, sink: &mut Sink) -> Deploy {
    let build_on = t.str(sink, "build_on");
    let gate_window = window(t, sink, "gate_window");
    let gate_interval = window(t, sink, "gate_interval");
    let gate_passes = t
        .int(sink, "gate_passes", 1, 20)
        .map(|p| Sp::new(p.value as u32, p.span));
    let snapshots = t.bool(sink, "snapshots");
    let tool = t.choice(sink, "tool", &TOOLS);
    let schedule = t.str(sink, "schedule");
    if let Some(s) = &schedule {
        grammar::CALENDAR.check(sink, s);
    }
    let source = t.str(sink, "source");
    if let Some(s) = &source {
        SOURCE.check(sink, s);
    }
    if let (Some(s), None) = (&schedule, &source) {
        sink.push(
            Diagnostic::error("missing-key", "`[deploy] schedule` needs a `source`")
                .at(s.span.clone(), "the hosts upgrade themselves at this time")
                .help("add `source = \"git+https://…/homelab-flake.git\"`: the flake each host fetches and builds"),
        );
    }
    Deploy {
        build_on,
        gate_window,
        gate_interval,
        gate_passes,
        snapshots,
        tool,
        schedule,
        source,
    }
}

/// A gate's time: as `[status]` times, from 1 s to 1 h.
pub(crate) fn window(t: &mut Table, sink: &mut Sink, key: &'static str) -> Option<Sp<u64>> {
    let text = t.str(sink, key)?;
    match parse_duration(&text.value) {
        Some(ms) if (1_000..=3_600_000).contains(&ms) => Some(Sp::new(ms, text.span)),
        _ => {
            sink.push(
                Diagnostic::error(
                    "invalid-value",
                    format!("`{}` is not a gate time", text.value),
                )
                .at(text.span, "expected a time such as \"120s\" or \"5m\"")
                .help("give seconds (`s`) or minutes (`m`), from 1s to 60m"),
            );
            None
        }
    }
}

/// The flake the hosts fetch: a git URL Nix fetches (it goes into the
/// upgrade unit's command line as one argument).
const SOURCE: Grammar = Grammar {
    what: "flake source for scheduled upgrades",
    accepts: is_source,
    expected: "a git flake URL, such as \"git+https://git.example.org/me/homelab-flake.git\"",
    help: "give the git URL of the flake `homelab build` writes: `git+https://…`, `git+ssh://…`, `github:owner/repo` or `gitlab:owner/repo`",
};

fn is_source(s: &str) -> bool {
    grammar::is_flake_ref(s) && !s.starts_with("path:") && !s.starts_with("https://")
}
