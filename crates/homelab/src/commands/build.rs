//! `homelab build`: check, then write the flake tree atomically.

use crate::cli::Format;
use crate::commands::check::with_file_checks;
use crate::print::{self, fail};
use crate::source::{Source, default_flake};
use compile::diagnostic::{self, Diagnostic};
use compile::render;
use operate::flake_tree as output;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(
    src: &Source,
    out: Option<PathBuf>,
    force: bool,
    homelab_flake: Option<&str>,
    format: Format,
) -> ExitCode {
    match write(src, out, force, homelab_flake, format, false) {
        Ok(_) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// Checks and writes the flake; the fleet and the folder it was written
/// to, or the exit status of a refusal (already printed). What was
/// written is said on standard output, or on standard error with JSON
/// diagnostics or when the caller's standard output is its own
/// (`stdout_taken`: `deploy --json`).
pub fn write(
    src: &Source,
    out: Option<PathBuf>,
    force: bool,
    homelab_flake: Option<&str>,
    format: Format,
    stdout_taken: bool,
) -> Result<(compile::fleet::Fleet, PathBuf), ExitCode> {
    let out = out.unwrap_or_else(|| default_flake(src).unwrap_or_else(|| PathBuf::from("flake")));
    let (mut fleet, mut warnings) = match with_file_checks(src.compile_to_write(), Some(&out)) {
        Ok(ok) => ok,
        Err(diags) => return Err(refuse(src, &diags, format)),
    };
    let input = match homelab_input(homelab_flake, fleet.homelab.homelab_flake()) {
        Ok(input) => input,
        Err(why) => {
            print::diagnostics(src, &warnings, format);
            eprintln!("error: {why}");
            eprintln!("nothing was written");
            return Err(ExitCode::from(1));
        }
    };
    fleet
        .homelab
        .use_homelab_flake(&input.url)
        .expect("checked as a flake reference");
    let mut files = render::render(&fleet);
    // `homelab plan` compares the spec with the one the last build used.
    files.push(output::built_spec(&src.text));
    let spec_name = Path::new(&src.name)
        .file_name()
        .map_or("homelab.toml".into(), |n| n.to_string_lossy().into_owned());
    let options = output::Options {
        force,
        spec_dir: src.dir.as_deref(),
    };
    let write = output::write_tree(&out, &files, &spec_name, options);
    // A refusal to overwrite hand edits is a diagnostic, listed and counted
    // with the warnings; the other outcomes print them first.
    if !matches!(&write, Err(output::WriteError::Edited(_))) {
        print::diagnostics(src, &warnings, format);
    }
    let code = match write {
        Ok(s) => {
            let summary = format!(
                "wrote {}: {} created, {} updated, {} unchanged, {} removed",
                out.display(),
                s.created.len(),
                s.updated.len(),
                s.unchanged.len(),
                s.removed.len()
            );
            let input = format!("homelab input: {} ({})", input.url, input.why);
            if format == Format::Json || stdout_taken {
                eprintln!("{summary}\n{input}");
            } else {
                println!("{summary}\n{input}");
            }
            return Ok((fleet, out));
        }
        Err(output::WriteError::Edited(paths)) => {
            diagnostic::merge(&mut warnings, vec![output::edited_by_hand(&paths)]);
            refuse(src, &warnings, format)
        }
        Err(output::WriteError::Symlinks(paths)) => {
            eprintln!("error: paths the build writes are symlinks or lie below one:");
            for p in &paths {
                eprintln!("  {}", p.display());
            }
            eprintln!(
                "help: homelab never writes through a symlink; replace the link with the real folder or file, then build again"
            );
            eprintln!("nothing was written");
            ExitCode::from(1)
        }
        Err(output::WriteError::Special(found)) => {
            eprintln!("error: the output folder holds files homelab does not read or copy:");
            for (p, what) in &found {
                eprintln!("  {}: {what}", p.display());
            }
            eprintln!(
                "help: only regular files, folders and symlinks belong in the flake folder; move these out of it, then build again"
            );
            eprintln!("nothing was written");
            ExitCode::from(1)
        }
        Err(e @ output::WriteError::NotOurs(_)) => {
            eprintln!("error: {e}");
            eprintln!(
                "help: choose an empty or new folder with `--out`, or run `homelab build --force` to take this one over (files homelab does not generate are kept)"
            );
            eprintln!("nothing was written");
            ExitCode::from(1)
        }
        Err(e @ output::WriteError::Refused { .. }) => {
            eprintln!("error: {e}");
            eprintln!("nothing was written");
            ExitCode::from(1)
        }
        Err(e) => fail(e),
    };
    Err(code)
}

/// Prints why nothing was written; exit status 1.
fn refuse(src: &Source, diags: &[Diagnostic], format: Format) -> ExitCode {
    print::diagnostics(src, diags, format);
    eprintln!("nothing was written");
    ExitCode::from(1)
}

/// The `homelab` flake the generated flake takes as its input (the package
/// and NixOS module its hosts run backups, drills and preseeds with), and
/// why that one.
struct Input {
    url: String,
    why: &'static str,
}

/// The source of the `homelab` input: `--homelab-flake`, else the spec's
/// `homelab_flake`, else the clone this binary was built from (while it
/// still holds the flake). No release of homelab is published, so there
/// is no default that exists for everyone: without any of the three the
/// build stops and says what to give. A local reference (`path:`,
/// `git+file:`) must name a folder that holds a `flake.nix`.
fn homelab_input(flag: Option<&str>, spec: Option<&str>) -> Result<Input, String> {
    let (url, why) = match (flag, spec) {
        (Some(url), _) => (url.to_string(), "--homelab-flake"),
        (None, Some(url)) => (url.to_string(), "[homelab] homelab_flake"),
        (None, None) => match built_from() {
            Some(url) => (url, "the clone this homelab was built from"),
            None => {
                return Err(format!(
                    "no homelab flake for the generated flake's `homelab` input: this binary's clone ({}) is gone and no release is published; name a clone of the homelab repository with `homelab build --homelab-flake git+file:///path/to/homelab` or `[homelab] homelab_flake` in the spec",
                    clone().display()
                ));
            }
        },
    };
    if !compile::spec::is_flake_ref(&url) {
        return Err(format!(
            "`{url}` ({why}) is not a flake reference homelab takes: `github:<owner>/<repo>/<ref>`, `git+https://…`, or a local clone as `git+file:///path` or `path:/path`"
        ));
    }
    if let Some(dir) = local(&url)
        && !dir.join("flake.nix").is_file()
    {
        return Err(format!(
            "`{url}` ({why}) names {}, which holds no flake.nix; name a clone of the homelab repository",
            dir.display()
        ));
    }
    Ok(Input { url, why })
}

/// The folder a `path:` or `git+file:` reference names.
fn local(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("path:")
        .or_else(|| url.strip_prefix("git+file://"))?;
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    Some(PathBuf::from(path))
}

/// The repository this binary was built from (`crates/homelab/../..`).
fn clone() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The clone as a flake reference, while it holds the flake: `git+file:`
/// in a git checkout (the flake then holds only tracked files, not
/// `target/`), `path:` otherwise.
fn built_from() -> Option<String> {
    let dir = clone().canonicalize().ok()?;
    if !dir.join("flake.nix").is_file() {
        return None;
    }
    let scheme = if dir.join(".git").exists() {
        "git+file://"
    } else {
        "path:"
    };
    Some(format!("{scheme}{}", dir.display()))
}
