//! The routes of `[alerts]`: a severity the routes leave out reaches
//! nobody, a channel no route names receives nothing, and the status page
//! has one provider per channel type.

use crate::diagnostic::Diagnostic;
use crate::fleet::Fleet;
use crate::fleet::channels::gatus_type;
use crate::spec::channels::MAIL;
use crate::spec::{Channel, Route};

/// `[alerts.routes]` without `critical` or `warning`: the rules raise
/// those alerts and Alertmanager would drop them. An empty list is a
/// choice; a missing key is most likely an oversight.
pub(crate) fn severities_routed(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let Some(routes) = fleet.alerts.as_ref().and_then(|a| a.routes.as_ref()) else {
        return;
    };
    for route in [Route::Critical, Route::Warning] {
        if routes.given(route).is_some() {
            continue;
        }
        let key = route.key();
        out.push(
            Diagnostic::warning(
                "unrouted-severity",
                format!("{key} alerts reach no channel"),
            )
            .at(routes.span.clone(), format!("`[alerts.routes]` has no `{key}`"))
            .help(format!(
                "add `{key} = [\"…\"]` with the channels that should get them, or `{key} = []` to drop them on purpose"
            )),
        );
    }
}

/// A channel that no route names: its secrets are set up, and nothing
/// is ever sent to it.
pub(crate) fn channels_used(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let Some(a) = &fleet.alerts else { return };
    for c in &a.channels {
        let used = Route::ALL
            .into_iter()
            .any(|r| a.routed(r).iter().any(|x| x.name.value == c.name.value));
        if used {
            continue;
        }
        let name = &c.name.value;
        let (note, help) = if name == MAIL {
            (
                "`[alerts.smtp]` makes the channel `mail`".to_string(),
                "add `\"mail\"` to a route in `[alerts.routes]`, or remove `[alerts.smtp]`"
                    .to_string(),
            )
        } else {
            (
                "declared here".to_string(),
                format!("add `\"{name}\"` to a route in `[alerts.routes]`, or remove the channel"),
            )
        };
        out.push(
            Diagnostic::warning(
                "unused-channel",
                format!("no route sends alerts to `{name}`"),
            )
            .at(c.name.span.clone(), note)
            .help(help),
        );
    }
}

/// Two channels of one type on the status page: Gatus has one provider
/// of each type, so it could alert only one of them.
pub(crate) fn status_channels_distinct(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let Some(a) = &fleet.alerts else { return };
    if fleet.instance_of("gatus").is_none() {
        return;
    }
    let status = a.routed(Route::Status);
    for (n, c) in status.iter().enumerate() {
        let Some(first) = status[..n]
            .iter()
            .find(|o| gatus_type(&o.kind) == gatus_type(&c.kind))
        else {
            continue;
        };
        let at = listed_at(a, c);
        out.push(
            Diagnostic::error(
                "status-channel-clash",
                format!(
                    "the status page can alert only one {} channel: `{}` and `{}` are both in its route",
                    c.kind.type_name(),
                    first.name.value,
                    c.name.value
                ),
            )
            .at(at, "a second channel of this type")
            .also(first.name.span.clone(), "the first")
            .help("keep one of them in `status` of `[alerts.routes]` (Gatus has one provider per type); both can still take metric alerts"),
        );
    }
}

/// Where the status route names `c`: its entry in `status` (or in
/// `critical`, which it follows), or the channel itself when the spec has
/// no routes.
fn listed_at(a: &crate::spec::Alerts, c: &Channel) -> crate::diagnostic::Span {
    let list = a.routes.as_ref().and_then(|r| r.effective(Route::Status));
    list.into_iter()
        .flatten()
        .find(|n| n.value == c.name.value)
        .map_or_else(|| c.name.span.clone(), |n| n.span.clone())
}
