//! What a change of the spec does (`homelab plan`): two fleets in, their
//! differences out, per host and in the spec's own words — services added,
//! removed and moved, exposure widened or narrowed, ports, datasets,
//! snapshots, replicas and offsite copies, secrets and who decrypts them,
//! and what NixOS or disko apply disruptively (disks, pools, the boot disk,
//! `state_version`, the host id, a host's address).
//!
//! Each change has a [`Severity`]: a [`Severity::Risk`] opens a service
//! wider or loses a copy of data, a [`Severity::Disruptive`] one needs more
//! than a switch (a reinstall, a reboot, a step by hand), the rest are
//! plain changes. Lists are ordered risky first.

mod compare;
mod facts;
mod files;
#[cfg(test)]
mod tests;

pub use files::{FileChange, FileStatus, files, unified};

use crate::fleet::Fleet;
use codespan_reporting::term::termcolor::{Buffer, Color, ColorSpec, WriteColor};
use facts::Facts;
use std::io::Write;

/// How much a change asks of the owner; the order is the order of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Exposure widened, a copy of data lost (snapshots, replica, offsite),
    /// a dataset or a service with data removed.
    Risk,
    /// Applied by a reinstall, a reboot or a step by hand, not by a switch.
    Disruptive,
    Change,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Risk => "risk",
            Severity::Disruptive => "disruptive",
            Severity::Change => "change",
        }
    }
}

/// What a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    HostAdded,
    HostRemoved,
    Address,
    System,
    Role,
    StateVersion,
    HostId,
    Boot,
    Pool,
    Hardware,
    Infrastructure,
    ServiceAdded,
    ServiceRemoved,
    ServiceMoved,
    Entry,
    Exposure,
    SignIn,
    Port,
    Name,
    Settings,
    Dataset,
    Quota,
    Recordsize,
    DataClass,
    Path,
    Snapshots,
    Replica,
    Offsite,
    Backup,
    Secret,
    AdminKey,
    AdminDevice,
    /// Generated files differ in a way none of the other kinds describes.
    Files,
}

/// One difference between two fleets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub kind: Kind,
    pub severity: Severity,
    /// Where it happens; none for the fleet as a whole (admin keys, the
    /// offsite repository, the replica host).
    pub host: Option<String>,
    /// The service it is about, if one.
    pub service: Option<String>,
    /// One line in the spec's words: `immich: exposure lan → public (…)`.
    pub text: String,
}

/// Every change between two fleets, risky first, and the order of the
/// blocks they print in: the fleet, then each host in spec order (the new
/// spec's, then hosts it removed).
#[derive(Debug, Clone, Default)]
pub struct Changes {
    list: Vec<Change>,
    blocks: Vec<Option<String>>,
    /// Hosts whose address changed: name, old address, new address.
    addresses: Vec<(String, String, String)>,
}

/// The heading of the block of fleet-wide changes.
const FLEET_BLOCK: &str = "all hosts";

/// What changes from `old` to `new`.
pub fn diff(old: &Fleet, new: &Fleet) -> Changes {
    compare::compare(&Facts::of(old), &Facts::of(new))
}

/// Everything in `new`, as changes from nothing (no earlier build).
pub fn added(new: &Fleet) -> Changes {
    compare::compare(&Facts::default(), &Facts::of(new))
}

impl Changes {
    fn new(
        mut list: Vec<Change>,
        blocks: Vec<Option<String>>,
        addresses: Vec<(String, String, String)>,
    ) -> Changes {
        // Stable: within one severity, the order the comparison found them.
        list.sort_by_key(|c| c.severity);
        Changes {
            list,
            blocks,
            addresses,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every change, risky first, then disruptive, then the rest.
    pub fn list(&self) -> &[Change] {
        &self.list
    }

    /// The changes grouped by where they happen, in block order; each
    /// group risky first.
    fn blocks(&self) -> Vec<(Option<&str>, Vec<&Change>)> {
        self.blocks
            .iter()
            .map(|b| {
                let mine: Vec<&Change> = self.list.iter().filter(|c| &c.host == b).collect();
                (b.as_deref(), mine)
            })
            .filter(|(_, mine)| !mine.is_empty())
            .collect()
    }

    /// Adds one change per block whose generated files differ while no
    /// change of the fleet explains it (a setting `plan` does not name),
    /// so a plan never says "no changes" when the flake changes. A host's
    /// files are explained by a change on that host; the fleet's own
    /// (`flake.nix`, `secrets/secrets.nix`) by any change. Files of the
    /// other hosts that name a host whose address changed (firewall rules,
    /// replica pulls, routes) are listed as following it.
    pub fn explain_files(&mut self, files: &[FileChange]) {
        let any = !self.list.is_empty();
        // Per block: the files that follow a new address, and the others.
        let mut unexplained: Vec<(Option<String>, Vec<&str>, Vec<&str>)> = Vec::new();
        for f in files {
            let (block, rel) = match f
                .path
                .strip_prefix("hosts/")
                .and_then(|r| r.split_once('/'))
            {
                Some((host, rel)) => (Some(host.to_string()), rel),
                None => (None, f.path.as_str()),
            };
            let explained = match &block {
                None => any,
                Some(_) => self.list.iter().any(|c| c.host == block),
            };
            let follows = block.is_some()
                && self.addresses.iter().any(|(host, a, b)| {
                    block.as_ref() != Some(host)
                        && f.old.contains(a.as_str())
                        && f.new.contains(b.as_str())
                });
            if explained && !follows {
                continue;
            }
            let i = match unexplained.iter().position(|(b, ..)| *b == block) {
                Some(i) => i,
                None => {
                    unexplained.push((block, Vec::new(), Vec::new()));
                    unexplained.len() - 1
                }
            };
            if follows {
                unexplained[i].1.push(rel);
            } else {
                unexplained[i].2.push(rel);
            }
        }
        for (block, follow, other) in unexplained {
            if !self.blocks.contains(&block) {
                self.blocks.push(block.clone());
            }
            let mut push = |text: String| {
                self.list.push(Change {
                    kind: Kind::Files,
                    severity: Severity::Change,
                    host: block.clone(),
                    service: None,
                    text,
                })
            };
            if !follow.is_empty() {
                let moved: Vec<String> = self
                    .addresses
                    .iter()
                    .map(|(h, a, b)| format!("{h} {a} → {b}"))
                    .collect();
                push(format!(
                    "follows the new address ({}): {}",
                    moved.join(", "),
                    follow.join(", ")
                ));
            }
            if !other.is_empty() {
                push(format!(
                    "generated files change: {} (see `homelab plan --diff`)",
                    other.join(", ")
                ));
            }
        }
    }

    /// `3 changes: 1 risky, 1 disruptive`.
    pub fn summary(&self) -> String {
        let n = self.list.len();
        let count = |s: Severity| self.list.iter().filter(|c| c.severity == s).count();
        let mut parts = Vec::new();
        if count(Severity::Risk) > 0 {
            parts.push(format!("{} risky", count(Severity::Risk)));
        }
        if count(Severity::Disruptive) > 0 {
            parts.push(format!("{} disruptive", count(Severity::Disruptive)));
        }
        let head = format!("{n} change{}", if n == 1 { "" } else { "s" });
        if parts.is_empty() {
            head
        } else {
            format!("{head}: {}", parts.join(", "))
        }
    }

    /// The plan as people read it: a block per host, its name on a line of
    /// its own, then one line per change with its severity in front; risky
    /// lines in bold red and disruptive ones in yellow when `color`.
    pub fn text(&self, color: bool) -> String {
        let mut out = if color {
            Buffer::ansi()
        } else {
            Buffer::no_color()
        };
        let mut first = true;
        for (block, changes) in self.blocks() {
            if !first {
                writeln!(out).expect("a memory buffer");
            }
            first = false;
            paint(&mut out, ColorSpec::new().set_bold(true), |o| {
                write!(o, "{}", block.unwrap_or(FLEET_BLOCK))
            });
            writeln!(out).expect("a memory buffer");
            for c in changes {
                write!(out, "  ").expect("a memory buffer");
                let mut spec = ColorSpec::new();
                match c.severity {
                    Severity::Risk => {
                        spec.set_fg(Some(Color::Red)).set_bold(true);
                    }
                    Severity::Disruptive => {
                        spec.set_fg(Some(Color::Yellow));
                    }
                    Severity::Change => {}
                }
                paint(&mut out, &spec, |o| {
                    write!(o, "{:<10}  {}", c.severity.as_str(), printable(&c.text))
                });
                writeln!(out).expect("a memory buffer");
            }
        }
        String::from_utf8_lossy(out.as_slice()).into_owned()
    }
}

/// Writes with `spec`'s colour, then resets it.
fn paint(
    out: &mut Buffer,
    spec: &ColorSpec,
    write: impl FnOnce(&mut Buffer) -> std::io::Result<()>,
) {
    let colored = !spec.is_none();
    if colored {
        out.set_color(spec).expect("a memory buffer");
    }
    write(out).expect("a memory buffer");
    if colored {
        out.reset().expect("a memory buffer");
    }
}

/// Names and values come from the spec: never print a control character
/// a terminal would act on.
fn printable(text: &str) -> String {
    crate::diagnostic::printable(text)
}
