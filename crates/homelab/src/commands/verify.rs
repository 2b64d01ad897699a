//! `homelab verify exposure --from WHERE`: every route tried from here,
//! what answered held against what the exposure allows.

use crate::print::{self, Paint, fail};
use crate::source::Source;
use compile::probes::exposure::{Vantage, checks};
use operate::probe::exposure::{Proof, Verdict, verify};
use std::process::ExitCode;
use std::time::Duration;

pub fn exposure(src: &Source, from: &str, via: Option<&str>, json: bool) -> ExitCode {
    let fleet = match print::fleet(src) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let vantage = Vantage::parse(from).expect("clap allows only known places");
    if vantage == Vantage::Admin && fleet.admin_devices().is_empty() {
        return fail(
            "no admin device to verify from: list yours in `[access.tailscale]`, \
             `admins = { laptop = \"100.x.y.z\" }`, and run this on one of them",
        );
    }
    let routes = checks(&fleet, vantage, via);
    if routes.is_empty() {
        return fail(format!(
            "nothing to try from {}: give the address to ask with --via{}",
            vantage.as_str(),
            match vantage {
                Vantage::Admin | Vantage::Tailnet => {
                    ", or each host's `tailnet_address` in the spec"
                }
                Vantage::Internet => ", or `[status] public_address` in the spec",
                Vantage::Lan => "",
            }
        ));
    }
    let limits = compile::probes::probes(&fleet).limits;
    let proofs = verify(
        routes,
        Duration::from_millis(limits.probe_ms),
        Duration::from_millis(limits.run_ms),
    );
    if json {
        print::json(&proofs);
    } else {
        print!("{}", text(&proofs, vantage, Paint::stdout()));
    }
    if proofs.iter().any(|p| p.verdict == Verdict::Exposed) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Errors and warnings first, then the matrix of every route: declared
/// next to proven.
fn text(proofs: &[Proof], vantage: Vantage, paint: Paint) -> String {
    let exposed = proofs
        .iter()
        .filter(|p| p.verdict == Verdict::Exposed)
        .count();
    let missing = proofs
        .iter()
        .filter(|p| p.verdict == Verdict::Unreachable)
        .count();
    let mut out = format!(
        "from {}: {} routes tried: {}, {}\n",
        vantage.as_str(),
        proofs.len(),
        if exposed == 0 {
            paint.good("nothing reachable that must not be")
        } else {
            paint.bad(&format!("{exposed} reachable that must not be"))
        },
        if missing == 0 {
            "everything declared answers".to_string()
        } else {
            paint.warn(&format!("{missing} declared but not answering"))
        }
    );
    for p in proofs.iter().filter(|p| p.verdict != Verdict::AsDeclared) {
        let (label, what, join) = match p.verdict {
            Verdict::Exposed => (paint.bad("error"), "answers", "but"),
            _ => (paint.warn("warning"), "does not answer", "though"),
        };
        out.push_str(&format!(
            "{label}: {} on {}: {} {what} from {} ({}), {join} {}\n",
            p.check.service,
            p.check.host,
            p.check.route.text(),
            vantage.as_str(),
            p.saw,
            p.check.rule,
        ));
    }
    out.push('\n');
    let mut rows = vec![
        [
            "SERVICE", "HOST", "EXPOSURE", "ROUTE", "DECLARED", "PROVEN", "SAW",
        ]
        .map(String::from)
        .to_vec(),
    ];
    rows.extend(proofs.iter().map(|p| {
        vec![
            p.check.service.clone(),
            p.check.host.clone(),
            p.check.exposure.as_str().to_string(),
            p.check.route.text(),
            if p.check.open { "open" } else { "closed" }.to_string(),
            if p.reached { "open" } else { "closed" }.to_string(),
            p.saw.clone(),
        ]
    }));
    for l in print::columns(&rows, |r, c, cell| {
        if r == 0 || c != 5 {
            return cell.to_string();
        }
        match proofs[r - 1].verdict {
            Verdict::AsDeclared => paint.good(cell),
            Verdict::Exposed => paint.bad(cell),
            Verdict::Unreachable => paint.warn(cell),
        }
    }) {
        out.push_str(&l);
        out.push('\n');
    }
    out
}
