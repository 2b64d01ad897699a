//! Data keys of the spec: a data entry's snapshot schedule
//! (`snapshots = { … }`) and a host's plain datasets
//! (`[hosts.<h>.data.<name>]`).

use super::model::{DataClass, PlainData, Schedule};
use super::reader::{Sink, Sp, Table};
use crate::diagnostic::Diagnostic;
use crate::plan::{SCRATCH_DIR, STATE_DIR, is_at_or_below, is_normal_absolute, system_folder};

/// `snapshots = { frequently = 4, hourly = 24, … }` of a data table: each
/// count an integer from 0 to [`Schedule::MAX`]; other keys are unknown.
pub(super) fn schedule(t: &mut Table, sink: &mut Sink) -> Option<Schedule> {
    let span = t.key_span("snapshots")?;
    let mut s = t.table(sink, "snapshots")?;
    let counts = Schedule::PERIODS
        .iter()
        .filter_map(|period| {
            let n = s.int(sink, period, 0, i64::from(Schedule::MAX))?;
            Some((*period, Sp::new(n.value as u32, n.span)))
        })
        .collect();
    s.finish(sink);
    Some(Schedule { span, counts })
}

/// Every `[hosts.<h>.data.<name>]` of a host table.
pub(super) fn plain(t: &mut Table, sink: &mut Sink) -> Vec<PlainData> {
    let mut out = Vec::new();
    for (name, mut d) in t.named_tables(sink, "data") {
        super::parse::dns_label(sink, &name, "dataset name");
        let path = d.req_str(sink, "path", "\"/srv/isos\"");
        if let Some(p) = &path {
            data_path(sink, p);
        }
        let class = class(&mut d, sink);
        let quota = super::parse::size(&mut d, sink, "quota");
        let recordsize = d.str(sink, "recordsize");
        if let Some(r) = &recordsize {
            super::parse::recordsize_value(sink, r);
        }
        let pool = d.str(sink, "pool");
        let snapshots = schedule(&mut d, sink);
        let silence = super::parse::silences(&mut d, sink);
        d.finish(sink);
        if let (Some(path), Some(class)) = (path, class) {
            out.push(PlainData {
                name,
                path,
                class,
                quota,
                recordsize,
                pool,
                snapshots,
                silence,
            });
        }
    }
    out
}

/// A plain dataset's class is required: no catalog entry knows what the
/// data is, so the spec says how much it is worth.
fn class(d: &mut Table, sink: &mut Sink) -> Option<Sp<DataClass>> {
    if d.get("class").is_none() {
        sink.push(
            Diagnostic::error("missing-key", format!("`[{}]` has no `class`", d.path))
                .at(d.span.clone(), "`class` is required here")
                .help("add `class = \"critical\"`, `\"standard\"` or `\"disposable\"`: it decides the snapshots and the backup"),
        );
        return None;
    }
    let c = d.choice(sink, "class", &DataClass::NAMES)?;
    DataClass::parse(&c.value).map(|v| Sp::new(v, c.span))
}

/// Where a plain dataset is mounted: an absolute path of plain parts, at
/// least two deep (a restore works on the folder; `/srv` itself is not a
/// dataset's), never a system folder or homelab's own state.
fn data_path(sink: &mut Sink, p: &Sp<String>) {
    let problem = if !is_normal_absolute(&p.value) {
        Some("expected an absolute path of plain parts (no `.`, `..` or empty part)".to_string())
    } else if p.value.matches('/').count() < 2 {
        Some("a top-level folder".to_string())
    } else if let Some(system) = system_folder(&p.value) {
        Some(format!("a system folder ({system})"))
    } else {
        [
            (STATE_DIR, "homelab's state"),
            (SCRATCH_DIR, "the drills' scratch space"),
        ]
        .into_iter()
        .find(|(own, _)| is_at_or_below(&p.value, own) || is_at_or_below(own, &p.value))
        .map(|(own, what)| format!("overlaps {what} ({own})"))
    };
    if let Some(problem) = problem {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                format!("`{}` cannot be a dataset's mount point", p.value),
            )
            .at(p.span.clone(), problem)
            .help("mount it below a folder of its own, e.g. `path = \"/srv/isos\"`"),
        );
    }
}
