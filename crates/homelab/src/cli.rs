//! The command line as data: every command, argument and its help text.
//! Parsing only; the commands themselves live in `commands/`.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// One homelab.toml → a checked, complete NixOS flake.
///
/// Describe your machines and services in `homelab.toml`; `homelab check`
/// validates the whole system and `homelab build` writes a NixOS flake
/// (services, ZFS datasets, snapshots, backups, reverse proxy with TLS,
/// tailnet and tunnel access, status checks, dashboard, secrets).
///
/// Start with `homelab init`, or try a built-in example:
/// `homelab build --example frame1 --out /tmp/flake`.
#[derive(Parser)]
#[command(name = "homelab", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Write a commented starter homelab.toml.
    ///
    /// Refuses to overwrite an existing spec.
    Init {
        /// Folder to create the spec in.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Validate the spec: syntax, references, ports, names, access.
    ///
    /// Exit status: 0 when clean (warnings allowed), 1 when the spec has
    /// errors, 2 when it could not be read.
    Check {
        #[command(flatten)]
        input: Input,
        #[command(flatten)]
        display: Display,
    },
    /// Check the spec, then write the NixOS flake.
    ///
    /// The flake is written atomically: on any failure the previous tree is
    /// left as it was. Files you own (hosts/<host>/hardware.nix and
    /// extra.nix, secrets/*.age) are kept; a generated file edited by hand
    /// stops the build unless --force is given. Symlinks are never written
    /// through, and the output may not be `/` or a folder holding the spec.
    Build {
        #[command(flatten)]
        input: Input,
        /// Output folder [default: `flake` next to the spec, or ./flake
        /// with --example].
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Overwrite generated files even when they were edited by hand, and
        /// take over a non-empty folder homelab did not create.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        display: Display,
    },
    /// Print a table computed from the spec.
    ///
    /// ports: every listening port per host; exposure: who can reach each
    /// service (LAN, tailnet, tunnel); storage: datasets, quotas and the pool
    /// budget; snapshots: what is snapshotted how often; resources: RAM
    /// estimates against each host; graph: what each service needs;
    /// backups: how every state directory is protected.
    Show {
        /// Which table.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(compile::show::TABLES))]
        table: String,
        #[command(flatten)]
        input: Input,
        /// Print the rows as a JSON array of objects.
        #[arg(long)]
        json: bool,
    },
    /// Write one self-contained HTML page about the homelab.
    ///
    /// The page holds the access matrix, storage and memory bars per host,
    /// the dependency graph, backup coverage per state directory and every
    /// finding of `check`. It loads nothing from the network and runs no
    /// script. It is written even when the spec has errors (they are on the
    /// page); the exit status is then 1.
    Report {
        #[command(flatten)]
        input: Input,
        /// Where to write the page.
        #[arg(long, short, default_value = "report.html")]
        out: PathBuf,
    },
}

#[derive(clap::Args)]
pub struct Input {
    /// The spec file.
    #[arg(default_value = "homelab.toml", conflicts_with = "example")]
    pub spec: PathBuf,
    /// Use a spec built into homelab instead of a file (family, frame1, nuc).
    #[arg(long, value_name = "NAME")]
    pub example: Option<String>,
}

#[derive(clap::Args)]
pub struct Display {
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}
