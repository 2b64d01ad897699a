//! `render/` reads top to bottom: no file of it uses, directly or through
//! others, a file that uses it back. Shared helpers live below the files
//! that use them (`secrets`, `gatus`, `scrape`, `timers`, `watch`), so a
//! new part of the flake lands in one place of the order.

// Tests may read files; the library may not (clippy.toml).
#![allow(clippy::disallowed_methods)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[path = "support/sources.rs"]
mod sources;

/// The render module each `.rs` file belongs to: its stem at the top, the
/// folder's name below it (`alerts/mail.rs` is part of `alerts`).
fn module_of(render: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(render).unwrap();
    let first = relative.components().next().unwrap().as_os_str();
    Path::new(first)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The sibling modules a file names: `crate::render::x`, and `super::x`
/// (`super::super::x` below a folder) — in paths and in `use super::{…}`.
fn uses(text: &str, nested: bool, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let prefixes: &[&str] = if nested {
        &["crate::render::", "super::super::"]
    } else {
        &["crate::render::", "super::"]
    };
    let mut found = BTreeSet::new();
    for prefix in prefixes {
        for (at, _) in text.match_indices(prefix) {
            let rest = &text[at + prefix.len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(group) => group[..group.find('}').unwrap_or(0)]
                    .split(',')
                    .map(|n| n.trim().split("::").next().unwrap_or(""))
                    .collect(),
                None => vec![
                    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or(""),
                ],
            };
            found.extend(
                names
                    .into_iter()
                    .filter(|n| modules.contains(*n))
                    .map(String::from),
            );
        }
    }
    found
}

/// A circle of modules, if the graph has one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut c = path[at..].to_vec();
            c.push(node.to_string());
            return Some(c);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

fn render_graph() -> BTreeMap<String, BTreeSet<String>> {
    let render = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/render");
    let files = sources::rust_files(&render);
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| module_of(&render, f))
        .filter(|m| m != "mod")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&render, file);
        if module == "mod" {
            continue;
        }
        let nested = file.parent() != Some(render.as_path());
        let text = sources::code(&std::fs::read_to_string(file).unwrap());
        let mut used = uses(&text, nested, &modules);
        used.remove(&module);
        graph.entry(module).or_default().extend(used);
    }
    graph
}

#[test]
fn render_modules_use_each_other_without_a_circle() {
    let graph = render_graph();
    assert!(graph.len() > 20, "the render modules are found: {graph:?}");
    if let Some(c) = circle(&graph) {
        panic!("render/ imports in a circle: {}", c.join(" → "));
    }
}

#[test]
fn a_circle_is_found_when_there_is_one() {
    let modules: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    let mut graph = BTreeMap::new();
    graph.insert("a".into(), uses("use super::b::x;", false, &modules));
    graph.insert("b".into(), uses("use super::{c, File};", false, &modules));
    graph.insert(
        "c".into(),
        uses("crate::render::a::f(); super::c::g()", true, &modules),
    );
    assert_eq!(
        circle(&graph),
        Some(["a", "b", "c", "a"].map(String::from).to_vec())
    );
    graph.insert("c".into(), BTreeSet::new());
    assert_eq!(circle(&graph), None);
}
