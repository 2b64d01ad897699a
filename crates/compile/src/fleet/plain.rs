//! Plain datasets (`[hosts.<h>.data.<name>]`): data no catalog entry
//! owns, each a dataset `<pool>/<name>` of its host, snapshotted and
//! backed up by its class exactly like a service's data.

use super::model::DataDir;
use crate::diagnostic::{Diagnostic, Span};
use crate::spec::{Host, PlainData, Sp};

/// ZFS's own record size, for a plain dataset that names none.
const DEFAULT_RECORDSIZE: &str = "128K";

/// A plain dataset of a host, resolved.
#[derive(Debug, Clone)]
pub struct PlainDataset {
    pub name: Sp<String>,
    /// Where the spec gives its mount point.
    pub(crate) path_span: Span,
    pub dir: DataDir,
    /// Rules silenced for it, with the reason given.
    pub silence: Vec<(Sp<String>, Sp<String>)>,
}

/// What is wrong with a host's plain datasets before they can be placed:
/// a pool it does not have, or no pool at all.
pub(super) fn problems(host: &Host) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for d in &host.data {
        if host.pools.is_empty() {
            out.push(without_pool(host, d));
        } else {
            out.extend(super::data::unknown_pool(host, d.pool.as_ref()));
        }
    }
    out
}

fn without_pool(host: &Host, d: &PlainData) -> Diagnostic {
    Diagnostic::error(
        "dataset-without-pool",
        format!(
            "host `{}` has no ZFS pool for the dataset `{}`",
            host.name.value, d.name.value
        ),
    )
    .at(
        d.name.span.clone(),
        "a plain dataset is a ZFS dataset of the host's pool",
    )
    .help(format!(
        "add `[hosts.{}.pools.<name>]` with its disks, or keep the data on a host that has a pool",
        host.name.value
    ))
}

/// The host's plain datasets, each on the pool it names or the first.
/// Called once `problems` found nothing.
pub(super) fn datasets(host: &Host) -> Vec<PlainDataset> {
    host.data
        .iter()
        .filter_map(|d| {
            let pool = d
                .pool
                .as_ref()
                .map(|p| p.value.clone())
                .or_else(|| host.pools.first().map(|p| p.name.value.clone()))?;
            Some(PlainDataset {
                name: d.name.clone(),
                path_span: d.path.span.clone(),
                dir: dir(d, pool),
                silence: d.silence.clone(),
            })
        })
        .collect()
}

fn dir(d: &PlainData, pool: String) -> DataDir {
    DataDir {
        state: d.name.value.clone(),
        path: d.path.value.clone(),
        class: d.class.value,
        recordsize: d
            .recordsize
            .as_ref()
            .map_or_else(|| DEFAULT_RECORDSIZE.to_string(), |r| r.value.clone()),
        quota: d.quota.as_ref().map(|q| q.value),
        dataset: Some((pool, d.name.value.clone())),
        span: Some(d.name.span.clone()),
        offsite: true,
        module_creates: false,
        schedule: d.snapshots.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::testing::{found, spec};
    use crate::spec::DataClass;

    #[test]
    fn a_plain_dataset_lands_on_the_first_pool_under_its_name() {
        let (_, spec) = spec(
            "[hosts.server.data.isos]\npath = \"/srv/isos\"\nclass = \"disposable\"\nrecordsize = \"1M\"\nquota = \"2T\"\n",
        );
        let server = &spec.hosts[0];
        assert!(problems(server).is_empty());
        let d = &datasets(server)[0];
        assert_eq!(d.name.value, "isos");
        assert_eq!(
            d.dir.dataset,
            Some(("tank".to_string(), "isos".to_string()))
        );
        assert_eq!(d.dir.path, "/srv/isos");
        assert_eq!(d.dir.class, DataClass::Disposable);
        assert_eq!(d.dir.recordsize, "1M");
        assert_eq!(d.dir.snapshots(), None);
    }

    #[test]
    fn without_a_pool_there_is_nothing_to_make_it_on() {
        let (text, spec) =
            spec("[hosts.nas.data.archive]\npath = \"/srv/archive\"\nclass = \"critical\"\n");
        let nas = spec.hosts.iter().find(|h| h.name.value == "nas").unwrap();
        assert_eq!(found(&text, &problems(nas)), ["dataset-without-pool@20:17"]);
    }
}
