//! Project quotas on folders of the media tree. Downloads and the library
//! share one dataset so the *arr apps import with hardlinks; a ZFS project
//! (`zfs project -p ID -rs DIR`) still caps each folder
//! (`zfs set projectquota@ID=6T pool/dataset`), and files keep the project
//! of the folder they are created or moved in.

use super::model::{HostPlan, MEDIA_ROOT};
use crate::spec::{MediaQuota, Size, Sp};
use sha2::{Digest, Sha256};

/// One capped folder, resolved.
#[derive(Debug, Clone)]
pub struct ProjectQuota {
    /// As the spec names it, relative to the media tree.
    pub dir: Sp<String>,
    /// Absolute path.
    pub path: String,
    /// ZFS project ID, derived from `dir` so it never changes with the
    /// other entries of `[media.quotas]`.
    pub id: u32,
    pub size: Sp<Size>,
    /// The host with the media tree, and the tree's `(pool, dataset)`
    /// when it has one.
    pub host: Option<String>,
    pub dataset: Option<(String, String)>,
}

/// Project IDs start above the range tools and people tend to pick by hand.
const FIRST_ID: u32 = 100_000;

/// A stable project ID for a folder: a hash of its name, above `FIRST_ID`.
pub fn project_id(dir: &str) -> u32 {
    let digest = Sha256::digest(format!("homelab-media/{dir}").as_bytes());
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    FIRST_ID + n % (i32::MAX as u32 - FIRST_ID)
}

pub fn resolve(quotas: &[MediaQuota], hosts: &[HostPlan]) -> Vec<ProjectQuota> {
    let tree = hosts.iter().find(|h| h.runs("media")).map(|h| {
        let dataset = h
            .data
            .iter()
            .find(|(e, _)| e.name == "media")
            .and_then(|(_, d)| d.dataset.clone());
        (h.name().to_string(), dataset)
    });
    let mut out: Vec<ProjectQuota> = Vec::new();
    for q in quotas {
        let mut id = project_id(&q.dir.value);
        // Two folders hashing alike: the later one (in spec order) moves on.
        while out.iter().any(|o| o.id == id) {
            id += 1;
        }
        out.push(ProjectQuota {
            dir: q.dir.clone(),
            path: format!("{MEDIA_ROOT}/{}", q.dir.value),
            id,
            size: q.size.clone(),
            host: tree.as_ref().map(|(h, _)| h.clone()),
            dataset: tree.as_ref().and_then(|(_, d)| d.clone()),
        });
    }
    out
}

impl super::Fleet {
    /// Project quotas on a host's pool.
    pub(crate) fn projects_on<'f>(
        &'f self,
        host: &'f str,
        pool: &'f str,
    ) -> impl Iterator<Item = &'f ProjectQuota> + 'f {
        self.media_quotas.iter().filter(move |q| {
            q.host.as_deref() == Some(host) && q.dataset.as_ref().is_some_and(|(p, _)| p == pool)
        })
    }

    /// What the project quotas promise beyond the quota of the dataset
    /// they sit in: the pool must hold their sum, or the dataset's quota
    /// when that is larger (it is then counted already).
    pub(crate) fn project_excess(&self, host: &HostPlan, pool: &str) -> u64 {
        let projects: u64 = self
            .projects_on(host.name(), pool)
            .map(|q| q.size.value.0)
            .sum();
        let tree = host
            .data
            .iter()
            .find(|(e, _)| e.name == "media")
            .and_then(|(_, d)| d.quota)
            .map_or(0, |q| q.0);
        projects.saturating_sub(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::{FIRST_ID, project_id};

    #[test]
    fn project_ids_are_stable_and_distinct() {
        let ids: Vec<u32> = [
            "library/movies",
            "library/tv",
            "downloads",
            "library/music",
            "library/audiobooks",
        ]
        .iter()
        .map(|d| project_id(d))
        .collect();
        assert_eq!(project_id("library/movies"), ids[0]);
        assert!(ids.iter().all(|&id| id >= FIRST_ID && id < i32::MAX as u32));
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len());
    }
}
