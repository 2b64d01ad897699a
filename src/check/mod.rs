//! Stage 4: checks over the resolved fleet. Each rule is a small function
//! with a stable code; errors stop `build`, warnings do not.

mod login;
mod network;

use crate::diagnostic::Diagnostic;
use crate::fleet::Fleet;

/// A rule: looks at the fleet, reports what is wrong.
type Rule = fn(&Fleet, &mut Vec<Diagnostic>);

const RULES: &[Rule] = &[
    network::port_clash,
    network::duplicate_name,
    network::exposure_needs_access,
    login::admin_can_log_in,
];

/// Runs every rule; diagnostics come back sorted by position in the spec.
pub fn check(fleet: &Fleet) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in RULES {
        rule(fleet, &mut out);
    }
    out.sort_by_key(|d| (d.primary.as_ref().map(|p| p.span.start), d.severity));
    out
}
