//! `homelab.prom` for node-exporter's textfile collector. The metric
//! names are fixed: the generated alert rules compare them (a backup or
//! drill older than its allowance, a failed last drill). Every service of
//! the plan is in the file every time, whatever the run just did.

use super::BackupRecord;
use crate::backup::drill::DrillRecord;
use compile::plan::ServicePlan;
use std::fmt::Write;

/// The file name in the metrics folder.
pub(crate) const FILE_NAME: &str = "homelab.prom";

/// What is known about one service, read from the state folder.
pub struct ServiceFacts<'a> {
    pub plan: &'a ServicePlan,
    pub backups: BackupRecord,
    pub last_drill: Option<DrillRecord>,
    pub(crate) last_passed: Option<DrillRecord>,
}

/// One metric: name, help text, and its samples (labels, value).
struct Metric {
    name: &'static str,
    help: &'static str,
    samples: Vec<(String, String)>,
}

pub fn render(services: &[ServiceFacts], drill_max_age_days: u32) -> String {
    let metrics = [
        Metric {
            name: "homelab_backup_last_success_timestamp_seconds",
            help: "When the service was last backed up to the repository (Unix time; 0 = never).",
            samples: services
                .iter()
                .flat_map(|s| {
                    s.plan.repositories.iter().map(|r| {
                        let at = s
                            .backups
                            .repositories
                            .get(&r.name)
                            .and_then(|x| x.last_success.as_deref());
                        (
                            format!(
                                "service=\"{}\",repository=\"{}\"",
                                label(&s.plan.name),
                                label(&r.name)
                            ),
                            unix(at).to_string(),
                        )
                    })
                })
                .collect(),
        },
        per_service(
            "homelab_backup_max_age_seconds",
            "How old the newest backup of the service may be.",
            services,
            |s| Some((u64::from(s.plan.max_age_hours) * 3600).to_string()),
        ),
        per_service(
            "homelab_drill_last_success_timestamp_seconds",
            "When a restore drill of the service last passed (Unix time; 0 = never).",
            services,
            |s| Some(unix(s.last_passed.as_ref().map(|d| d.at.as_str())).to_string()),
        ),
        per_service(
            "homelab_drill_last_run_success",
            "1 when the service's last restore drill passed, 0 when it failed.",
            services,
            |s| {
                s.last_drill
                    .as_ref()
                    .map(|d| u8::from(d.passed).to_string())
            },
        ),
        per_service(
            "homelab_drill_recovery_seconds",
            "How long the last passing restore drill of the service took.",
            services,
            |s| s.last_passed.as_ref().map(|d| seconds(d.recovery_seconds)),
        ),
        per_service(
            "homelab_drill_max_age_seconds",
            "How old the last passing restore drill may be.",
            services,
            |_| Some((u64::from(drill_max_age_days) * 86_400).to_string()),
        ),
    ];
    let mut out = String::new();
    for m in &metrics {
        let _ = writeln!(out, "# HELP {} {}", m.name, m.help);
        let _ = writeln!(out, "# TYPE {} gauge", m.name);
        for (labels, value) in &m.samples {
            let _ = writeln!(out, "{}{{{labels}}} {value}", m.name);
        }
    }
    out
}

fn per_service(
    name: &'static str,
    help: &'static str,
    services: &[ServiceFacts],
    value: impl Fn(&ServiceFacts) -> Option<String>,
) -> Metric {
    Metric {
        name,
        help,
        samples: services
            .iter()
            .filter_map(|s| Some((format!("service=\"{}\"", label(&s.plan.name)), value(s)?)))
            .collect(),
    }
}

/// An RFC 3339 time as Unix seconds; 0 for never (or unreadable).
fn unix(at: Option<&str>) -> i64 {
    at.and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_second())
}

fn seconds(s: f64) -> String {
    format!("{s:.3}")
}

/// A label value in the exposition format: `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), r#"a\"b\\c\nd"#);
    }

    #[test]
    fn unreadable_or_missing_times_are_never() {
        assert_eq!(unix(None), 0);
        assert_eq!(unix(Some("yesterday")), 0);
        assert_eq!(unix(Some("2026-01-01T00:00:00Z")), 1_767_225_600);
    }
}
