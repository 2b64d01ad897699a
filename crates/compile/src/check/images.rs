//! Containers run a pinned image: a reference by digest changes only when
//! the spec does, so an update is reviewed and a rebuild is reproducible.

use crate::diagnostic::Diagnostic;
use crate::fleet::{Fleet, Instance};
use crate::nix::{Nix, split_path};

const CONTAINERS: &str = "virtualisation.oci-containers.containers.";

/// `unpinned-image`: a container image without `@sha256:<64 hex digits>`.
pub(crate) fn images_pinned(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        if !i.entry.module.starts_with(CONTAINERS) {
            continue;
        }
        let image = image(i).unwrap_or_default();
        if pinned(&image) {
            continue;
        }
        let repository = image.split('@').next().unwrap_or_default();
        let repository = repository.split(':').next().unwrap_or_default();
        out.push(
            Diagnostic::error(
                "unpinned-image",
                format!(
                    "`{}` runs the image `{image}` without a digest",
                    i.name.value
                ),
            )
            .at(i.name.span.clone(), "its container image must be pinned")
            .help(format!(
                "add `[services.{}.nixos]` with `image = \"{repository}@sha256:<digest>\"`; \
                 `docker buildx imagetools inspect {repository}:<version>` prints the digest",
                i.name.value
            ))
            .about(&i.name.value),
        );
    }
}

/// The `image` the instance's container is configured with.
fn image(i: &Instance) -> Option<String> {
    let mut path = split_path(&i.entry.module);
    path.push("image".into());
    let (first, rest) = path.split_first()?;
    let mut value = i.nixos.get(first)?;
    for part in rest {
        match value {
            Nix::Attrs(a) => value = a.get(part)?,
            _ => return None,
        }
    }
    match value {
        Nix::Str(s) => Some(s.clone()),
        _ => None,
    }
}

fn pinned(image: &str) -> bool {
    image.rsplit_once("@sha256:").is_some_and(|(repo, digest)| {
        !repo.is_empty()
            && digest.len() == 64
            && digest
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::pinned;

    #[test]
    fn only_a_full_digest_pins_an_image() {
        let digest = "a".repeat(64);
        assert!(pinned(&format!("docker.io/x/y@sha256:{digest}")));
        assert!(pinned(&format!("docker.io/x/y:1.2@sha256:{digest}")));
        assert!(!pinned("docker.io/x/y"));
        assert!(!pinned("docker.io/x/y:latest"));
        assert!(!pinned(&format!("docker.io/x/y@sha256:{}", &digest[..63])));
        assert!(!pinned(&format!("@sha256:{digest}")));
    }
}
