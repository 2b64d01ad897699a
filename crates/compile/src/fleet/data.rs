//! The state directories of an instance: the catalog's, with the spec's
//! overrides (`[services.<name>.data.<state>]`) applied, each on a dataset
//! of the host's pool when it has one.

use super::model::DataDir;
use crate::catalog::{Entry, State};
use crate::diagnostic::{Diagnostic, did_you_mean, name_list};
use crate::spec::{DataSpec, Host, ServiceSpec, Size, Sp};

/// Every state directory of the entry; overrides that name no state
/// directory or no pool of the host are reported.
pub(super) fn dirs(
    s: &ServiceSpec,
    entry: &Entry,
    host: &Host,
    diags: &mut Vec<Diagnostic>,
) -> Vec<DataDir> {
    for o in &s.data {
        diags.extend(unknown_state(entry, o));
        diags.extend(unknown_pool(host, o.pool.as_ref()));
    }
    entry.state.iter().map(|st| dir(s, host, st)).collect()
}

fn unknown_state(entry: &Entry, o: &DataSpec) -> Option<Diagnostic> {
    let states: Vec<&str> = entry.state.iter().map(|st| st.name.as_str()).collect();
    if states.contains(&o.name.value.as_str()) {
        return None;
    }
    let d = Diagnostic::error(
        "unknown-state",
        format!(
            "{} keeps no state directory `{}`",
            entry.title, o.name.value
        ),
    )
    .at(o.name.span.clone(), "not a state directory of this service");
    Some(match did_you_mean(&o.name.value, states.iter().copied()) {
        Some(m) => d.help(format!(
            "did you mean `{m}`? ({} keeps {})",
            entry.title,
            name_list(&states)
        )),
        None => d.help(format!("{} keeps {}", entry.title, name_list(&states))),
    })
}

/// A `pool = "…"` that names no pool of the host.
pub(super) fn unknown_pool(host: &Host, pool: Option<&Sp<String>>) -> Option<Diagnostic> {
    let p = pool?;
    if host.pools.iter().any(|x| x.name.value == p.value) {
        return None;
    }
    let pools: Vec<&str> = host.pools.iter().map(|x| x.name.value.as_str()).collect();
    Some(
        Diagnostic::error(
            "unknown-pool",
            format!("host `{}` has no pool `{}`", host.name.value, p.value),
        )
        .at(p.span.clone(), "not a pool of this host")
        .help(if pools.is_empty() {
            format!(
                "declare it under `[hosts.{}.pools.{}]`",
                host.name.value, p.value
            )
        } else {
            format!("pools of `{}`: {}", host.name.value, name_list(&pools))
        }),
    )
}

/// One state directory: the override's class, record size, quota and
/// pool where the spec sets them, the catalog's otherwise; the dataset is
/// `<instance>/<state>` on that pool (the host's first by default).
fn dir(s: &ServiceSpec, host: &Host, st: &State) -> DataDir {
    let o = s.data.iter().find(|o| o.name.value == st.name);
    let pool = o
        .and_then(|o| o.pool.as_ref().map(|p| p.value.clone()))
        .or_else(|| host.pools.first().map(|p| p.name.value.clone()));
    DataDir {
        state: st.name.clone(),
        path: path_on(st, host),
        class: o
            .and_then(|o| o.class.as_ref().map(|c| c.value))
            .unwrap_or(st.class),
        recordsize: o
            .and_then(|o| o.recordsize.as_ref().map(|r| r.value.clone()))
            .unwrap_or_else(|| st.recordsize.clone()),
        quota: o
            .and_then(|o| o.quota.as_ref().map(|q| q.value))
            .or_else(|| st.quota.as_deref().and_then(Size::parse)),
        dataset: pool.map(|p| (p, format!("{}/{}", s.name.value, st.name))),
        span: o.map(|o| o.name.span.clone()),
        offsite: st.offsite,
        module_creates: st.module_creates,
        schedule: o.and_then(|o| o.snapshots.clone()),
    }
}

/// Where a state directory is on `host`: modules move some for new
/// installs only, by the release the host was installed with.
pub(super) fn path_on(st: &State, host: &Host) -> String {
    let fixed = host.state_version.as_ref().map(|v| v.value.as_str());
    st.path_at(crate::release::state_version(fixed)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;
    use crate::fleet::testing::{found, pos, spec};
    use crate::spec::DataClass;

    fn resolve_dirs(more: &str, host: &str) -> (String, Vec<DataDir>, Vec<Diagnostic>) {
        let (text, spec) = spec(more);
        let s = &spec.services[0];
        let entry = catalog::get(&s.service.value).unwrap();
        let host = spec.hosts.iter().find(|h| h.name.value == host).unwrap();
        let mut diags = Vec::new();
        let dirs = dirs(s, entry, host, &mut diags);
        (text, dirs, diags)
    }

    #[test]
    fn catalog_directories_land_on_the_first_pool() {
        let (_, dirs, diags) = resolve_dirs("[services.grafana]\nhost = \"server\"\n", "server");
        assert!(diags.is_empty());
        assert_eq!(dirs.len(), 1);
        assert_eq!(dirs[0].path, "/var/lib/grafana");
        assert_eq!(
            dirs[0].dataset,
            Some(("tank".to_string(), "grafana/data".to_string()))
        );
        assert_eq!(dirs[0].span, None);
    }

    #[test]
    fn without_a_pool_there_is_no_dataset() {
        let (_, dirs, _) = resolve_dirs("[services.grafana]\nhost = \"nas\"\n", "nas");
        assert_eq!(dirs[0].dataset, None);
    }

    #[test]
    fn an_override_sets_class_quota_and_points_at_itself() {
        let (text, dirs, diags) = resolve_dirs(
            "[services.grafana]\nhost = \"server\"\n[services.grafana.data.data]\nclass = \"disposable\"\nquota = \"10G\"\nrecordsize = \"16K\"\n",
            "server",
        );
        assert!(diags.is_empty());
        assert_eq!(dirs[0].class, DataClass::Disposable);
        assert_eq!(dirs[0].quota, Size::parse("10G"));
        assert_eq!(dirs[0].recordsize, "16K");
        assert_eq!(pos(&text, dirs[0].span.as_ref().unwrap()), "22:24");
    }

    #[test]
    fn unknown_states_and_pools_are_reported_where_named() {
        let (text, _, diags) = resolve_dirs(
            "[services.grafana]\nhost = \"server\"\n[services.grafana.data.dat]\npool = \"tnak\"\n",
            "server",
        );
        assert_eq!(
            found(&text, &diags),
            ["unknown-state@22:24", "unknown-pool@23:8"]
        );
        assert_eq!(
            diags[0].help.as_deref(),
            Some("did you mean `data`? (Grafana keeps `data`)")
        );
        assert_eq!(diags[1].help.as_deref(), Some("pools of `server`: `tank`"));
    }

    #[test]
    fn a_pool_on_a_host_without_pools_says_how_to_declare_it() {
        let (_, _, diags) = resolve_dirs(
            "[services.grafana]\nhost = \"nas\"\n[services.grafana.data.data]\npool = \"tank\"\n",
            "nas",
        );
        assert_eq!(
            diags[0].help.as_deref(),
            Some("declare it under `[hosts.nas.pools.tank]`")
        );
    }
}
