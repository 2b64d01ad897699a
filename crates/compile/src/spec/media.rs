//! `[media]`: the shared media tree's limits. `quotas` caps folders of the
//! tree (`"library/movies" = "6T"`) without making them datasets of their
//! own, which would turn every import from downloads into a copy.

use super::model::{Media, MediaQuota, Size};
use super::reader::{Sink, Sp, Table};
use crate::diagnostic::Diagnostic;
use toml::de::DeValue;

pub fn media(t: &mut Table, sink: &mut Sink) -> Media {
    let mut quotas: Vec<MediaQuota> = Vec::new();
    if let Some(table) = t.table(sink, "quotas") {
        for (k, v) in table.entries() {
            let dir = Sp::new(k.get_ref().to_string(), k.span());
            if !is_tree_folder(&dir.value) {
                sink.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!("`{}` is not a folder of the media tree", dir.value),
                    )
                    .at(dir.span.clone(), "expected a relative path of plain names")
                    .help("name a folder below /srv/media, e.g. `\"library/movies\" = \"6T\"`"),
                );
                continue;
            }
            let size = match v.get_ref() {
                DeValue::String(s) => Size::parse(s),
                _ => None,
            };
            let Some(size) = size else {
                sink.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!("the quota of `{}` is not a size", dir.value),
                    )
                    .at(v.span(), "expected a number and a unit")
                    .help("write sizes like ZFS does: \"500G\", \"6T\""),
                );
                continue;
            };
            if let Some(outer) = quotas.iter().find(|q| nested(&q.dir.value, &dir.value)) {
                sink.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!("`{}` and `{}` are nested", outer.dir.value, dir.value),
                    )
                    .at(dir.span.clone(), "inside or around another capped folder")
                    .also(outer.dir.span.clone(), "the other folder")
                    .help("a file counts toward one folder's quota only: cap sibling folders"),
                );
                continue;
            }
            quotas.push(MediaQuota {
                dir,
                size: Sp::new(size, v.span()),
            });
        }
    }
    Media { quotas }
}

/// `library/movies`: plain names joined by `/`, nothing that leaves the tree.
fn is_tree_folder(dir: &str) -> bool {
    !dir.is_empty()
        && dir.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
        })
}

/// Whether one folder is the other or lies inside it.
fn nested(a: &str, b: &str) -> bool {
    let inside = |x: &str, y: &str| x == y || x.starts_with(&format!("{y}/"));
    inside(a, b) || inside(b, a)
}

#[cfg(test)]
mod tests {
    use super::{is_tree_folder, nested};

    #[test]
    fn only_plain_relative_folders_are_accepted() {
        assert!(is_tree_folder("library/movies"));
        assert!(is_tree_folder("downloads"));
        assert!(!is_tree_folder("/srv/media/x"));
        assert!(!is_tree_folder("library/../etc"));
        assert!(!is_tree_folder("library//tv"));
        assert!(!is_tree_folder("a$b"));
    }

    #[test]
    fn nesting_is_by_whole_names() {
        assert!(nested("library", "library/tv"));
        assert!(nested("library/tv", "library/tv"));
        assert!(!nested("library/tv", "library/tv-kids"));
    }
}
