//! `homelab report`: one self-contained HTML page about a homelab — the
//! access matrix, storage and memory bars per host, the dependency graph,
//! backup coverage and every diagnostic. No script, no external resource:
//! the page opens offline and prints.

mod svg;

use crate::catalog;
use crate::diagnostic::{Diagnostic, LineIndex, Severity};
use crate::fleet::Fleet;
use crate::show;
use crate::spec::{DataClass, Exposure, Size};
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use svg::{Node, Segment};

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = include_str!("style.css");

/// How every page begins: the `generator` tag is how `homelab report`
/// knows a file at its output path is a page it wrote, which it may
/// replace (see [`is_page`]).
pub const PAGE_START: &str = r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="generator" content="homelab report">"#;

/// Whether a file that begins with `head` (at least [`PAGE_START`]'s
/// length of it) is a page `homelab report` wrote.
pub fn is_page(head: &[u8]) -> bool {
    head.starts_with(PAGE_START.as_bytes())
}

/// The whole page. Without a fleet (the spec did not parse or resolve) the
/// page holds the findings alone.
pub fn html(
    fleet: Option<&Fleet>,
    diagnostics: &[Diagnostic],
    spec_text: &str,
    spec_name: &str,
) -> String {
    let title = fleet.map_or_else(|| spec_name.to_string(), |f| f.homelab.name.value.clone());
    let mut page = String::new();
    let _ = write!(
        page,
        r#"{PAGE_START}<meta name="viewport" content="width=device-width, initial-scale=1"><title>{} homelab</title><style>{STYLE}</style></head><body><main>"#,
        esc(&title)
    );
    let count = |s: Severity| diagnostics.iter().filter(|d| d.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    let summary = match fleet {
        Some(f) => format!(
            "{} services on {} host(s) · internal names under <code>{}</code> · public names under <code>{}</code> · from <code>{}</code>",
            f.instances.len(),
            f.hosts.len(),
            esc(&f.homelab.internal_domain.value),
            esc(&f.homelab.domain.value),
            esc(spec_name)
        ),
        None => format!(
            "<code>{}</code> could not be read as a homelab: fix the findings below to see its tables",
            esc(spec_name)
        ),
    };
    let _ = write!(
        page,
        r#"<header><h1>{}</h1><p class="lede">{summary}</p><p class="status {}">{errors} error(s), {warnings} warning(s)</p></header>"#,
        esc(&title),
        if errors > 0 {
            "bad"
        } else if warnings > 0 {
            "warn"
        } else {
            "good"
        },
    );
    if let Some(fleet) = fleet {
        hosts(&mut page, fleet);
        exposure(&mut page, fleet);
        storage(&mut page, fleet);
        memory(&mut page, fleet);
        graph(&mut page, fleet);
        backups(&mut page, fleet);
    }
    diagnostics_section(&mut page, diagnostics, spec_text);
    page.push_str("</main></body></html>\n");
    page
}

fn hosts(page: &mut String, fleet: &Fleet) {
    page.push_str(r#"<section id="hosts"><h2>Hosts</h2><div class="cards">"#);
    for host in &fleet.hosts {
        let services = fleet.instances_on(host.name()).count();
        let pools: Vec<String> = host
            .spec
            .pools
            .iter()
            .map(|p| {
                format!(
                    "{} ({}, {})",
                    p.name.value,
                    p.mode.value,
                    p.size.value.zfs()
                )
            })
            .collect();
        let _ = write!(
            page,
            r#"<div class="card"><h3>{}</h3><dl><dt>role</dt><dd>{}</dd><dt>address</dt><dd>{}</dd><dt>memory</dt><dd>{} GiB</dd><dt>services</dt><dd>{}</dd><dt>pools</dt><dd>{}</dd></dl></div>"#,
            esc(host.name()),
            host.spec.role.value.as_str(),
            esc(&host.spec.address.value),
            host.spec.ram_gb.value,
            services,
            if pools.is_empty() {
                "none".to_string()
            } else {
                esc(&pools.join(", "))
            }
        );
    }
    page.push_str("</div></section>");
}

fn mark(open: bool) -> &'static str {
    if open {
        r#"<td class="yes">✓</td>"#
    } else {
        r#"<td class="no">✗</td>"#
    }
}

/// The tailnet's cell: all of it, its admin devices only, or none.
fn tailnet_mark(served: bool, e: Exposure) -> &'static str {
    match e {
        Exposure::Admins if served => r#"<td class="some">admin devices</td>"#,
        _ => mark(served && e >= Exposure::Tailnet),
    }
}

fn link(url: Option<String>) -> String {
    url.map_or_else(
        || "—".to_string(),
        |u| format!(r#"<a href="{0}">{0}</a>"#, esc(&u)),
    )
}

fn exposure(page: &mut String, fleet: &Fleet) {
    page.push_str(r#"<section id="exposure"><h2>Who can reach what</h2><p class="note">Services listen on 127.0.0.1; the proxy serves LAN and tailnet names, the tunnel public ones. Nothing else is open but SSH"#);
    if fleet.segments.is_empty() {
        page.push('.');
    } else {
        page.push_str(
            ", and on a segment (VLAN) what it uses: its clients reach nothing else of the fleet.",
        );
    }
    page.push_str(r#"</p><table><thead><tr><th>service</th><th>host</th><th>exposure</th><th>LAN</th><th>tailnet</th><th>internet (tunnel)</th>"#);
    for seg in &fleet.segments {
        let _ = write!(
            page,
            "<th>segment {} (VLAN {})</th>",
            esc(seg.name()),
            seg.spec.vlan.value
        );
    }
    page.push_str("<th>internal URL</th><th>public URL</th></tr></thead><tbody>");
    for i in &fleet.instances {
        let e = i.exposure.value;
        let segments: String = fleet
            .segments
            .iter()
            .map(|seg| mark(seg.reached().any(|(s, _)| s.instance == i.name.value)))
            .collect();
        let _ = write!(
            page,
            r#"<tr class="exposure-{}"><td><b>{}</b><span class="muted"> {}</span></td><td>{}</td><td><span class="chip {}">{}</span></td>{}{}{}{}<td>{}</td><td>{}</td></tr>"#,
            e.as_str(),
            esc(&i.name.value),
            esc(&i.entry.title),
            esc(&i.host),
            e.as_str(),
            e.as_str(),
            mark(i.fqdn.is_some() && e >= Exposure::Lan),
            tailnet_mark(i.fqdn.is_some(), e),
            mark(i.public_fqdn.is_some()),
            segments,
            link(i.fqdn.as_ref().map(|f| format!("https://{}", f.value))),
            link(
                i.public_fqdn
                    .as_ref()
                    .map(|f| format!("https://{}", f.value))
            ),
        );
    }
    page.push_str("</tbody></table></section>");
}

fn class_css(class: DataClass) -> &'static str {
    match class {
        DataClass::Critical => "critical",
        DataClass::Standard => "standard",
        DataClass::Disposable => "disposable",
    }
}

fn storage(page: &mut String, fleet: &Fleet) {
    page.push_str(r#"<section id="storage"><h2>Storage</h2><p class="note">Dataset quotas on each pool; the mark at 85&nbsp;% is the most that should be promised. <span class="key critical">critical</span> <span class="key standard">standard</span> <span class="key disposable">disposable</span></p>"#);
    for host in &fleet.hosts {
        for pool in &host.spec.pools {
            let mut segments = Vec::new();
            let mut unbounded = Vec::new();
            for (owner, d) in fleet.data_on(host) {
                let Some((p, name)) = &d.dataset else {
                    continue;
                };
                if p != &pool.name.value {
                    continue;
                }
                match d.quota {
                    Some(q) => segments.push(Segment {
                        label: format!("{p}/{name} ({owner}): {}", q.zfs()),
                        value: q.0 as f64,
                        class: class_css(d.class),
                    }),
                    None => unbounded.push(format!("{p}/{name}")),
                }
            }
            let used: u64 = segments.iter().map(|s| s.value as u64).sum();
            let _ = write!(
                page,
                r#"<div class="barblock" data-pool="{}"><h3>{} · {}</h3>{}<p class="legend">{} of {} promised ({:.0}&nbsp;%){}</p></div>"#,
                esc(&pool.name.value),
                esc(host.name()),
                esc(&pool.name.value),
                svg::bar(&segments, pool.size.value.0 as f64, &[(0.85, "85 %")]),
                Size(used).zfs(),
                pool.size.value.zfs(),
                used as f64 * 100.0 / pool.size.value.0.max(1) as f64,
                if unbounded.is_empty() {
                    String::new()
                } else {
                    format!(" · without quota: {}", esc(&unbounded.join(", ")))
                }
            );
        }
        if host.spec.pools.is_empty() {
            let _ = write!(
                page,
                r#"<p class="legend">{}: no ZFS pool — service data lives on the root file system, without snapshots.</p>"#,
                esc(host.name())
            );
        }
    }
    page.push_str("</section>");
}

fn memory(page: &mut String, fleet: &Fleet) {
    page.push_str(r#"<section id="memory"><h2>Memory</h2><p class="note">Catalog estimates against each host's RAM, with marks at 80&nbsp;% and 100&nbsp;%. <span class="key infra">infrastructure</span> <span class="key service">services</span></p>"#);
    for host in &fleet.hosts {
        let mut segments: Vec<Segment> = host
            .infrastructure
            .iter()
            .filter_map(|n| catalog::get(n))
            .map(|e| Segment {
                label: format!("{}: {} MiB", e.title, e.ram_mb),
                value: f64::from(e.ram_mb),
                class: "infra",
            })
            .collect();
        segments.extend(fleet.instances_on(host.name()).map(|i| Segment {
            label: format!("{}: {} MiB", i.name.value, i.entry.ram_mb),
            value: f64::from(i.entry.ram_mb),
            class: "service",
        }));
        let used: f64 = segments.iter().map(|s| s.value).sum();
        let ram = host.spec.ram_gb.value as f64 * 1024.0;
        let _ = write!(
            page,
            r#"<div class="barblock" data-host="{}"><h3>{}</h3>{}<p class="legend">{:.0} MiB of {:.0} MiB ({:.0}&nbsp;%)</p></div>"#,
            esc(host.name()),
            esc(host.name()),
            svg::bar(&segments, ram, &[(0.8, "80 %"), (1.0, "100 %")]),
            used,
            ram,
            used * 100.0 / ram.max(1.0)
        );
    }
    page.push_str("</section>");
}

fn graph(page: &mut String, fleet: &Fleet) {
    let mut nodes: Vec<Node> = fleet
        .instances
        .iter()
        .map(|i| Node {
            id: i.name.value.clone(),
            label: i.name.value.clone(),
            sub: format!("{} · {}", i.entry.title, i.host),
            class: "service",
        })
        .collect();
    let mut edges = Vec::new();
    // Lookups by name, so a large fleet stays linear.
    let mut first_of_entry: HashMap<&str, &str> = HashMap::new();
    for i in fleet.instances.iter().rev() {
        first_of_entry.insert(i.entry.name.as_str(), i.name.value.as_str());
    }
    let mut ids: HashSet<String> = nodes.iter().map(|n| n.id.clone()).collect();
    for row in show::graph(fleet).rows {
        let (from, to) = (row[0].text.clone(), row[2].text.clone());
        let id = first_of_entry
            .get(to.as_str())
            .map_or_else(|| to.clone(), |n| n.to_string());
        if ids.insert(id.clone()) {
            let title = catalog::get(&to).map_or(to.clone(), |e| e.title.clone());
            nodes.push(Node {
                id: id.clone(),
                label: to.clone(),
                sub: format!("{title} · infrastructure"),
                class: "infra",
            });
        }
        edges.push((from, id));
    }
    let _ = write!(
        page,
        r#"<section id="graph"><h2>What needs what</h2><p class="note">An arrow goes from a service to what it cannot work without.</p><div class="scroll">{}</div></section>"#,
        svg::graph(&nodes, &edges)
    );
}

fn backups(page: &mut String, fleet: &Fleet) {
    page.push_str(r#"<section id="backups"><h2>Backups</h2><table><thead><tr><th>host</th><th>owner</th><th>directory</th><th>class</th><th>snapshots</th><th>replica</th><th>offsite</th><th>database dump</th></tr></thead><tbody>"#);
    let databases: HashMap<&str, &str> = fleet
        .instances
        .iter()
        .filter_map(|i| Some((i.name.value.as_str(), i.database.as_deref()?)))
        .collect();
    for host in &fleet.hosts {
        for (owner, d) in fleet.data_on(host) {
            let snap = d.snapshots();
            let offsite = fleet.has_offsite() && d.goes_offsite();
            let replicated = fleet.replicated(host.name(), d);
            let exposed =
                d.class == DataClass::Critical && (!replicated || (!offsite && d.offsite));
            let db = databases.get(owner).map(|d| d.to_string());
            let _ = write!(
                page,
                r#"<tr class="{}"><td>{}</td><td>{}</td><td><code>{}</code></td><td><span class="key {}">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                if exposed { "unprotected" } else { "" },
                esc(host.name()),
                esc(owner),
                esc(&d.path),
                class_css(d.class),
                d.class.as_str(),
                snap.map_or("—".to_string(), |p| p.kept()),
                match &fleet.replica {
                    Some(r) if replicated => format!("✓ {}", esc(&r.host)),
                    _ if d.class == DataClass::Critical => "✗".to_string(),
                    _ => "—".to_string(),
                },
                if offsite {
                    "✓ restic"
                } else if d.class == DataClass::Disposable {
                    "not needed"
                } else if !d.offsite {
                    "via dumps"
                } else {
                    "✗"
                },
                db.map_or("—".to_string(), |d| esc(&d)),
            );
        }
    }
    page.push_str("</tbody></table>");
    if fleet.backup.is_none() {
        page.push_str(r#"<p class="legend bad">No offsite backup target: critical data exists on this site only.</p>"#);
    } else if let Some(why) = fleet.offsite_shortfall() {
        page.push_str(&format!(
            r#"<p class="legend bad">The backup repository is {}: not offsite, critical data exists on this site only.</p>"#,
            esc(&why)
        ));
    }
    page.push_str("</section>");
}

/// Escapes a message and shows its `quoted` names as code.
fn message_html(text: &str) -> String {
    let mut out = String::new();
    for (n, part) in esc(text).split('`').enumerate() {
        if n % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

fn diagnostics_section(page: &mut String, diagnostics: &[Diagnostic], spec_text: &str) {
    page.push_str(r#"<section id="diagnostics"><h2>Findings</h2>"#);
    if diagnostics.is_empty() {
        page.push_str(r#"<p class="legend good">No findings: every rule passes.</p>"#);
    } else {
        page.push_str("<ul class=\"diags\">");
        let lines = LineIndex::new(spec_text);
        for d in diagnostics {
            let severity = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Silenced => "silenced",
            };
            let at = d.primary.as_ref().map_or(String::new(), |p| {
                let (line, column) = lines.line_col(p.span.start);
                format!("{line}:{column}")
            });
            let _ = write!(
                page,
                r#"<li class="{severity}"><span class="sev">{severity}</span> <code>{}</code> <span class="at">{}</span><div>{}</div>{}</li>"#,
                esc(d.code),
                at,
                message_html(&d.message),
                d.help.as_ref().map_or(String::new(), |h| format!(
                    r#"<div class="help">{}</div>"#,
                    message_html(h)
                ))
            );
        }
        page.push_str("</ul>");
    }
    page.push_str("</section>");
}
