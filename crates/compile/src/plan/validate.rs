//! Loading a host plan: `plan.json` is written by the build and installed
//! read-only, so it is trusted for intent, but its *shape* is checked
//! before any operating command acts on it. A name must be a name, a path
//! absolute, normal (no `.`, `..` or empty part) and under the folders its
//! kind allows, a secret a single file name below `/run/agenix`. A plan
//! edited by hand, damaged, or written by a newer `homelab` stops here,
//! with the field named, before anything is read or written.
//!
//! What comes back from repositories and hosts (manifests, archive
//! entries, snapshot paths) is a different, untrusted kind of input and is
//! checked where it is read (`operate::backup`).

use super::model::*;
use crate::spec::grammar;
use std::collections::BTreeSet;

/// A plan that cannot be used, and why: `field` is a path into the JSON
/// (`services[2].paths[0].path`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", field_prefix(field))]
pub struct PlanError {
    pub field: String,
    pub problem: String,
}

fn field_prefix(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("`{field}`: ")
    }
}

/// Folders a service's state may never be, or be below: the system's own.
/// A plan that names one would let a restore move `/etc` aside.
const SYSTEM: [&str; 16] = [
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/lib",
    "/lib64",
    "/nix",
    "/proc",
    "/root",
    "/run",
    "/sbin",
    "/sys",
    "/tmp",
    "/usr",
    "/var/log",
    "/var/empty",
];

/// The system folder `p` is, or is below, if any.
pub fn system_folder(p: &str) -> Option<&'static str> {
    SYSTEM.iter().copied().find(|s| is_at_or_below(p, s))
}

/// Reads and checks a plan. Every later use may rely on what is checked
/// here: names are names, paths are absolute and normal.
pub fn load(text: &str) -> Result<Plan, PlanError> {
    let plan: Plan = serde_json::from_str(text).map_err(|e| PlanError {
        field: String::new(),
        problem: format!("not a host plan: {e}"),
    })?;
    validate(&plan)?;
    Ok(plan)
}

/// Checks the shape of every field of a plan (see the module's essay).
pub fn validate(plan: &Plan) -> Result<(), PlanError> {
    if plan.version != PLAN_VERSION {
        return Err(err(
            "version",
            format!(
                "a version {} plan; this homelab reads version {PLAN_VERSION}: \
                 build the flake and deploy with the same homelab",
                plan.version
            ),
        ));
    }
    label("host", &plan.host, "a host name")?;
    own_path("state_dir", &plan.state_dir, &["/var/lib"])?;
    drill(plan)?;
    if let Some(dir) = &plan.metrics_dir {
        own_path("metrics_dir", dir, &["/var/lib"])?;
        apart("metrics_dir", dir, &plan.state_dir)?;
    }
    if let Some(page) = &plan.status_page {
        web_url("status_page.url", &page.url, &["http://", "https://"])?;
        secret("status_page.token_secret", &page.token_secret)?;
    }
    if let Some(u) = &plan.upgrade {
        upgrade(plan, u)?;
    }
    let mut names = BTreeSet::new();
    for (i, s) in plan.services.iter().enumerate() {
        let at = format!("services[{i}]");
        service(plan, s, &at)?;
        if !names.insert(s.name.as_str()) {
            return Err(err(
                format!("{at}.name"),
                format!("`{}` is in the plan twice", s.name),
            ));
        }
    }
    Ok(())
}

fn upgrade(plan: &Plan, u: &UpgradePlan) -> Result<(), PlanError> {
    if !grammar::is_flake_ref(&u.source) {
        return Err(err(
            "upgrade.source",
            format!("`{}` is not a flake reference", show(&u.source)),
        ));
    }
    calendar("upgrade.schedule", &u.schedule)?;
    let attribute = super::build::upgrade_attribute(&plan.host);
    if u.attribute != attribute {
        return Err(err(
            "upgrade.attribute",
            format!(
                "`{}` is not this host's system, {attribute}",
                show(&u.attribute)
            ),
        ));
    }
    for (i, c) in u.checks.iter().enumerate() {
        let at = format!("upgrade.checks[{i}]");
        name(&format!("{at}.service"), &c.service)?;
        for (j, unit) in c.units.iter().enumerate() {
            if !is_unit(unit) {
                return Err(err(
                    format!("{at}.units[{j}]"),
                    format!("`{}` is not a systemd unit name", show(unit)),
                ));
            }
        }
        if let Some(h) = &c.health {
            web_url(&format!("{at}.health.url"), &h.url, &["http://"])?;
        }
    }
    Ok(())
}

fn drill(plan: &Plan) -> Result<(), PlanError> {
    let d = &plan.drill;
    calendar("drill.schedule", &d.schedule)?;
    own_path(
        "drill.scratch_dir",
        &d.scratch_dir,
        &["/var/lib", "/var/tmp"],
    )?;
    apart("drill.scratch_dir", &d.scratch_dir, &plan.state_dir)?;
    if !grammar::is_user_name(&d.postgres_user) {
        return Err(err(
            "drill.postgres_user",
            format!("`{}` is not a user name", show(&d.postgres_user)),
        ));
    }
    if !is_data_subset(&d.data_check.subset) {
        return Err(err(
            "drill.data_check.subset",
            format!(
                "`{}` is not a restic data subset (`n/t`, `x%` or a size like `1G`)",
                show(&d.data_check.subset)
            ),
        ));
    }
    Ok(())
}

fn service(plan: &Plan, s: &ServicePlan, at: &str) -> Result<(), PlanError> {
    name(&format!("{at}.name"), &s.name)?;
    name(&format!("{at}.entry"), &s.entry)?;
    for (j, u) in s.units.iter().enumerate() {
        if !is_unit(u) {
            return Err(err(
                format!("{at}.units[{j}]"),
                format!("`{}` is not a systemd unit name", show(u)),
            ));
        }
    }
    for (j, p) in s.paths.iter().enumerate() {
        let here = format!("{at}.paths[{j}]");
        name(&format!("{here}.name"), &p.name)?;
        state_path(plan, &format!("{here}.path"), &p.path)?;
        if let Some(ds) = &p.dataset
            && !is_dataset(ds)
        {
            return Err(err(
                format!("{here}.dataset"),
                format!("`{}` is not a ZFS dataset (`pool/name`)", show(ds)),
            ));
        }
    }
    if let Some(db) = &s.database {
        identifier(&format!("{at}.database.name"), &db.name)?;
        identifier(&format!("{at}.database.user"), &db.user)?;
        own_path(
            &format!("{at}.database.socket_dir"),
            &db.socket_dir,
            &["/run"],
        )?;
    }
    let dumps = format!("{}/dumps/{}", plan.state_dir, s.name);
    if s.dump_dir != dumps {
        return Err(err(
            format!("{at}.dump_dir"),
            format!(
                "`{}` is not this service's dump folder, {dumps}",
                show(&s.dump_dir)
            ),
        ));
    }
    let mut repos = BTreeSet::new();
    for (j, r) in s.repositories.iter().enumerate() {
        let here = format!("{at}.repositories[{j}]");
        repository(r, &here)?;
        if !repos.insert(r.name.as_str()) {
            return Err(err(
                format!("{here}.name"),
                format!("repository `{}` is listed twice", r.name),
            ));
        }
    }
    if let Some(h) = &s.health {
        web_url(&format!("{at}.health.url"), &h.url, &["http://"])?;
        if !(100..=599).contains(&h.status) {
            return Err(err(
                format!("{at}.health.status"),
                format!("{} is not an HTTP status", h.status),
            ));
        }
    }
    calendar(&format!("{at}.schedule"), &s.schedule)
}

/// A state path: absolute, normal, not a system folder and not homelab's
/// own state (a restore moves state paths aside).
fn state_path(plan: &Plan, field: &str, p: &str) -> Result<(), PlanError> {
    normal_absolute(field, p)?;
    if p.matches('/').count() < 2 {
        return Err(err(
            field,
            format!("`{p}` is a top-level folder, not a service's state"),
        ));
    }
    if let Some(system) = system_folder(p) {
        return Err(err(
            field,
            format!("`{p}` is a system folder ({system}), not a service's state"),
        ));
    }
    for (own, what) in [
        (&plan.state_dir, "homelab's state folder"),
        (&plan.drill.scratch_dir, "the drill's scratch folder"),
    ] {
        if is_at_or_below(p, own) || is_at_or_below(own, p) {
            return Err(err(field, format!("`{p}` overlaps {what} {own}")));
        }
    }
    Ok(())
}

fn repository(r: &Repository, at: &str) -> Result<(), PlanError> {
    name(&format!("{at}.name"), &r.name)?;
    secret(&format!("{at}.password_secret"), &r.password_secret)?;
    if let Some(e) = &r.environment_secret {
        secret(&format!("{at}.environment_secret"), e)?;
    }
    let field = format!("{at}.url");
    if r.url.starts_with('/') {
        normal_absolute(&field, &r.url)?;
        if let Some(system) = SYSTEM.iter().find(|s| is_at_or_below(&r.url, s)) {
            return Err(err(
                field,
                format!("`{}` is a system folder ({system})", r.url),
            ));
        }
        return Ok(());
    }
    const BACKENDS: [&str; 8] = [
        "sftp:", "rest:", "s3:", "b2:", "azure:", "gs:", "swift:", "rclone:",
    ];
    let known = BACKENDS.iter().any(|b| r.url.starts_with(b));
    let clean = r.url.len() <= 1024 && r.url.chars().all(|c| c.is_ascii_graphic());
    if !known || !clean {
        return Err(err(
            field,
            format!(
                "`{}` is not a restic repository (a local path or {})",
                show(&r.url),
                BACKENDS.join(", ")
            ),
        ));
    }
    Ok(())
}

/// `http://host[:port][/path]` of one of the `schemes`: a host of DNS or
/// IP characters, no user part, no space or control character.
fn web_url(field: &str, url: &str, schemes: &[&str]) -> Result<(), PlanError> {
    let bad = || {
        err(
            field,
            format!(
                "`{}` is not a URL of {}",
                show(url),
                schemes.join(" or ").replace("://", "")
            ),
        )
    };
    let rest = schemes
        .iter()
        .find_map(|s| url.strip_prefix(s))
        .ok_or_else(bad)?;
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.parse::<u16>().is_ok() => h,
        Some(_) => return Err(bad()),
        None => authority,
    };
    let host_ok = grammar::is_address(host)
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<core::net::Ipv6Addr>().is_ok());
    let clean = url.len() <= 2048 && url.chars().all(|c| c.is_ascii_graphic());
    if !host_ok || !clean {
        return Err(bad());
    }
    Ok(())
}

/// One of homelab's own folders: absolute, normal, strictly below one of
/// `prefixes`.
fn own_path(field: &str, p: &str, prefixes: &[&str]) -> Result<(), PlanError> {
    normal_absolute(field, p)?;
    if prefixes.iter().any(|pre| is_below(p, pre)) {
        return Ok(());
    }
    Err(err(
        field,
        format!("`{p}` must be below {}", prefixes.join(" or ")),
    ))
}

/// Two of homelab's own folders that must not hold each other.
fn apart(field: &str, p: &str, other: &str) -> Result<(), PlanError> {
    if is_at_or_below(p, other) || is_at_or_below(other, p) {
        return Err(err(field, format!("`{p}` overlaps {other}")));
    }
    Ok(())
}

/// True when `p` is an absolute path of normal parts: no `.`, `..`, empty
/// part or trailing slash, no control character, not `/` itself.
pub fn is_normal_absolute(p: &str) -> bool {
    let Some(rest) = p.strip_prefix('/') else {
        return false;
    };
    p.len() <= 4096
        && !p.chars().any(char::is_control)
        && rest
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

fn normal_absolute(field: &str, p: &str) -> Result<(), PlanError> {
    if is_normal_absolute(p) {
        return Ok(());
    }
    Err(err(
        field,
        format!(
            "`{}` is not an absolute path of plain parts (no `.`, `..` or empty part)",
            show(p)
        ),
    ))
}

/// `p` is `dir` or below it (both normal absolute paths).
pub fn is_at_or_below(p: &str, dir: &str) -> bool {
    p == dir || is_below(p, dir)
}

fn is_below(p: &str, dir: &str) -> bool {
    p.strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// A name homelab made: lowercase letters, digits, `-` and `_`, starting
/// with a letter or digit; never `.` or `..`, never a `/`.
pub fn is_name(s: &str) -> bool {
    s.len() <= 128
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn name(field: &str, s: &str) -> Result<(), PlanError> {
    if is_name(s) {
        return Ok(());
    }
    Err(err(
        field,
        format!(
            "`{}` is not a name (lowercase letters, digits, `-`, `_`)",
            show(s)
        ),
    ))
}

fn label(field: &str, s: &str, what: &str) -> Result<(), PlanError> {
    if crate::spec::is_dns_label(s) {
        return Ok(());
    }
    Err(err(field, format!("`{}` is not {what}", show(s))))
}

/// A secret's name: one file name below `/run/agenix` (the spec's rule
/// for `secrets/<name>.age`).
pub fn is_secret_name(s: &str) -> bool {
    s.len() <= 100
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

fn secret(field: &str, s: &str) -> Result<(), PlanError> {
    if is_secret_name(s) {
        return Ok(());
    }
    Err(err(
        field,
        format!(
            "`{}` is not a secret name (one file in /run/agenix)",
            show(s)
        ),
    ))
}

/// A PostgreSQL identifier as NixOS's module creates them, and nothing a
/// client library could read as a connection string.
pub fn is_identifier(s: &str) -> bool {
    s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn identifier(field: &str, s: &str) -> Result<(), PlanError> {
    if is_identifier(s) {
        return Ok(());
    }
    Err(err(
        field,
        format!("`{}` is not a database identifier", show(s)),
    ))
}

/// A systemd unit name with its type suffix.
fn is_unit(s: &str) -> bool {
    const TYPES: [&str; 6] = [
        ".service", ".socket", ".target", ".timer", ".mount", ".path",
    ];
    s.len() <= 256
        && !s.starts_with(['-', '.'])
        && TYPES
            .iter()
            .any(|t| s.strip_suffix(t).is_some_and(|n| !n.is_empty()))
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ":_.@-\\".contains(c))
}

/// `pool/dataset[/child…]`: a pool name, then parts of ZFS's name
/// characters (no `@`, `#` or space: a snapshot or bookmark is not a
/// dataset).
fn is_dataset(s: &str) -> bool {
    let mut parts = s.split('/');
    let pool_ok = parts.next().is_some_and(grammar::is_pool_name);
    let rest: Vec<&str> = parts.collect();
    pool_ok
        && !rest.is_empty()
        && s.len() <= 255
        && rest.iter().all(|p| {
            !p.is_empty()
                && *p != "."
                && *p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
        })
}

fn calendar(field: &str, s: &str) -> Result<(), PlanError> {
    if grammar::is_calendar(s) {
        return Ok(());
    }
    Err(err(
        field,
        format!("`{}` is not a systemd calendar expression", show(s)),
    ))
}

/// restic's `--read-data-subset`: `n/t`, `x%`/`x.y%`, or a size with a
/// k/m/g/t suffix.
pub fn is_data_subset(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit());
    if let Some((n, t)) = s.split_once('/') {
        return digits(n) && digits(t);
    }
    if let Some(p) = s.strip_suffix('%') {
        let (whole, frac) = p.split_once('.').unwrap_or((p, "0"));
        return digits(whole) && digits(frac);
    }
    let number = s.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G', 't', 'T']);
    digits(number) && s.len() - number.len() <= 1
}

fn err(field: impl Into<String>, problem: impl Into<String>) -> PlanError {
    PlanError {
        field: field.into(),
        problem: problem.into(),
    }
}

/// A value for a message: control characters escaped, at most 120
/// characters, so a hostile plan cannot paint the terminal.
fn show(s: &str) -> String {
    let escaped: String = s.chars().flat_map(char::escape_debug).collect();
    match escaped.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &escaped[..i]),
        None => escaped,
    }
}

#[cfg(test)]
mod tests;
