//! `homelab secrets list`: every secret, who uses it, its recipients and
//! the state of its file.

use super::Context;
use crate::print::fail;
use operate::secrets::{State, status::status};
use std::process::ExitCode;

pub fn run(cx: &Context, json: bool) -> ExitCode {
    let mut rows = Vec::new();
    for w in &cx.wanted {
        match status(&cx.store, w) {
            Ok(s) => rows.push(s),
            Err(e) => return fail(e),
        }
    }
    if json {
        let out: Vec<serde_json::Value> = rows
            .iter()
            .map(|s| {
                let (missing, extra) = match &s.state {
                    State::Stale { missing, extra } => (missing.clone(), *extra),
                    _ => (Vec::new(), 0),
                };
                serde_json::json!({
                    "name": s.wanted.name,
                    "state": s.state.word(),
                    "file": operate::secrets::Store::shown(&s.wanted.name),
                    "description": s.wanted.description,
                    "used_by": s.wanted.used_by,
                    "hosts": s.wanted.hosts,
                    "hosts_without_key": s.wanted.hosts_without_key,
                    "recipients": s.wanted.readers.iter().map(|r| &r.who).collect::<Vec<_>>(),
                    "missing_recipients": missing,
                    "extra_recipients": extra,
                    "machine_made": s.wanted.generator.is_some(),
                })
            })
            .collect();
        crate::print::json(&out);
        return ExitCode::SUCCESS;
    }
    let width = rows
        .iter()
        .map(|s| s.wanted.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:width$}  {:9}  {:12}  {:24}  RECIPIENTS",
        "NAME", "STATE", "MADE BY", "USED BY"
    );
    for s in &rows {
        let made = if s.wanted.generator.is_some() {
            "generate"
        } else {
            "you (set)"
        };
        let readers: Vec<&str> = s.wanted.readers.iter().map(|r| r.who.as_str()).collect();
        println!(
            "{:width$}  {:9}  {:12}  {:24}  {}",
            s.wanted.name,
            s.state.word(),
            made,
            s.wanted.used_by.join(", "),
            readers.join(", ")
        );
    }
    let missing = rows.iter().filter(|s| s.state == State::Missing).count();
    let stale = rows
        .iter()
        .filter(|s| matches!(s.state, State::Stale { .. }))
        .count();
    println!(
        "{} secret(s) in {}: {missing} missing, {stale} stale",
        rows.len(),
        cx.store.dir.display()
    );
    ExitCode::SUCCESS
}
