//! What only the host itself knows, asked over one SSH connection per
//! host: the state of every unit the host must run, and the backup and
//! drill records homelab keeps in its state folder.
//!
//! One fixed `sh` script runs there (the unit names and the state folder
//! are its arguments, quoted by the runner, never spliced into it) and
//! prints `systemctl show` for the units, then each record file after a
//! marker line. What comes back is the host's word: it is parsed as data,
//! with bounded sizes, and only ever compared.

use crate::backup::drill::DrillRecord;
use crate::backup::report::BackupRecord;
use crate::runner::{Cmd, Runner};
use std::collections::BTreeMap;

/// Prints the units' state, then every record, each after a marker line.
const SCRIPT: &str = r#"dir=$1; shift
echo "@units"
if [ "$#" -gt 0 ]; then
  systemctl show --property=Id,LoadState,ActiveState,SubState,Result -- "$@" || echo "@systemctl $?"
fi
for kind in backups drills; do
  for f in "$dir/$kind"/*.json; do
    [ -f "$f" ] || continue
    echo "@record $kind ${f##*/}"
    head -c 1048576 "$f"
    echo
  done
done
echo "@end"
"#;

/// A unit's state as systemd reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UnitState {
    pub load: String,
    pub active: String,
    pub sub: String,
    pub result: String,
}

impl UnitState {
    pub fn is_active(&self) -> bool {
        self.active == "active"
    }

    /// `active (running)`, `failed (exit-code)`, `not found`.
    pub fn describe(&self) -> String {
        if self.load == "not-found" {
            return "no such unit".into();
        }
        let detail = if self.active == "failed" {
            &self.result
        } else {
            &self.sub
        };
        if detail.is_empty() {
            self.active.clone()
        } else {
            format!("{} ({detail})", self.active)
        }
    }
}

/// What the host said.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    pub units: BTreeMap<String, UnitState>,
    pub backups: BTreeMap<String, BackupRecord>,
    /// The last drill of each service.
    pub drills: BTreeMap<String, DrillRecord>,
    /// The last drill that passed, when the last one failed.
    pub passed_drills: BTreeMap<String, DrillRecord>,
}

/// How the host is asked: as root, or through `sudo -n` (the state folder
/// is root's alone).
pub fn command(user: &str, state_dir: &str, units: &[String]) -> Cmd {
    Cmd::as_root(user == "root", "sh")
        .args(["-c", SCRIPT, "sh", state_dir])
        .args(units.iter().cloned())
}

/// Asks the host; an error says why it did not answer.
pub fn ask(
    runner: &dyn Runner,
    user: &str,
    state_dir: &str,
    units: &[String],
) -> Result<HostFacts, String> {
    let out = runner
        .run(&command(user, state_dir, units))
        .map_err(|e| format!("cannot run ssh: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.lines().any(|l| l == "@end") {
        return Err(match out.status.code() {
            Some(255) => format!(
                "unreachable over SSH: {}",
                crate::backup::last_words(&out.stderr)
            ),
            _ => format!(
                "the host did not answer the probe: {}",
                crate::backup::last_words(&out.stderr)
            ),
        });
    }
    Ok(parse(&text))
}

/// Reads the script's output.
pub(crate) fn parse(text: &str) -> HostFacts {
    let mut facts = HostFacts::default();
    let mut section = "";
    let mut record: Option<(String, String)> = None;
    let mut body = String::new();
    let mut unit = UnitState::default();
    let mut id = String::new();
    for line in text.lines() {
        if let Some(marker) = line.strip_prefix('@') {
            finish_record(&mut record, &mut body, &mut facts);
            if section == "units" && !id.is_empty() {
                facts
                    .units
                    .insert(std::mem::take(&mut id), std::mem::take(&mut unit));
            }
            let mut words = marker.split_whitespace();
            section = match words.next() {
                Some("units") => "units",
                Some("record") => {
                    if let (Some(kind), Some(file)) = (words.next(), words.next()) {
                        record = Some((kind.to_string(), file.to_string()));
                    }
                    "record"
                }
                _ => "",
            };
            continue;
        }
        match section {
            "units" => {
                if line.is_empty() {
                    if !id.is_empty() {
                        facts
                            .units
                            .insert(std::mem::take(&mut id), std::mem::take(&mut unit));
                    }
                    continue;
                }
                let Some((key, value)) = line.split_once('=') else {
                    continue;
                };
                let value = value.to_string();
                match key {
                    "Id" => id = value,
                    "LoadState" => unit.load = value,
                    "ActiveState" => unit.active = value,
                    "SubState" => unit.sub = value,
                    "Result" => unit.result = value,
                    _ => {}
                }
            }
            "record" if body.len() < 1 << 20 => {
                body.push_str(line);
                body.push('\n');
            }
            _ => {}
        }
    }
    finish_record(&mut record, &mut body, &mut facts);
    facts
}

/// Stores the record read so far, if any, and starts afresh.
fn finish_record(record: &mut Option<(String, String)>, body: &mut String, facts: &mut HostFacts) {
    if let Some((kind, file)) = record.take() {
        store(facts, &kind, &file, body);
    }
    body.clear();
}

/// Keeps a record the host sent, by the service its file names; a record
/// that does not read as one is left out (the probe then says "never").
fn store(facts: &mut HostFacts, kind: &str, file: &str, body: &str) {
    let Some(stem) = file.strip_suffix(".json") else {
        return;
    };
    match kind {
        "backups" => {
            if let Ok(r) = serde_json::from_str::<BackupRecord>(body) {
                facts.backups.insert(stem.to_string(), r);
            }
        }
        "drills" => {
            let Ok(r) = serde_json::from_str::<DrillRecord>(body) else {
                return;
            };
            match stem.strip_suffix(".passed") {
                Some(service) => facts.passed_drills.insert(service.to_string(), r),
                None => facts.drills.insert(stem.to_string(), r),
            };
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_runs_and_its_output_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        // A stand-in systemctl (systemd does not run here): one active,
        // one failed unit, in `systemctl show`'s format.
        std::fs::write(
            bin.join("systemctl"),
            "#!/bin/sh\nprintf 'Id=a.service\\nLoadState=loaded\\nActiveState=active\\nSubState=running\\nResult=success\\n\\n\
             Id=b.service\\nLoadState=loaded\\nActiveState=failed\\nSubState=failed\\nResult=exit-code\\n'\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            bin.join("systemctl"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir_all(state.join("drills")).unwrap();
        std::fs::create_dir_all(state.join("backups")).unwrap();
        std::fs::write(
            state.join("backups/app.json"),
            r#"{ "service": "app", "repositories": { "nas": { "last_success": "2026-01-01T00:00:00Z", "last_snapshot": "ab", "last_error": null } } }"#,
        )
        .unwrap();
        std::fs::write(
            state.join("drills/app.json"),
            r#"{ "service": "app", "repository": "nas", "snapshot": null, "at": "2026-01-02T00:00:00Z",
                "passed": false, "recovery_seconds": 1.0, "files": 0, "bytes": 0, "tables": 0,
                "problems": ["x"] }"#,
        )
        .unwrap();
        std::fs::write(state.join("drills/bad.json"), "{ not json").unwrap();
        let mut cmd = command(
            "root",
            &state.display().to_string(),
            &["a.service".into(), "b.service".into()],
        );
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
        cmd = cmd.env("PATH", path);
        let out = crate::runner::Local.run(&cmd).unwrap();
        let facts = parse(&String::from_utf8_lossy(&out.stdout));
        assert!(facts.units["a.service"].is_active());
        assert_eq!(facts.units["b.service"].describe(), "failed (exit-code)");
        assert_eq!(
            facts.backups["app"].repositories["nas"]
                .last_snapshot
                .as_deref(),
            Some("ab")
        );
        assert!(!facts.drills["app"].passed);
        assert!(
            !facts.drills.contains_key("bad"),
            "an unreadable record is left out"
        );
    }
}
