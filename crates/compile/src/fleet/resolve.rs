//! Spec + catalog → fleet, in passes: add the per-host agents
//! (`agents.rs`); place each service and pick its catalog entry; work out
//! where services reach each other (`wiring.rs`) and their endpoints; report
//! dependencies the spec lacks; build each instance (`instance.rs`);
//! collect the secrets (`secrets.rs`), the MQTT logins (`mqtt.rs`) and the
//! replica; plan each host
//! (`host_plan.rs`). Dangling references (unknown service, host, state
//! directory, pool) are reported with what exists instead.

use super::model::*;
use super::wiring::{self, Wire};
use super::{host_plan, instance, secrets};
use crate::catalog::{self, Entry, Kind};
use crate::diagnostic::{Diagnostic, did_you_mean, name_list};
use crate::spec::{Host, ServiceSpec, Spec};
use std::collections::{BTreeMap, HashSet};

/// Resolves a parsed spec. Returns every problem found, or the fleet.
pub fn resolve(spec: &Spec) -> Result<Fleet, Vec<Diagnostic>> {
    if spec.hosts.is_empty() {
        return Err(vec![no_hosts(spec)]);
    }
    let mut diags = Vec::new();
    let services = super::agents::with_agents(spec);
    let placed = place_services(spec, &services, &mut diags);
    let mut wires = wire(spec, &placed);
    let segments = segments(spec, &placed, &mut wires, &mut diags);
    let endpoints = endpoints(&placed, &wires);
    let incomplete = missing_dependencies(spec, &placed, &mut diags);
    let mut instances = build_instances(spec, &placed, &wires, &endpoints, &incomplete, &mut diags);
    let mut secrets = secrets::collect(spec, &instances, &mut diags);
    super::mqtt::logins(&mut instances, &mut secrets);
    let sso = super::sso::wire(spec, &mut instances, &mut secrets);
    let replica = super::replica::resolve(spec, &mut diags);
    let deploy = super::deploy::resolve(spec, &mut diags);
    diags.extend(spec.hosts.iter().flat_map(super::plain::problems));
    if !diags.is_empty() {
        return Err(diags);
    }
    let hosts = host_plan::plan_hosts(spec, &instances);
    let media_quotas = super::quotas::resolve(&spec.media.quotas, &hosts);
    let mut fleet = Fleet {
        homelab: spec.homelab.clone(),
        hosts,
        instances,
        access: spec.access.clone(),
        backup: spec.backup.clone(),
        replica,
        secrets,
        media_quotas,
        external: spec.external.clone(),
        sso,
        alerts: spec.alerts.clone(),
        status: spec.status.clone(),
        deploy,
        segments,
    };
    drop_idle_replica_key(&mut fleet, spec);
    secrets::add_operations_secrets(&mut fleet, spec);
    Ok(fleet)
}

/// A replica with nothing critical to pull renders nothing, so its key is
/// not a secret to create (a warning says why the replica has no effect).
fn drop_idle_replica_key(fleet: &mut Fleet, spec: &Spec) {
    let Some(r) = &fleet.replica else { return };
    let declared = spec.secrets.iter().any(|s| s.name.value == r.key_secret);
    if fleet.pulled().is_empty() && !declared {
        let key = r.key_secret.clone();
        fleet.secrets.remove(&key);
    }
}

fn no_hosts(spec: &Spec) -> Diagnostic {
    Diagnostic::error("no-hosts", "the spec has no hosts")
        .at(
            spec.homelab.name.span.clone(),
            "this homelab has no `[hosts.<name>]`",
        )
        .help("add a host: `[hosts.server]` with `address` and `ram_gb`")
}

/// A service of the spec with its catalog entry and its host.
struct Placed<'s> {
    service: &'s ServiceSpec,
    entry: &'static Entry,
    host: &'s Host,
}

/// Pass 1: the entry and host of every service (the spec's and the
/// agents'), so that later passes can fill `@endpoint:<entry>@` from the
/// whole fleet. A service whose entry or host is wrong is reported and
/// left out.
fn place_services<'s>(
    spec: &'s Spec,
    services: &'s [ServiceSpec],
    diags: &mut Vec<Diagnostic>,
) -> Vec<Placed<'s>> {
    let mut placed = Vec::new();
    for service in services {
        match (lookup_entry(service), place(spec, service)) {
            (Ok(entry), Ok(host)) => placed.push(Placed {
                service,
                entry,
                host,
            }),
            (entry, host) => diags.extend(entry.err().into_iter().chain(host.err())),
        }
    }
    placed
}

fn lookup_entry(s: &ServiceSpec) -> Result<&'static Entry, Diagnostic> {
    match catalog::get(&s.service.value) {
        Some(e) if e.kind == Kind::Service => Ok(e),
        Some(e) => Err(Diagnostic::error(
            "not-a-service",
            format!("`{}` is infrastructure, not a service", e.name),
        )
        .at(s.service.span.clone(), "placed by the tool itself")
        .help(format!(
            "remove this table; `{}` is added when the spec needs it (see `[access]`)",
            e.name
        ))),
        None => Err(unknown_service(s)),
    }
}

fn unknown_service(s: &ServiceSpec) -> Diagnostic {
    let names = catalog::service_names();
    let d = Diagnostic::error(
        "unknown-service",
        format!("the catalog has no service `{}`", s.service.value),
    )
    .at(s.service.span.clone(), "not in the catalog");
    match did_you_mean(&s.service.value, names.iter().copied()) {
        Some(m) => d.help(format!("did you mean `{m}`?")),
        None => d.help(format!("known services: {}", name_list(&names))),
    }
}

fn place<'s>(spec: &'s Spec, s: &ServiceSpec) -> Result<&'s Host, Diagnostic> {
    let names: Vec<&str> = spec.hosts.iter().map(|h| h.name.value.as_str()).collect();
    match &s.host {
        Some(h) => spec
            .hosts
            .iter()
            .find(|x| x.name.value == h.value)
            .ok_or_else(|| {
                let d =
                    Diagnostic::error("unknown-host", format!("there is no host `{}`", h.value))
                        .at(h.span.clone(), "not a host of this spec");
                match did_you_mean(&h.value, names.iter().copied()) {
                    Some(m) => d.help(format!("did you mean `{m}`? hosts: {}", name_list(&names))),
                    None => d.help(format!("hosts: {}", name_list(&names))),
                }
            }),
        None if spec.hosts.len() == 1 => Ok(&spec.hosts[0]),
        None => Err(Diagnostic::error(
            "missing-host",
            format!("`{}` does not say which host runs it", s.name.value),
        )
        .at(s.name.span.clone(), "several hosts could run this")
        .help(format!(
            "add `host = \"{}\"` (hosts: {})",
            names[0],
            name_list(&names)
        ))),
    }
}

/// Pass 2: where each placed instance listens and which hosts reach it
/// from elsewhere, keyed by instance name.
fn wire(spec: &Spec, placed: &[Placed]) -> BTreeMap<String, Wire> {
    let tuples: Vec<wiring::Placed> = placed
        .iter()
        .map(|p| (p.service, p.entry, p.host))
        .collect();
    wiring::wire(spec, &tuples)
}

/// The segments, and the services their clients reach listening on every
/// address of their hosts.
fn segments(
    spec: &Spec,
    placed: &[Placed],
    wires: &mut BTreeMap<String, Wire>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<super::SegmentPlan> {
    let tuples: Vec<wiring::Placed> = placed
        .iter()
        .map(|p| (p.service, p.entry, p.host))
        .collect();
    let plans = super::segments::resolve(spec, &tuples, diags);
    for (name, wire) in wires.iter_mut() {
        if super::segments::reached_from_a_segment(&plans, name) {
            wire.bind = super::segments::WILDCARD_ADDRESS.to_string();
        }
    }
    plans
}

/// Where each entry with a port is reached by the others: the address its
/// wire binds to (loopback unless another host needs it).
fn endpoints(placed: &[Placed], wires: &BTreeMap<String, Wire>) -> BTreeMap<String, String> {
    placed
        .iter()
        .filter_map(|p| {
            let port = instance::port_of(p.service, p.entry)?;
            let address = &wires[&p.service.name.value].address;
            Some((p.entry.name.clone(), format!("http://{address}:{port}")))
        })
        .collect()
}

/// Where the front proxy's requests come from, as seen by a service on
/// `host`: loopback on the proxy's own host, its LAN address elsewhere.
fn proxy_address(spec: &Spec, host: &Host) -> String {
    wiring::front_proxy(&spec.hosts)
        .filter(|p| p.name.value != host.name.value)
        .map_or(BIND_ADDRESS.to_string(), |p| p.address.value.clone())
}

/// What one dependency of a placed service amounts to.
enum Dependency {
    Met,
    /// In the spec but not placed: its own error says why.
    Unplaced,
    /// Not in the spec at all.
    Absent(Diagnostic),
}

/// The entries placed, and those the spec names at all: computed once, so
/// that a large spec stays linear.
struct Known<'s> {
    placed: HashSet<&'s str>,
    named: HashSet<&'s str>,
}

fn dependency(known: &Known, p: &Placed, dep: &str) -> Dependency {
    // The catalog test proves every dependency exists.
    let Some(dep_entry) = catalog::get(dep) else {
        return Dependency::Met;
    };
    if dep_entry.kind == Kind::Infrastructure || known.placed.contains(dep) {
        return Dependency::Met;
    }
    if known.named.contains(dep) {
        return Dependency::Unplaced;
    }
    let name = &p.service.name;
    Dependency::Absent(
        Diagnostic::error(
            "missing-dependency",
            format!(
                "`{}` needs `{dep}`, which the spec does not have",
                name.value
            ),
        )
        .at(
            name.span.clone(),
            format!("{} depends on {}", p.entry.title, dep_entry.title),
        )
        .help(format!("add `[services.{dep}]`")),
    )
}

/// Reports dependencies the spec lacks; returns the services that cannot
/// be completed because of one.
fn missing_dependencies<'s>(
    spec: &Spec,
    placed: &[Placed<'s>],
    diags: &mut Vec<Diagnostic>,
) -> Vec<&'s str> {
    let known = Known {
        placed: placed.iter().map(|p| p.entry.name.as_str()).collect(),
        named: spec
            .services
            .iter()
            .map(|o| o.service.value.as_str())
            .collect(),
    };
    let provided = |role: &str, among: &HashSet<&str>| {
        among
            .iter()
            .any(|n| catalog::get(n).is_some_and(|e| e.provides.iter().any(|r| r == role)))
    };
    let mut incomplete = Vec::new();
    for p in placed {
        // A role (`mqtt-broker`) no service of the spec provides: said
        // here, before a template naming the provider fails on it.
        for role in &p.entry.needs {
            if provided(role, &known.placed) {
                continue;
            }
            if !provided(role, &known.named) {
                diags.push(crate::check::media::missing_role(
                    &p.service.name,
                    p.entry,
                    role,
                ));
            }
            incomplete.push(p.service.name.value.as_str());
        }
        for dep in &p.entry.depends {
            match dependency(&known, p, dep) {
                Dependency::Met => continue,
                Dependency::Unplaced => {}
                Dependency::Absent(d) => diags.push(d),
            }
            incomplete.push(p.service.name.value.as_str());
        }
    }
    incomplete
}

fn build_instances(
    spec: &Spec,
    placed: &[Placed],
    wires: &BTreeMap<String, Wire>,
    endpoints: &BTreeMap<String, String>,
    incomplete: &[&str],
    diags: &mut Vec<Diagnostic>,
) -> Vec<Instance> {
    let mut instances = Vec::new();
    for p in placed {
        let wire = instance::Wiring {
            wire: &wires[&p.service.name.value],
            proxy: proxy_address(spec, p.host),
            endpoints,
        };
        match instance::build(spec, p.service, p.entry, p.host, &wire) {
            Ok(i) => instances.push(i),
            // A missing dependency was reported; the template error it
            // causes would only repeat it.
            Err(d) if incomplete.contains(&p.service.name.value.as_str()) => {
                diags.extend(d.into_iter().filter(|d| d.code != "catalog"));
            }
            Err(mut d) => diags.append(&mut d),
        }
    }
    instances
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::testing::{found, pos, spec};

    #[test]
    fn a_spec_without_hosts_says_so_at_its_name() {
        let text = "[homelab]\nname = \"home\"\ndomain = \"example.org\"\ntimezone = \"UTC\"\nadmin_email = \"a@example.org\"\n";
        let spec = crate::spec::parse(text).unwrap();
        let diags = resolve(&spec).unwrap_err();
        assert_eq!(found(text, &diags), ["no-hosts@2:8"]);
    }

    #[test]
    fn placing_reports_entry_and_host_problems_of_one_service() {
        let (text, spec) = spec(
            "[services.grafanna]\nhost = \"sever\"\n\n[services.caddy]\nhost = \"server\"\n\n[services.homepage]\n",
        );
        let mut diags = Vec::new();
        let placed = place_services(&spec, &spec.services, &mut diags);
        assert_eq!(
            found(&text, &diags),
            [
                "unknown-service@20:11",
                "unknown-host@21:8",
                "not-a-service@23:11",
                "missing-host@26:11"
            ]
        );
        assert_eq!(diags[0].help.as_deref(), Some("did you mean `grafana`?"));
        assert_eq!(
            diags[1].help.as_deref(),
            Some("did you mean `server`? hosts: `server` and `nas`")
        );
        assert!(placed.is_empty());
    }

    #[test]
    fn endpoints_are_loopback_on_one_host_and_the_lan_address_when_another_host_needs_them() {
        let (_, one) = spec(
            "[services.grafana]\nhost = \"server\"\n[services.victoriametrics]\nhost = \"server\"\n",
        );
        let mut diags = Vec::new();
        let placed = place_services(&one, &one.services, &mut diags);
        assert_eq!(
            endpoints(&placed, &wire(&one, &placed)),
            BTreeMap::from([
                ("grafana".into(), "http://127.0.0.1:3000".into()),
                ("victoriametrics".into(), "http://127.0.0.1:8428".into()),
            ])
        );

        let (_, two) = spec(
            "[services.grafana]\nhost = \"server\"\n[services.victoriametrics]\nhost = \"nas\"\n",
        );
        let placed = place_services(&two, &two.services, &mut diags);
        assert_eq!(
            endpoints(&placed, &wire(&two, &placed))["victoriametrics"],
            "http://192.168.1.20:8428"
        );
        assert!(diags.is_empty());
    }

    #[test]
    fn an_absent_dependency_is_reported_once_and_marks_the_service() {
        let (text, spec) = spec("[services.alloy]\nhost = \"server\"\n");
        let mut diags = Vec::new();
        let placed = place_services(&spec, &spec.services, &mut diags);
        let incomplete = missing_dependencies(&spec, &placed, &mut diags);
        assert_eq!(found(&text, &diags), ["missing-dependency@20:11"]);
        assert_eq!(diags[0].help.as_deref(), Some("add `[services.loki]`"));
        assert_eq!(incomplete, ["alloy"]);
    }

    #[test]
    fn grafana_without_a_metrics_store_names_both_kinds() {
        let (text, spec) = spec("[services.grafana]\nhost = \"server\"\n");
        let mut diags = Vec::new();
        let placed = place_services(&spec, &spec.services, &mut diags);
        let incomplete = missing_dependencies(&spec, &placed, &mut diags);
        assert_eq!(found(&text, &diags), ["missing-dependency@20:11"]);
        assert_eq!(
            diags[0].message,
            "`grafana` needs a metrics store, which the spec does not have"
        );
        assert_eq!(
            diags[0].help.as_deref(),
            Some("add one of `prometheus` or `victoriametrics`")
        );
        assert_eq!(incomplete, ["grafana"]);
    }

    #[test]
    fn an_unplaced_dependency_only_marks_the_service() {
        // VictoriaMetrics is in the spec, but on a host that does not exist.
        let (text, spec) = spec(
            "[services.grafana]\nhost = \"server\"\n[services.victoriametrics]\nhost = \"nowhere\"\n",
        );
        let diags = resolve(&spec).unwrap_err();
        assert_eq!(found(&text, &diags), ["unknown-host@23:8"]);
        let mut diags = Vec::new();
        let placed = place_services(&spec, &spec.services, &mut diags);
        assert_eq!(
            missing_dependencies(&spec, &placed, &mut diags),
            ["grafana"]
        );
        assert_eq!(diags.len(), 1, "only the unknown host: {diags:?}");
    }

    #[test]
    fn a_resolved_fleet_keeps_spec_order_and_spans() {
        let (text, spec) = spec(
            "[services.homepage]\nhost = \"nas\"\n[services.grafana]\nhost = \"server\"\n[services.victoriametrics]\nhost = \"server\"\n",
        );
        let fleet = resolve(&spec).unwrap();
        let names: Vec<(&str, &str, String)> = fleet
            .instances
            .iter()
            .map(|i| {
                (
                    i.name.value.as_str(),
                    i.host.as_str(),
                    pos(&text, &i.host_span),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("homepage", "nas", "21:8".to_string()),
                ("grafana", "server", "23:8".to_string()),
                ("victoriametrics", "server", "25:8".to_string()),
            ]
        );
        let hosts: Vec<&str> = fleet.hosts.iter().map(HostPlan::name).collect();
        assert_eq!(hosts, ["server", "nas"]);
    }
}
