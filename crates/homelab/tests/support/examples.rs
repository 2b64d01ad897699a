//! The built-in examples, compiled and rendered, for tests that read
//! their generated files.

use compile::fleet::Fleet;
use compile::render::{File, render};

/// The fleet of an example and every file the build would write.
pub fn example(name: &str) -> (Fleet, Vec<File>) {
    let (fleet, _) = compile::compile(compile::examples::get(name).unwrap()).unwrap();
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
