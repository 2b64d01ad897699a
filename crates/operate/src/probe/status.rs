//! The whole homelab probed now: each host over SSH (its units, its
//! backup and drill records), each name through the front proxy, the
//! proxy's certificate; all at once, each probe within its time limit,
//! the whole run within its own. `homelab status` prints the report; the
//! deploy gate and the scheduled upgrade ask for one host's part of it.

use super::host::{self, HostFacts};
use super::http::{self, Request};
use super::run::{self, Job};
use super::tls;
use crate::runner::Ssh;
use compile::probes::{HostProbes, Probes, RecordProbe, WebProbe};
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where and how to probe.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only these hosts (all when empty).
    pub hosts: Vec<String>,
    /// Where web and certificate probes connect instead of the front
    /// proxy's LAN address.
    pub front_address: Option<String>,
    /// An ssh configuration file (`ssh -F`).
    pub ssh_config: Option<PathBuf>,
    /// A known_hosts file to trust instead of the user's (a host just
    /// installed, whose key the spec records).
    pub known_hosts: Option<PathBuf>,
}

impl Options {
    /// SSH to host `h` as its probes say (its user, address and port),
    /// through these options' configuration and known hosts.
    pub fn ssh(&self, h: &HostProbes, connect_timeout: Duration) -> Ssh {
        let mut ssh = Ssh::new(format!("{}@{}", h.ssh_user, h.address));
        ssh.port = Some(h.ssh_port);
        ssh.config = self.ssh_config.clone();
        ssh.known_hosts = self.known_hosts.clone();
        ssh.options.push(format!(
            "ConnectTimeout={}",
            connect_timeout.as_secs().max(1)
        ));
        ssh
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub hosts: Vec<HostReport>,
    /// The whole run, in milliseconds.
    pub took_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub host: String,
    pub address: String,
    /// Whether it answered over SSH.
    pub reachable: bool,
    pub findings: Vec<Finding>,
}

/// One probe's result.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub service: String,
    /// What was asked: `ssh admin@192.168.1.10`, `unit caddy.service`,
    /// `https://photos.home.example.org/api/server/ping`, `certificate`,
    /// `backup to nas`, `drill`.
    pub probe: String,
    pub up: bool,
    /// False when it could not be asked (its host did not answer).
    pub asked: bool,
    /// What the probe saw: `active (running)`, `200 in 41 ms`,
    /// `refused: connection refused`.
    pub saw: String,
}

impl Report {
    /// Every finding that is not up, with its host.
    pub fn down(&self) -> impl Iterator<Item = (&str, &Finding)> {
        self.hosts
            .iter()
            .flat_map(|h| h.findings.iter().map(move |f| (h.host.as_str(), f)))
            .filter(|(_, f)| !f.up)
    }

    /// What is down and was asked: a host that does not answer is one
    /// line, not one per probe it could not be asked.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &Finding)> {
        self.down().filter(|(_, f)| f.asked)
    }

    pub fn all_up(&self) -> bool {
        self.down().next().is_none()
    }
}

/// What one job found.
enum Found {
    Host(Result<HostFacts, String>),
    Web(Result<http::Answer, String>, Duration),
    Certificate(Result<tls::Certificate, String>),
}

/// Probes the hosts of `probes` (those of `options.hosts`).
pub fn status(probes: &Probes, options: &Options) -> Report {
    let started = Instant::now();
    let limit = Duration::from_millis(probes.limits.probe_ms);
    let hosts: Vec<&HostProbes> = probes
        .hosts
        .iter()
        .filter(|h| options.hosts.is_empty() || options.hosts.contains(&h.host))
        .collect();
    let front = options
        .front_address
        .clone()
        .or_else(|| probes.front.as_ref().map(|f| f.address.clone()));
    let port = probes
        .front
        .as_ref()
        .map_or(compile::probes::https_port(), |f| f.port);
    let mut jobs: Vec<Job<'static, Found>> = Vec::new();
    for h in &hosts {
        jobs.push(host_job(h, options, limit));
        for w in &h.web {
            jobs.push(web_job(w, front.clone(), port, limit));
        }
        if let Some(c) = &h.certificate {
            let (name, front) = (c.name.clone(), front.clone());
            jobs.push(Box::new(move || {
                Found::Certificate(tls::certificate(&name, front.as_deref(), port, limit))
            }));
        }
    }
    let mut results = run::all(jobs, Duration::from_millis(probes.limits.run_ms)).into_iter();
    let now = jiff::Timestamp::now();
    let reports = hosts
        .iter()
        .map(|h| {
            let mut next = || results.next().flatten();
            let facts = match next() {
                Some(Found::Host(r)) => r,
                _ => Err("no answer over SSH within the run's time limit".into()),
            };
            let mut report = HostReport {
                host: h.host.clone(),
                address: h.address.clone(),
                reachable: facts.is_ok(),
                findings: vec![ssh_finding(h, &facts)],
            };
            report.findings.extend(unit_findings(h, &facts));
            for w in &h.web {
                report.findings.push(web_finding(w, next()));
            }
            if h.certificate.is_some() {
                report
                    .findings
                    .push(certificate_finding(probes.limits.certificate_days, next()));
            }
            for r in &h.records {
                report.findings.extend(record_findings(r, &facts, now));
            }
            report
        })
        .collect();
    Report {
        hosts: reports,
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

fn host_job(h: &HostProbes, options: &Options, limit: Duration) -> Job<'static, Found> {
    let user = h.ssh_user.clone();
    let ssh = options.ssh(h, limit);
    let state_dir = h.state_dir.clone();
    let units: Vec<String> = h.units.iter().map(|u| u.unit.clone()).collect();
    Box::new(move || Found::Host(host::ask(&ssh, &user, &state_dir, &units)))
}

fn web_job(w: &WebProbe, front: Option<String>, port: u16, limit: Duration) -> Job<'static, Found> {
    let (name, path) = (w.name.clone(), w.path.clone());
    Box::new(move || {
        let started = Instant::now();
        let answer = http::get(&Request {
            name: &name,
            address: front.as_deref(),
            port,
            path: &path,
            tls: true,
            limit,
        });
        Found::Web(answer, started.elapsed())
    })
}

fn ssh_finding(h: &HostProbes, facts: &Result<HostFacts, String>) -> Finding {
    Finding {
        service: "host".into(),
        probe: format!("ssh {}@{}", h.ssh_user, h.address),
        up: facts.is_ok(),
        asked: true,
        saw: match facts {
            Ok(_) => "answers".into(),
            Err(e) => e.clone(),
        },
    }
}

fn unit_findings(h: &HostProbes, facts: &Result<HostFacts, String>) -> Vec<Finding> {
    h.units
        .iter()
        .map(|u| {
            let (up, saw) = match facts {
                Err(_) => (false, "not asked: the host did not answer".to_string()),
                Ok(f) => match f.units.get(&u.unit) {
                    Some(state) => (state.is_active(), state.describe()),
                    None => (false, "systemd did not report it".into()),
                },
            };
            Finding {
                service: u.service.clone(),
                probe: format!("unit {}", u.unit),
                up,
                asked: facts.is_ok(),
                saw,
            }
        })
        .collect()
}

fn web_finding(w: &WebProbe, found: Option<Found>) -> Finding {
    let (up, saw) = match found {
        Some(Found::Web(Ok(a), took)) => {
            let up = w.expect.met(a.status, a.location.as_deref());
            let mut saw = format!("{} in {} ms", a.status, took.as_millis());
            if let Some(l) = a
                .location
                .as_deref()
                .filter(|_| (300..400).contains(&a.status))
            {
                saw.push_str(&format!(" to {l}"));
            }
            if !up && a.status == 403 && a.body.contains(super::exposure::REFUSAL) {
                // An `admins` name asked from a family device, a `lan`
                // one from the tailnet: the service may well be up.
                saw.push_str(
                    ": the proxy refused this computer, on a network the name's exposure does not reach (`homelab show exposure`)",
                );
            } else if !up {
                saw.push_str(&format!(", expected {}", w.expect.describe()));
            }
            (up, saw)
        }
        Some(Found::Web(Err(e), _)) => (false, e),
        _ => (false, "no answer within the run's time limit".into()),
    };
    Finding {
        service: w.service.clone(),
        probe: format!("https://{}{}", w.name, w.path),
        up,
        asked: true,
        saw,
    }
}

fn certificate_finding(min_days: u32, found: Option<Found>) -> Finding {
    let (up, saw) = match found {
        Some(Found::Certificate(Ok(c))) => {
            let up = c.days_left > i64::from(min_days);
            let mut saw = format!(
                "valid for {} more days (until {})",
                c.days_left, c.not_after
            );
            if !up {
                saw.push_str(&format!(", fewer than {min_days}"));
            }
            (up, saw)
        }
        Some(Found::Certificate(Err(e))) => (false, e),
        _ => (false, "no answer within the run's time limit".into()),
    };
    Finding {
        service: "caddy".into(),
        probe: "certificate".into(),
        up,
        asked: true,
        saw,
    }
}

/// The service's last backup to each repository and its last drill,
/// against the limits of its data class.
fn record_findings(
    r: &RecordProbe,
    facts: &Result<HostFacts, String>,
    now: jiff::Timestamp,
) -> Vec<Finding> {
    let Ok(facts) = facts else {
        return Vec::new();
    };
    let hours_ago = |at: &str| {
        at.parse::<jiff::Timestamp>()
            .ok()
            .map(|t| (now.as_second() - t.as_second()) as f64 / 3600.0)
    };
    let class = r.class.as_str();
    let mut out: Vec<Finding> = r
        .repositories
        .iter()
        .map(|repo| {
            let last = facts
                .backups
                .get(&r.service)
                .and_then(|b| b.repositories.get(repo));
            let age = last
                .and_then(|l| l.last_success.as_deref())
                .and_then(hours_ago);
            let (up, mut saw) = match age {
                None => (false, "never backed up".to_string()),
                Some(h) if h > f64::from(r.backup_max_age_hours) => (
                    false,
                    format!("{h:.1} h ago, {class} allows {} h", r.backup_max_age_hours),
                ),
                Some(h) => (true, format!("{h:.1} h ago")),
            };
            if let Some(e) = last.and_then(|l| l.last_error.as_deref()) {
                saw.push_str(&format!("; the last attempt failed: {e}"));
            }
            Finding {
                service: r.service.clone(),
                probe: format!("backup to {repo}"),
                up,
                asked: true,
                saw,
            }
        })
        .collect();
    let limit_hours = f64::from(r.drill_max_age_days) * 24.0;
    let drill = facts.drills.get(&r.service);
    let passed = facts
        .passed_drills
        .get(&r.service)
        .or(drill.filter(|d| d.passed));
    let passed_age = passed.and_then(|d| hours_ago(&d.at));
    let (up, saw) = match (drill, passed_age) {
        (None, _) => (false, "never drilled".to_string()),
        (Some(d), _) if !d.passed => (
            false,
            format!(
                "the last drill failed: {}",
                d.problems.first().map_or("", String::as_str)
            ),
        ),
        (_, Some(h)) if h > limit_hours => (
            false,
            format!(
                "passed {:.0} days ago, {class} allows {}",
                h / 24.0,
                r.drill_max_age_days
            ),
        ),
        (_, Some(h)) => (true, format!("passed {:.1} days ago", h / 24.0)),
        (Some(_), None) => (false, "the drill record has no time".into()),
    };
    out.push(Finding {
        service: r.service.clone(),
        probe: "drill".into(),
        up,
        asked: true,
        saw,
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use compile::probes::Expect;

    fn grafana() -> WebProbe {
        WebProbe {
            service: "grafana".into(),
            name: "grafana.home.example.org".into(),
            path: "/api/health".into(),
            expect: Expect::Healthy,
        }
    }

    fn answer(status: u16, body: &str) -> Option<Found> {
        let a = http::Answer {
            status,
            location: None,
            body: body.into(),
        };
        Some(Found::Web(Ok(a), Duration::from_millis(3)))
    }

    #[test]
    fn the_proxys_refusal_names_the_network_not_the_service() {
        let f = web_finding(&grafana(), answer(403, super::super::exposure::REFUSAL));
        assert!(!f.up);
        assert_eq!(
            f.saw,
            "403 in 3 ms: the proxy refused this computer, on a network the name's exposure does not reach (`homelab show exposure`)"
        );
        // A 403 of the service's own is held against what was expected.
        let f = web_finding(&grafana(), answer(403, "Forbidden"));
        assert_eq!(f.saw, "403 in 3 ms, expected 200");
    }
}
