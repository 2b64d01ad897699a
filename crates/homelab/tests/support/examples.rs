//! The built-in examples, compiled and rendered, for tests that read
//! their generated files.

use compile::fleet::{Fleet, MetricsStore};
use compile::render::{File, render};

/// The fleet of an example and every file the build would write.
pub fn example(name: &str) -> (Fleet, Vec<File>) {
    let (fleet, _) = compile::compile(compile::examples::get(name).unwrap()).unwrap();
    let files = render(&fleet);
    (fleet, files)
}

/// An example with its metrics store swapped for `store` (the line that
/// places the store, `<entry> = { … }` or `[services.<entry>]`, names the
/// other entry; the rest of the spec as it is), compiled and rendered:
/// the same fleet with either store.
#[allow(dead_code)] // not every test binary swaps the store
pub fn example_with_store(name: &str, store: MetricsStore) -> (Fleet, Vec<File>) {
    let text = compile::examples::get(name).unwrap();
    let mut swapped = text.to_string();
    for other in MetricsStore::ALL.into_iter().filter(|s| *s != store) {
        for (from, to) in [
            (
                format!("\n{} = ", other.entry()),
                format!("\n{} = ", store.entry()),
            ),
            (
                format!("\n[services.{}]", other.entry()),
                format!("\n[services.{}]", store.entry()),
            ),
        ] {
            swapped = swapped.replacen(&from, &to, 1);
        }
    }
    let (fleet, _) = compile::compile(&swapped).unwrap();
    assert_eq!(
        fleet.metrics_store().map(|(s, _)| s),
        Some(store),
        "{name} places its store as `<entry> = {{ … }}` or `[services.<entry>]`"
    );
    let files = render(&fleet);
    (fleet, files)
}

/// The text of one generated file, by its path in the flake.
pub fn text(files: &[File], path: &str) -> String {
    files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path}"))
        .text()
}
