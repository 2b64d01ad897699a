//! `homelab catalog`: the built-in catalog, as a list of entries or one
//! entry with what the flake does with it.

use super::{Cell, Table};
use crate::catalog::{self, Auth, Entry, Kind};
use serde_json::{Value, json};

fn kind(e: &Entry) -> &'static str {
    match e.kind {
        Kind::Service => "service",
        Kind::Infrastructure => "infrastructure",
    }
}

fn auth(e: &Entry) -> &'static str {
    match e.auth {
        Auth::Own => "its own login",
        Auth::Oidc => "its own login, or single sign-on (OIDC)",
        Auth::ForwardAuth => "none of its own; the sign-in gateway can guard it",
        Auth::None => "none",
    }
}

/// Every entry: name, kind, default port and one line about it.
pub fn list() -> Table {
    let mut t = Table::new("Catalog", &["name", "kind", "port", "description"]);
    for e in catalog::catalog().values() {
        t.row(vec![
            e.name.as_str().into(),
            kind(e).into(),
            e.port.map_or(Cell::from(""), |p| Cell::from(u64::from(p))),
            e.description.as_str().into(),
        ]);
    }
    t.notes.push(
        "place a service with `[services.<name>]`; `homelab catalog <name>` shows one entry".into(),
    );
    t
}

/// One entry as JSON: module, ports, data directories and their classes,
/// health check, login, what it depends on.
pub fn entry_json(name: &str) -> Option<Value> {
    let e = catalog::get(name)?;
    Some(json!({
        "name": e.name,
        "title": e.title,
        "description": e.description,
        "kind": kind(e),
        "module": (!e.module.is_empty()).then_some(&e.module),
        "port": e.port,
        "port_fixed": e.port_fixed,
        "default_exposure": e.default_exposure.as_str(),
        "auth": auth(e),
        "health": e.health,
        "ram_mb": e.ram_mb,
        "data": e.state.iter().map(|s| json!({
            "name": s.name,
            "path": s.path,
            "class": s.class.as_str(),
            "quota": s.quota,
        })).collect::<Vec<_>>(),
        "database": e.database.as_ref().map(|d| d.engine.clone()),
        "depends": e.depends,
        "needs": e.needs,
        "provides": e.provides,
        "hardware": e.hardware,
        "secrets": e.secrets.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
    }))
}

/// One entry as text, one fact a line.
pub fn entry_text(name: &str) -> Option<String> {
    let j = entry_json(name)?;
    let e = catalog::get(name)?;
    let list = |v: &Value| {
        let items: Vec<&str> = v
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if items.is_empty() {
            "—".to_string()
        } else {
            items.join(", ")
        }
    };
    let mut out = format!("{} ({}): {}\n", e.name, e.title, e.description);
    let mut line = |k: &str, v: String| out.push_str(&format!("  {k:<17}{v}\n"));
    line("kind", kind(e).into());
    line(
        "module",
        if e.module.is_empty() {
            "—".into()
        } else {
            e.module.clone()
        },
    );
    line(
        "port",
        match e.port {
            Some(p) if e.port_fixed => format!("{p} (fixed by the module)"),
            Some(p) => format!("{p} (`port` moves it)"),
            None => "—".into(),
        },
    );
    line(
        "exposure",
        format!("{} by default", e.default_exposure.as_str()),
    );
    line("login", auth(e).into());
    line("health", e.health.clone().unwrap_or_else(|| "—".into()));
    line("memory", format!("~{} MiB", e.ram_mb));
    if e.state.is_empty() {
        line("data", "—".into());
    }
    for (n, s) in e.state.iter().enumerate() {
        line(
            if n == 0 { "data" } else { "" },
            format!("{} {} ({})", s.path, s.class.as_str(), s.name),
        );
    }
    line("database", j["database"].as_str().unwrap_or("—").into());
    line("depends on", list(&j["depends"]));
    line("needs a", list(&j["needs"]));
    line("provides", list(&j["provides"]));
    line("hardware", list(&j["hardware"]));
    line("secrets", list(&j["secrets"]));
    Some(out)
}
