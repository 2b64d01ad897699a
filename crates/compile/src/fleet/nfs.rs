//! NFS exports of external hosts that services work in. A service names
//! `<external>/<export>`; its host mounts the export at
//! `/mnt/<external>/<export>` and the service starts only once it is
//! mounted.

use crate::diagnostic::{Diagnostic, Span, did_you_mean, name_list};
use crate::spec::grammar::{export_path_problem, is_export_name};
use crate::spec::{External, ServiceSpec, Sp};

/// Below this folder each host mounts the exports it uses.
pub(crate) const MOUNT_ROOT: &str = "/mnt";

/// One export mounted on a NixOS host for a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsMount {
    pub external: String,
    /// `address:/exported/path`, the `device` of the file system.
    pub device: String,
    /// Where it is mounted on the service's host.
    pub at: String,
    /// Where the service names it.
    pub span: Span,
}

/// The mounts a service names; unknown hosts or exports are errors.
pub fn mounts(
    s: &ServiceSpec,
    external: &[External],
    diags: &mut Vec<Diagnostic>,
) -> Vec<NfsMount> {
    s.nfs
        .iter()
        .filter_map(|r| match mount(r, external) {
            Ok(m) => m,
            Err(d) => {
                diags.push(d);
                None
            }
        })
        .collect()
}

/// The mount `r` names; none for an export the spec stage refused (its
/// name or path is invalid, and already reported there).
fn mount(r: &Sp<String>, external: &[External]) -> Result<Option<NfsMount>, Diagnostic> {
    let hosts: Vec<&str> = external.iter().map(|e| e.name.value.as_str()).collect();
    let (host, export) = r.value.split_once('/').unwrap_or((r.value.as_str(), ""));
    let Some(e) = external.iter().find(|e| e.name.value == host) else {
        let d = Diagnostic::error(
            "unknown-export",
            format!("there is no external host `{host}`"),
        )
        .at(r.span.clone(), "expected `<external host>/<export>`");
        return Err(match did_you_mean(host, hosts.iter().copied()) {
            Some(m) => d.help(format!("did you mean `{m}`?")),
            None if hosts.is_empty() => d.help(format!(
                "declare it: `[external.{host}]` with `address` and `[external.{host}.exports]`"
            )),
            None => d.help(format!("external hosts: {}", name_list(&hosts))),
        });
    };
    let Some(x) = e.exports.iter().find(|x| x.name.value == export) else {
        let names: Vec<&str> = e.exports.iter().map(|x| x.name.value.as_str()).collect();
        return Err(Diagnostic::error(
            "unknown-export",
            format!("`{host}` has no export `{export}`"),
        )
        .at(r.span.clone(), "not an export of this host")
        .help(if names.is_empty() {
            format!("declare it under `[external.{host}.exports]`, e.g. `{export} = \"/mnt/tank/{export}\"`")
        } else {
            format!("exports of `{host}`: {}", name_list(&names))
        }));
    };
    if !is_export_name(&x.name.value) || export_path_problem(&x.path.value).is_some() {
        return Ok(None);
    }
    Ok(Some(NfsMount {
        external: host.to_string(),
        device: format!("{}:{}", e.address.value, x.path.value),
        at: format!("{MOUNT_ROOT}/{host}/{export}"),
        span: r.span.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::NfsExport;

    fn nas(exports: &[(&str, &str)]) -> Vec<External> {
        vec![External {
            name: Sp::new("nas".into(), 0..3),
            address: Sp::new("192.168.1.5".into(), 4..5),
            exports: exports
                .iter()
                .map(|(n, p)| NfsExport {
                    name: Sp::new((*n).into(), 6..7),
                    path: Sp::new((*p).into(), 8..9),
                })
                .collect(),
        }]
    }

    fn mount_of(reference: &str, external: &[External]) -> Result<Option<NfsMount>, Diagnostic> {
        mount(&Sp::new(reference.into(), 10..11), external)
    }

    #[test]
    fn an_export_is_mounted_below_the_mount_root() {
        let m = mount_of("nas/media", &nas(&[("media", "/mnt/tank/media")]))
            .unwrap()
            .unwrap();
        assert_eq!(m.at, "/mnt/nas/media");
        assert_eq!(m.device, "192.168.1.5:/mnt/tank/media");
    }

    #[test]
    fn a_refused_export_is_never_mounted_and_not_reported_twice() {
        for (name, path) in [
            ("..", "/mnt/tank/media"),
            ("../../etc", "/mnt/tank/media"),
            ("media", "/mnt/tank/../../etc"),
            ("media", "/etc"),
        ] {
            let reference = format!("nas/{name}");
            let m = mount_of(&reference, &nas(&[(name, path)]));
            assert!(matches!(m, Ok(None)), "{name} = {path}: {m:?}");
        }
    }
}
