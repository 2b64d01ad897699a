//! The deploy history, kept on the admin machine: one JSON line per host
//! and deploy in `$XDG_STATE_HOME/homelab/deploys.jsonl` (by default
//! `~/.local/state/homelab/`), shown by `homelab deploy --log`.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    pub host: String,
    /// When the deploy of this host started (RFC 3339).
    pub at: String,
    pub before: Option<String>,
    pub after: Option<String>,
    /// `deployed`, `rolled-back`, `failed`, `staged` (boot) or
    /// `rolled-back-with-the-others`.
    pub result: String,
    pub gate: Option<String>,
    pub seconds: f64,
    pub message: Option<String>,
}

/// The history file.
pub fn path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("homelab").join("deploys.jsonl"))
}

/// Appends entries; the history is a record, so failing to keep it is
/// said, never fatal.
pub fn append(entries: &[Entry]) -> Result<(), String> {
    let path = path().ok_or("neither XDG_STATE_HOME nor HOME is set")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    for e in entries {
        let line = serde_json::to_string(e).expect("plain data");
        writeln!(file, "{line}").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// Every entry of the history, oldest first; lines that do not read are
/// skipped.
pub fn read() -> Vec<Entry> {
    let Some(path) = path() else {
        return Vec::new();
    };
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
