//! `homelab verify exposure`: every route of `compile::probes::exposure`
//! tried from where the command runs, and what answered compared with
//! what the declared exposure allows.
//!
//! A name counts as reached when an HTTP answer below 500 comes back that
//! is not the proxy's own refusal (its 403 "Not reachable from this
//! network"); a port when a TCP connection is accepted. Reached where it must not
//! be is an exposure nobody declared; not reached where it must be is a
//! service down or a rule too strict.

use super::http::{self, Request};
use super::run::{self, Job};
use super::tcp::{self, Reply};
use compile::probes::exposure::{Check, Route};
use serde::Serialize;
use std::time::Duration;

pub(crate) use compile::probes::exposure::REFUSAL;

/// What trying one route proved.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    pub check: Check,
    /// Whether the route was reached.
    pub reached: bool,
    pub saw: String,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// As declared.
    AsDeclared,
    /// Reached where it must not be: an error.
    Exposed,
    /// Not reached where it must be: a warning.
    Unreachable,
}

/// Tries every route at once, each within `limit`, the run within `run`.
pub fn verify(checks: Vec<Check>, limit: Duration, within: Duration) -> Vec<Proof> {
    let jobs: Vec<Job<'static, (bool, String)>> = checks
        .iter()
        .map(|c| {
            let route = c.route.clone();
            Box::new(move || attempt(&route, limit)) as Job<'static, (bool, String)>
        })
        .collect();
    let results = run::all(jobs, within);
    checks
        .into_iter()
        .zip(results)
        .map(|(check, result)| {
            let (reached, saw) =
                result.unwrap_or((false, "no answer within the run's time limit".into()));
            let verdict = match (check.open, reached) {
                (true, true) | (false, false) => Verdict::AsDeclared,
                (false, true) => Verdict::Exposed,
                (true, false) => Verdict::Unreachable,
            };
            Proof {
                check,
                reached,
                saw,
                verdict,
            }
        })
        .collect()
}

/// Tries one route: whether it was reached, and what was seen.
fn attempt(route: &Route, limit: Duration) -> (bool, String) {
    match route {
        Route::ProxyName {
            name,
            address,
            path,
        } => web(name, address.as_deref(), path, limit),
        Route::TunnelName { name, path } => web(name, None, path, limit),
        Route::Port { address, port, .. } => match tcp::connect(address, *port, limit) {
            Reply::Accepted => (true, "a connection was accepted".into()),
            Reply::Refused(e) => (false, format!("refused: {e}")),
            Reply::Silent => (false, "no answer (dropped)".into()),
        },
    }
}

fn web(name: &str, address: Option<&str>, path: &str, limit: Duration) -> (bool, String) {
    let answer = http::get(&Request {
        name,
        address,
        port: compile::probes::https_port(),
        path,
        tls: true,
        limit,
    });
    match answer {
        Ok(a) if a.status == 403 && a.body.contains(REFUSAL) => (
            false,
            "the proxy refused: not reachable from this network".into(),
        ),
        // The proxy answers for a service that does not (502, 504).
        Ok(a) if a.status >= 500 => (
            false,
            format!("answered {}: nothing answers behind the proxy", a.status),
        ),
        Ok(a) => (true, format!("answered {}", a.status)),
        Err(e) => (false, e),
    }
}
