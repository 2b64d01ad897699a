//! The replica of `[backup]`: which host keeps a second copy of the
//! critical datasets, in which pool, and which datasets it pulls.

use super::model::{DataDir, Fleet, HostPlan};
use super::ports::REST_SERVER_PORT;
use crate::diagnostic::{Diagnostic, did_you_mean, name_list};
use crate::spec::{DataClass, Spec};

/// Where replicas go, resolved from `[backup] replica`.
#[derive(Debug, Clone)]
pub struct ReplicaPlan {
    pub host: String,
    pub pool: String,
    pub(crate) key_secret: String,
    pub public_key: String,
}

/// Below the replica pool, copies live at `<pool>/replicas/<host>/…`.
pub(crate) const REPLICAS: &str = "replicas";
/// The NAS repositories' dataset below the replica pool, and its mount
/// point (`render::nas` makes it).
pub(crate) const NAS_REPOSITORY_DATASET: &str = "restic";
pub(crate) const NAS_REPOSITORY_ROOT: &str = "/srv/restic";

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
    pub(crate) source_host: &'a HostPlan,
    pub source: String,
    /// Where it lands on the replica host.
    pub target: String,
}

impl Fleet {
    /// Whether a directory on `host` has a copy on another machine.
    pub(crate) fn replicated(&self, host: &str, dir: &DataDir) -> bool {
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

/// The agenix secret with a source host's rest-server login
/// (`RESTIC_REST_USERNAME`/`RESTIC_REST_PASSWORD` lines): read by restic
/// on the source host and, to make the `.htpasswd` entry, by the NAS.
pub(crate) fn nas_login_secret(source_host: &str) -> String {
    format!("restic-nas-{source_host}")
}

/// The NAS repository of a source host: the replica host serves one
/// append-only repository per source host (rest-server's private repos:
/// the user `<host>` reaches `/<host>/` only). None on the replica host
/// itself, or without a replica.
pub(crate) struct NasRepository {
    pub url: String,
    pub(crate) login_secret: String,
}

impl Fleet {
    /// The replica host's plan, when the fleet has one.
    pub(crate) fn replica_host(&self) -> Option<&HostPlan> {
        let r = self.replica.as_ref()?;
        self.hosts.iter().find(|h| h.name() == r.host)
    }

    /// Where `host` backs up on the NAS, if it does.
    pub(crate) fn nas_repository(&self, host: &str) -> Option<NasRepository> {
        self.backup.as_ref()?;
        let nas = self.replica_host()?;
        if nas.name() == host {
            return None;
        }
        Some(NasRepository {
            url: format!(
                "rest:http://{}:{REST_SERVER_PORT}/{host}/",
                nas.spec.address.value
            ),
            login_secret: nas_login_secret(host),
        })
    }

    /// Whether `host` serves the NAS repository: it is the replica host
    /// and other hosts back up to it.
    pub(crate) fn serves_nas_repository(&self, host: &str) -> bool {
        self.replica.as_ref().is_some_and(|r| r.host == host) && !self.nas_sources().is_empty()
    }

    /// The hosts that back up to the NAS: every other host with data.
    pub(crate) fn nas_sources(&self) -> Vec<&HostPlan> {
        self.hosts
            .iter()
            .filter(|h| self.nas_repository(h.name()).is_some() && self.backs_up(h.name()))
            .collect()
    }

    /// Whether a host has data that goes to a repository: a service's,
    /// its own (the tailnet identity, certificates), or a plain dataset.
    pub fn backs_up(&self, host: &str) -> bool {
        let own = || {
            self.hosts.iter().filter(|h| h.name() == host).any(|h| {
                let plain = h.plain_data.iter().map(|p| &p.dir);
                h.data
                    .iter()
                    .map(|(_, d)| d)
                    .chain(plain)
                    .any(DataDir::goes_offsite)
            })
        };
        self.backup.is_some() && (self.instances_on(host).any(|i| i.backed_up()) || own())
    }
}
