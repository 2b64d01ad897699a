//! The `homelab` command line. Exit codes: 0 success, 1 the spec has
//! errors (or the build was refused), 2 the command could not run.

use clap::{Parser, Subcommand, ValueEnum};
use compile::diagnostic::{Diagnostic, Severity, SourceFile, render_human, render_json};
use compile::fleet::Fleet;
use compile::{examples, render};
use operate::flake_tree as output;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// stops the build unless --force is given.
    Build {
        #[command(flatten)]
        input: Input,
        /// Output folder [default: `flake` next to the spec, or ./flake
        /// with --example].
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Overwrite generated files even when they were edited by hand.
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
struct Input {
    /// The spec file.
    #[arg(default_value = "homelab.toml", conflicts_with = "example")]
    spec: PathBuf,
    /// Use a spec built into homelab instead of a file (family, frame1, nuc).
    #[arg(long, value_name = "NAME")]
    example: Option<String>,
}

#[derive(clap::Args)]
struct Display {
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
}

/// A spec to work on: its display name, text and folder.
struct Source {
    name: String,
    text: String,
    dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Init { dir } => init(&dir),
        Command::Check { input, display } => match load(&input) {
            Ok(src) => check(&src, display.format),
            Err(code) => code,
        },
        Command::Build {
            input,
            out,
            force,
            display,
        } => match load(&input) {
            Ok(src) => build(&src, out, force, display.format),
            Err(code) => code,
        },
        Command::Show { table, input, json } => match load(&input) {
            Ok(src) => show(&src, &table, json),
            Err(code) => code,
        },
        Command::Report { input, out } => match load(&input) {
            Ok(src) => write_report(&src, &out),
            Err(code) => code,
        },
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn init(dir: &Path) -> ExitCode {
    let path = dir.join("homelab.toml");
    if path.exists() {
        return fail(format_args!(
            "{} already exists; homelab init never overwrites a spec",
            path.display()
        ));
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        return fail(format_args!("cannot create {}: {e}", dir.display()));
    }
    // create_new: never clobber a spec that appeared meanwhile.
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, examples::STARTER.as_bytes()));
    if let Err(e) = written {
        return fail(format_args!("cannot write {}: {e}", path.display()));
    }
    println!("wrote {}", path.display());
    println!("next: edit it, then run `homelab check {}`", path.display());
    ExitCode::SUCCESS
}

fn load(input: &Input) -> Result<Source, ExitCode> {
    if let Some(name) = &input.example {
        let Some(text) = examples::get(name) else {
            return Err(fail(format_args!(
                "there is no example `{name}`; examples: {}",
                examples::names().join(", ")
            )));
        };
        return Ok(Source {
            name: format!("examples/{name}/homelab.toml"),
            text: text.to_string(),
            dir: None,
        });
    }
    let path = &input.spec;
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Source {
            name: path.display().to_string(),
            text,
            dir: Some(
                path.parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            ),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(fail(format_args!(
            "{} not found; run `homelab init` to create one, or try `--example frame1`",
            path.display()
        ))),
        Err(e) => Err(fail(format_args!("cannot read {}: {e}", path.display()))),
    }
}

fn report(src: &Source, diags: &[Diagnostic], format: Format) {
    let file = SourceFile {
        name: &src.name,
        text: &src.text,
    };
    match format {
        Format::Json => println!("{}", render_json(diags, &file)),
        Format::Human if !diags.is_empty() => {
            eprint!(
                "{}",
                render_human(diags, &file, std::io::stderr().is_terminal())
            );
            let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
            eprintln!(
                "{}: {}",
                src.name,
                counts(
                    count(Severity::Error),
                    count(Severity::Warning),
                    count(Severity::Silenced)
                )
            );
        }
        Format::Human => {}
    }
}

fn counts(errors: usize, warnings: usize, silenced: usize) -> String {
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let mut out = format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    if silenced > 0 {
        out.push_str(&format!(", {silenced} silenced"));
    }
    out
}

/// The checks that read files next to the spec: the encrypted secrets of
/// the flake folder. Errors among them fail the command like spec errors.
fn with_file_checks(
    compiled: Result<(Fleet, Vec<Diagnostic>), Vec<Diagnostic>>,
    flake: Option<&Path>,
) -> Result<(Fleet, Vec<Diagnostic>), Vec<Diagnostic>> {
    let (fleet, mut diags) = compiled?;
    if let Some(flake) = flake {
        diags.extend(operate::secret_files::check(&fleet, flake));
        diags.sort_by_key(|d| d.primary.as_ref().map(|p| p.span.start));
    }
    if diags.iter().any(Diagnostic::is_error) {
        Err(diags)
    } else {
        Ok((fleet, diags))
    }
}

fn default_flake(src: &Source) -> Option<PathBuf> {
    src.dir.as_ref().map(|d| d.join("flake"))
}

fn check(src: &Source, format: Format) -> ExitCode {
    // Before the first build there is no flake folder and nothing to read.
    let flake = default_flake(src).filter(|f| f.is_dir());
    match with_file_checks(compile::compile(&src.text), flake.as_deref()) {
        Ok((fleet, warnings)) => {
            report(src, &warnings, format);
            if format == Format::Human {
                println!(
                    "{}: ok — {} host(s), {} service(s)",
                    src.name,
                    fleet.hosts.len(),
                    fleet.instances.len()
                );
            }
            ExitCode::SUCCESS
        }
        Err(diags) => {
            report(src, &diags, format);
            ExitCode::from(1)
        }
    }
}

fn build(src: &Source, out: Option<PathBuf>, force: bool, format: Format) -> ExitCode {
    let out = out.unwrap_or_else(|| default_flake(src).unwrap_or_else(|| PathBuf::from("flake")));
    let (fleet, warnings) = match with_file_checks(compile::compile(&src.text), Some(&out)) {
        Ok(ok) => ok,
        Err(diags) => {
            report(src, &diags, format);
            eprintln!("nothing was written");
            return ExitCode::from(1);
        }
    };
    report(src, &warnings, format);
    let files = render::render(&fleet);
    let spec_name = Path::new(&src.name)
        .file_name()
        .map_or("homelab.toml".into(), |n| n.to_string_lossy().into_owned());
    match output::write_tree(&out, &files, &spec_name, force) {
        Ok(s) => {
            let summary = format!(
                "wrote {}: {} created, {} updated, {} unchanged, {} removed",
                out.display(),
                s.created.len(),
                s.updated.len(),
                s.unchanged.len(),
                s.removed.len()
            );
            if format == Format::Json {
                eprintln!("{summary}");
            } else {
                println!("{summary}");
            }
            ExitCode::SUCCESS
        }
        Err(output::WriteError::Edited(paths)) => {
            eprintln!("error: generated files were edited by hand:");
            for p in &paths {
                eprintln!("  {}", p.display());
            }
            eprintln!(
                "help: move your changes into the spec (or hosts/<host>/extra.nix), then build again;"
            );
            eprintln!("      or run `homelab build --force` to overwrite them");
            eprintln!("nothing was written");
            ExitCode::from(1)
        }
        Err(e) => fail(e),
    }
}

fn show(src: &Source, table: &str, json: bool) -> ExitCode {
    // The tables need only a resolved fleet: with policy errors they still
    // print, so the table can show what the errors are about.
    let analysis = compile::analyze(&src.text);
    if !json || analysis.fleet.is_none() || analysis.has_errors() {
        report(src, &analysis.diagnostics, Format::Human);
    }
    let Some(fleet) = &analysis.fleet else {
        return ExitCode::from(1);
    };
    let table = compile::show::table(fleet, table).expect("clap allows only known tables");
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&table.json()).expect("tables serialize")
        );
    } else {
        print!("{}", table.text());
    }
    exit_status(&analysis)
}

fn exit_status(analysis: &compile::Analysis) -> ExitCode {
    if analysis.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn write_report(src: &Source, out: &Path) -> ExitCode {
    let mut analysis = compile::analyze(&src.text);
    if let (Some(fleet), Some(flake)) = (&analysis.fleet, default_flake(src).filter(|f| f.is_dir()))
    {
        analysis
            .diagnostics
            .extend(operate::secret_files::check(fleet, &flake));
        analysis
            .diagnostics
            .sort_by_key(|d| d.primary.as_ref().map(|p| p.span.start));
    }
    let page = compile::report::html(
        analysis.fleet.as_ref(),
        &analysis.diagnostics,
        &src.text,
        &src.name,
    );
    if let Err(e) = output::write_file(out, page.as_bytes()) {
        return fail(format_args!("cannot write {}: {e}", out.display()));
    }
    let count = |s: Severity| {
        analysis
            .diagnostics
            .iter()
            .filter(|d| d.severity == s)
            .count()
    };
    println!(
        "wrote {} ({})",
        out.display(),
        counts(
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Silenced)
        )
    );
    exit_status(&analysis)
}
