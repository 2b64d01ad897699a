//! Stage 4: policy over the resolved fleet. Each rule is a small function
//! with a stable code (in the table of [`crate::diagnostic::rules`], and
//! documented in `docs/rules.md`); errors stop `build`,
//! warnings do not. A rule about one service can be silenced for it with
//! a reason (`[services.<name>.silence] <code> = "why"`); silenced findings
//! are still listed, as such.

mod admins;
mod alerts;
mod backup;
mod boot;
mod channels;
mod data;
mod exposure;
mod images;
mod login;
pub(crate) mod media;
mod metrics;
mod network;
mod options;
mod passthrough;
pub mod placeholders;
mod placement;
mod resources;
mod secrets;
mod segments;
mod sso;
mod unused;
mod wiring;

use crate::diagnostic::rules;
use crate::diagnostic::{Diagnostic, Severity, did_you_mean, name_list};
use crate::fleet::Fleet;
use crate::spec::Sp;

/// A check: looks at the fleet, reports what is wrong.
type Check = fn(&Fleet, &mut Vec<Diagnostic>);

const CHECKS: &[Check] = &[
    network::port_clash,
    network::duplicate_name,
    network::exposure_needs_access,
    admins::admins_have_devices,
    login::admin_can_log_in,
    boot::host_has_boot_disk,
    boot::disks_distinct,
    placeholders::placeholders,
    exposure::admin_never_public,
    exposure::public_needs_auth,
    exposure::widening_needs_reason,
    exposure::public_page_shows_no_internals,
    backup::data_is_protected,
    data::critical_keeps_dailies,
    data::schedule_has_dataset,
    data::paths_apart,
    data::names_apart,
    secrets::no_literal_secrets,
    passthrough::renderer_owns_access,
    options::options_exist,
    passthrough::one_module_instance_per_host,
    resources::ram_budget,
    resources::pool_budget,
    resources::recordsize_sanity,
    placement::hardware_present,
    placement::hardware_used,
    images::images_pinned,
    media::roles_filled,
    media::vpn_confined,
    media::vpn_off,
    media::media_together,
    media::media_quotas_apply,
    unused::unused_tunnel,
    unused::idle_replica,
    metrics::one_metrics_store,
    unused::unscraped_exporter,
    wiring::address_is_ip,
    wiring::confined_on_proxy_host,
    wiring::loopback_only_local,
    sso::provider_placed,
    sso::groups_have_members,
    sso::service_groups_exist,
    sso::groups_not_enforced,
    alerts::alerts_have_alertmanager,
    alerts::alerts_are_raised,
    alerts::alertmanager_has_receiver,
    channels::severities_routed,
    channels::channels_used,
    channels::status_channels_distinct,
    sso::ungated,
    sso::provider_reachable,
    segments::uses_are_reached,
    segments::devices_kept_in,
];

/// Runs every rule; the caller puts the findings in order.
pub fn check(fleet: &Fleet) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for check in CHECKS {
        check(fleet, &mut out);
    }
    apply_silences(fleet, &mut out);
    out
}

/// Silenced rule codes, each with the reason given.
type Silences = [(Sp<String>, Sp<String>)];

/// What the spec silences rules for, each with the subject its findings
/// carry, its name and its silences: each service instance, each plain
/// dataset, and each segment (whose subject is [`segment_subject`]).
fn silencers(fleet: &Fleet) -> Vec<(String, &str, &Silences)> {
    let services = fleet
        .instances
        .iter()
        .map(|i| (i.name.value.as_str(), i.silence.as_slice()));
    let plain = fleet
        .hosts
        .iter()
        .flat_map(|h| &h.plain_data)
        .map(|p| (p.name.value.as_str(), p.silence.as_slice()));
    let named = services
        .chain(plain)
        .map(|(name, silence)| (name.to_string(), name, silence));
    let segments = fleet.segments.iter().map(|s| {
        (
            segment_subject(s.name()),
            s.name(),
            s.spec.silence.as_slice(),
        )
    });
    named.chain(segments).collect()
}

/// Marks findings the spec silenced, and reports silences that name no
/// rule or silence nothing.
fn apply_silences(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let silenceable = rules::silenceable();
    let mut extra = Vec::new();
    for (subject, name, silences) in silencers(fleet) {
        for (code, reason) in silences {
            if !silenceable.contains(&code.value.as_str()) {
                extra.push(unknown_rule(code, &silenceable));
                continue;
            }
            let mut used = false;
            for d in out.iter_mut() {
                if d.code == code.value && d.subject.as_deref() == Some(subject.as_str()) {
                    d.severity = Severity::Silenced;
                    d.help = Some(format!("silenced: {}", reason.value));
                    used = true;
                }
            }
            if !used {
                extra.push(
                    Diagnostic::warning(
                        "unused-silence",
                        format!("`{}` does not fire for `{name}`", code.value),
                    )
                    .at(code.span.clone(), "nothing to silence")
                    .help("remove this line"),
                );
            }
        }
    }
    out.append(&mut extra);
}

/// The subject of a finding about segment `name`: apart from the
/// services' names, which it may share.
pub(crate) fn segment_subject(name: &str) -> String {
    format!("network.segments.{name}")
}

fn unknown_rule(code: &crate::spec::Sp<String>, silenceable: &[&str]) -> Diagnostic {
    let d = Diagnostic::error(
        "unknown-rule",
        format!("there is no rule `{}` to silence", code.value),
    )
    .at(code.span.clone(), "not a rule that can be silenced");
    match did_you_mean(&code.value, silenceable.iter().copied()) {
        Some(m) => d.help(format!("did you mean `{m}`?")),
        None => d.help(format!(
            "rules that can be silenced: {}",
            name_list(silenceable)
        )),
    }
}
