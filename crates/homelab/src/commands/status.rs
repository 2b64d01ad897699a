//! `homelab status`: the whole homelab probed now (`operate::probe`),
//! printed as a summary line and a table per host, or as JSON; again and
//! again with `--watch`.

use crate::cli::Reach;
use crate::print::{self, Paint, fail};
use crate::source::Source;
use operate::probe::status::{Options, Report, status};
use std::process::ExitCode;

pub fn run(
    src: &Source,
    hosts: &[String],
    json: bool,
    watch: Option<u64>,
    reach: &Reach,
) -> ExitCode {
    let fleet = match print::fleet(src) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let probes = compile::probes::probes(&fleet);
    let known: Vec<&str> = probes.hosts.iter().map(|h| h.host.as_str()).collect();
    if let Some(h) = hosts.iter().find(|h| !known.contains(&h.as_str())) {
        return fail(format!(
            "--host {h}: the spec has no host `{h}`; hosts: {}",
            known.join(", ")
        ));
    }
    let options = Options {
        hosts: hosts.to_vec(),
        front_address: reach.via.clone(),
        ssh_config: reach.ssh_config.clone(),
        known_hosts: None,
    };
    let paint = Paint::stdout();
    let Some(every) = watch else {
        let report = status(&probes, &options);
        if json {
            print::json(&report);
        } else {
            print!("{}", text(&fleet.homelab.name.value, &report, paint));
        }
        return exit(&report);
    };
    loop {
        let report = status(&probes, &options);
        let page = text(&fleet.homelab.name.value, &report, paint);
        if paint.on() {
            // Home, clear to the end: the page is redrawn in place.
            print!("\x1b[H\x1b[2J{page}");
        } else {
            println!("{page}");
        }
        let now = jiff::Zoned::now().strftime("%H:%M:%S");
        println!("probed at {now}; again in {every} s (Ctrl-C stops)");
        std::thread::sleep(std::time::Duration::from_secs(every));
    }
}

fn exit(report: &Report) -> ExitCode {
    if report.all_up() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The summary line, what is down, and a table per host.
pub fn text(name: &str, report: &Report, paint: Paint) -> String {
    let total: usize = report.hosts.iter().map(|h| h.findings.len()).sum();
    let failures: Vec<(&str, &operate::probe::status::Finding)> = report.failures().collect();
    // What a host that did not answer could not be asked is counted apart:
    // the count matches the lines below it.
    let unasked = report.down().filter(|(_, f)| !f.asked).count();
    let mut out = String::new();
    let mut verdict = if failures.is_empty() && unasked == 0 {
        paint.good("all up")
    } else {
        paint.bad(&format!("{} down", failures.len()))
    };
    if unasked > 0 {
        verdict.push_str(&format!(", {unasked} not asked"));
    }
    out.push_str(&format!(
        "{}: {} host(s), {total} probes in {:.1} s: {verdict}\n",
        paint.bold(name),
        report.hosts.len(),
        report.took_ms as f64 / 1000.0
    ));
    for (host, f) in &failures {
        out.push_str(&format!("  {host} {}: {}: {}\n", f.service, f.probe, f.saw));
    }
    for h in &report.hosts {
        out.push('\n');
        out.push_str(&paint.bold(&format!("{} ({})", h.host, h.address)));
        out.push('\n');
        let mut rows = vec![
            ["SERVICE", "PROBE", "STATE", "SAW"]
                .map(String::from)
                .to_vec(),
        ];
        rows.extend(h.findings.iter().map(|f| {
            vec![
                f.service.clone(),
                f.probe.clone(),
                match (f.up, f.asked) {
                    (true, _) => "up",
                    (false, true) => "DOWN",
                    (false, false) => "?",
                }
                .to_string(),
                f.saw.clone(),
            ]
        }));
        let lines = print::columns(&rows, |r, c, cell| match (r, c) {
            (0, _) => cell.to_string(),
            (_, 2) if cell.trim() == "up" => paint.good(cell),
            (_, 2) if cell.trim() == "?" => paint.warn(cell),
            (_, 2) => paint.bad(cell),
            _ => cell.to_string(),
        });
        for l in lines {
            out.push_str("  ");
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}
