//! Specs embedded in the binary (`--example NAME`), so a new user can run
//! the whole pipeline before writing a spec of their own.

use include_dir::{Dir, include_dir};

static EXAMPLES: Dir = include_dir!("$CARGO_MANIFEST_DIR/../../examples");

/// The commented starter spec `homelab init` writes.
pub const STARTER: &str = include_str!("spec/starter.toml");

/// The spec text of an embedded example.
pub fn get(name: &str) -> Option<&'static str> {
    EXAMPLES
        .get_file(format!("{name}/homelab.toml"))
        .and_then(|f| f.contents_utf8())
}

/// Names of the embedded examples.
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&str> = EXAMPLES
        .dirs()
        .filter(|d| d.get_file(d.path().join("homelab.toml")).is_some())
        .filter_map(|d| d.path().file_name()?.to_str())
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    /// An example is read whole, as a user's first spec: each stays under
    /// 150 lines.
    #[test]
    fn every_example_stays_under_150_lines() {
        for name in super::names() {
            let lines = super::get(name).unwrap().lines().count();
            assert!(lines < 150, "examples/{name} has {lines} lines");
        }
    }
}
