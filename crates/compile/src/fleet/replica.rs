//! The replica of `[backup]`: which host keeps a second copy of the
//! critical datasets, in which pool, and which datasets it pulls.

use super::model::{DataDir, Fleet, HostPlan};
use crate::diagnostic::{Diagnostic, did_you_mean, name_list};
use crate::spec::{DataClass, Spec};

/// Where replicas go, resolved from `[backup] replica`.
#[derive(Debug, Clone)]
pub struct ReplicaPlan {
    pub host: String,
    pub pool: String,
    pub key_secret: String,
    pub public_key: String,
}

/// Below the replica pool, copies live at `<pool>/replicas/<host>/…`.
pub const REPLICAS: &str = "replicas";

/// Resolves `[backup] replica`; a host or pool that does not exist is an
/// error, as is a replica host without a pool to receive into.
pub fn resolve(spec: &Spec, diags: &mut Vec<Diagnostic>) -> Option<ReplicaPlan> {
    let r = spec.backup.as_ref()?.replica.as_ref()?;
    let names: Vec<&str> = spec.hosts.iter().map(|h| h.name.value.as_str()).collect();
    let Some(host) = spec.hosts.iter().find(|h| h.name.value == r.host.value) else {
        let d = Diagnostic::error(
            "unknown-host",
            format!("the replica host `{}` does not exist", r.host.value),
        )
        .at(r.host.span.clone(), "not a host of this spec");
        diags.push(match did_you_mean(&r.host.value, names.iter().copied()) {
            Some(m) => d.help(format!("did you mean `{m}`? hosts: {}", name_list(&names))),
            None => d.help(format!(
                "hosts: {}; a replica needs a second machine with a ZFS pool",
                name_list(&names)
            )),
        });
        return None;
    };
    let pools: Vec<&str> = host.pools.iter().map(|p| p.name.value.as_str()).collect();
    let pool = match (&r.pool, pools.as_slice()) {
        (Some(p), _) if pools.contains(&p.value.as_str()) => p.value.clone(),
        (Some(p), _) => {
            diags.push(
                Diagnostic::error(
                    "unknown-pool",
                    format!("host `{}` has no pool `{}`", host.name.value, p.value),
                )
                .at(p.span.clone(), "not a pool of the replica host")
                .help(format!(
                    "pools of `{}`: {}",
                    host.name.value,
                    name_list(&pools)
                )),
            );
            return None;
        }
        (None, [only]) => only.to_string(),
        (None, []) => {
            diags.push(
                Diagnostic::error(
                    "replica-without-pool",
                    format!("the replica host `{}` has no ZFS pool", host.name.value),
                )
                .at(
                    r.host.span.clone(),
                    "replicas are ZFS datasets; they need a pool",
                )
                .help(format!(
                    "add `[hosts.{}.pools.<name>]`, or name another host",
                    host.name.value
                )),
            );
            return None;
        }
        (None, _) => {
            diags.push(
                Diagnostic::error(
                    "missing-key",
                    format!(
                        "`[backup]` does not say which pool of `{}` keeps replicas",
                        host.name.value
                    ),
                )
                .at(r.host.span.clone(), "this host has several pools")
                .help(format!(
                    "add `replica_pool = \"{}\"` (pools: {})",
                    pools[0],
                    name_list(&pools)
                )),
            );
            return None;
        }
    };
    Some(ReplicaPlan {
        host: host.name.value.clone(),
        pool,
        key_secret: r.key_secret.value.clone(),
        public_key: r.public_key.value.clone(),
    })
}

/// A dataset the replica host pulls: from `host`, `pool/dataset`.
pub struct Pulled<'a> {
    pub source_host: &'a HostPlan,
    pub source: String,
    /// Where it lands on the replica host.
    pub target: String,
}

impl Fleet {
    /// Whether a directory on `host` has a copy on another machine.
    pub fn replicated(&self, host: &str, dir: &DataDir) -> bool {
        self.replica.as_ref().is_some_and(|r| {
            r.host != host && dir.class == DataClass::Critical && dir.dataset.is_some()
        })
    }

    /// Every critical dataset the replica host pulls, by source host.
    pub fn pulled(&self) -> Vec<Pulled<'_>> {
        let Some(r) = &self.replica else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for host in &self.hosts {
            for (_, dir) in self.data_on(host) {
                if !self.replicated(host.name(), dir) {
                    continue;
                }
                let Some((pool, name)) = &dir.dataset else {
                    continue;
                };
                out.push(Pulled {
                    source_host: host,
                    source: format!("{pool}/{name}"),
                    target: format!(
                        "{}/{REPLICAS}/{}/{}",
                        r.pool,
                        host.name(),
                        name.replace('/', "-")
                    ),
                });
            }
        }
        out
    }
}
