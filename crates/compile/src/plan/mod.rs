//! Stage 6: the host plan (`hosts/<host>/plan.json`, installed as
//! `/etc/homelab/plan.json`). Every service with its units, state paths,
//! datasets, data class, database, repositories (secret *names*, never
//! values), health probe, backup schedule and drill settings: what
//! `homelab backup`, `drill`, `status` and `restore` act on, on the host.

mod build;
mod model;
mod validate;

pub use build::{OFFSITE_RETENTION, PLAIN_ENTRY, max_age_hours, plan};
pub(crate) use build::{SCRATCH_DIR, STATE_DIR, units};

pub use model::*;
pub use validate::{
    PlanError, is_at_or_below, is_data_subset, is_identifier, is_name, is_normal_absolute,
    is_secret_name, load, system_folder, validate,
};

/// Where the flake installs the plan on the host.
pub const INSTALLED_PATH: &str = "/etc/homelab/plan.json";

/// The plan as the build writes it: pretty JSON with a final newline,
/// the same bytes for the same fleet.
pub fn to_json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).expect("a plan is plain data");
    text.push('\n');
    text
}
