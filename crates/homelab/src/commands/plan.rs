//! `homelab plan`: what a change of the spec does, per host, before it is
//! deployed. The earlier spec comes from the last build (the copy it
//! recorded in the flake folder), a git commit, a folder or a file.

use crate::cli::Format;
use crate::print::{self, fail};
use crate::source::{Source, default_flake};
use compile::change::{self, Changes, FileChange};
use compile::render;
use operate::flake_tree;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit status with `--exit-code` when the spec changes something.
const CHANGED: u8 = 3;

pub struct Options {
    pub against: Option<String>,
    pub diff: bool,
    pub json: bool,
    pub exit_code: bool,
}

/// The earlier spec and how to name it.
struct Earlier {
    /// `the last build (flake/.homelab/spec.toml)`, `HEAD:homelab.toml`…
    what: String,
    /// None: there is nothing to compare against (no build yet).
    source: Option<Source>,
}

pub fn run(src: &Source, options: &Options) -> ExitCode {
    let new = match compile::compile(&src.text) {
        Ok((fleet, _)) => fleet,
        Err(diags) => {
            print::diagnostics(src, &diags, Format::Human);
            return ExitCode::from(1);
        }
    };
    let earlier = match earlier(src, options.against.as_deref()) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let old = match &earlier.source {
        None => None,
        Some(old_src) => match compile::compile(&old_src.text) {
            Ok((fleet, _)) => Some(fleet),
            Err(diags) => {
                print::diagnostics(old_src, &diags, Format::Human);
                return fail(format_args!(
                    "the earlier spec, {}, does not compile, so there is nothing to compare with; \
                     compare against another one with --against",
                    earlier.what
                ));
            }
        },
    };

    let mut changes = match &old {
        Some(old) => change::diff(old, &new),
        None => change::added(&new),
    };
    let old_files = old.as_ref().map(render::render).unwrap_or_default();
    let files = change::files(&old_files, &render::render(&new));
    changes.explain_files(&files);

    let text = if options.json {
        json(src, &earlier, &changes, &files, options.diff)
    } else if changes.is_empty() {
        format!("no changes: {} matches {}\n", src.name, earlier.what)
    } else {
        text(src, &earlier, &changes, &files, options.diff)
    };
    // A reader that stops early (`| head`, a pager quit) is no failure.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if options.exit_code && !changes.is_empty() {
        ExitCode::from(CHANGED)
    } else {
        ExitCode::SUCCESS
    }
}

fn text(
    src: &Source,
    earlier: &Earlier,
    changes: &Changes,
    files: &[FileChange],
    diff: bool,
) -> String {
    let color = print::color(&std::io::stdout());
    let mut out = format!("{} against {}\n\n", src.name, earlier.what);
    out.push_str(&changes.text(color));
    out.push_str(&format!("\n{}\n", changes.summary()));
    if diff && !files.is_empty() {
        out.push('\n');
        out.push_str(&change::unified(files, color));
    }
    out
}

#[derive(Serialize)]
struct Json<'a> {
    spec: &'a str,
    against: &'a str,
    changes: &'a [change::Change],
    files: &'a [FileChange],
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
}

fn json(
    src: &Source,
    earlier: &Earlier,
    changes: &Changes,
    files: &[FileChange],
    diff: bool,
) -> String {
    let value = Json {
        spec: &src.name,
        against: &earlier.what,
        changes: changes.list(),
        files,
        diff: diff.then(|| change::unified(files, false)),
    };
    let mut text = serde_json::to_string_pretty(&value).expect("a plan is plain data");
    text.push('\n');
    text
}

/// Finds the earlier spec: `--against` a folder or a git commit, else the
/// last build's record.
fn earlier(src: &Source, against: Option<&str>) -> Result<Earlier, ExitCode> {
    match against {
        Some(dir) if Path::new(dir).is_dir() => from_dir(Path::new(dir)),
        Some(file) if Path::new(file).is_file() => from_file(Path::new(file)),
        Some(rev) => from_git(src, rev),
        None => {
            let flake = default_flake(src).unwrap_or_else(|| PathBuf::from("flake"));
            if let Some(built) = from_build(&flake)? {
                return Ok(built);
            }
            eprintln!(
                "note: {} holds no recorded build ({} is missing): comparing against nothing, \
                 so everything is new; `homelab build` records the spec it builds, \
                 or compare with --against DIR|FILE|GIT-REF",
                flake.display(),
                flake.join(flake_tree::BUILT_SPEC).display()
            );
            Ok(Earlier {
                what: "nothing (no earlier build)".into(),
                source: None,
            })
        }
    }
}

/// The spec the last build in `flake` recorded, if it did.
fn from_build(flake: &Path) -> Result<Option<Earlier>, ExitCode> {
    let record = flake.join(flake_tree::BUILT_SPEC);
    let built = flake_tree::read_built_spec(flake)
        .map_err(|e| fail(format_args!("cannot read {}: {e}", record.display())))?;
    Ok(built.map(|built| {
        if !built.intact {
            eprintln!(
                "warning: {} was edited by hand since the build; comparing against it as it is",
                record.display()
            );
        }
        let name = record.display().to_string();
        Earlier {
            what: format!("the last build ({name})"),
            source: Some(Source {
                name,
                text: built.text,
                path: None,
                dir: None,
            }),
        }
    }))
}

/// `DIR/homelab.toml`, or the spec recorded by the build in DIR when DIR
/// is a flake folder.
fn from_dir(dir: &Path) -> Result<Earlier, ExitCode> {
    let path = dir.join("homelab.toml");
    if path.exists() {
        return from_file(&path);
    }
    match from_build(dir)? {
        Some(built) => Ok(built),
        None => Err(fail(format_args!(
            "{} not found, and {} holds no build of homelab; \
             --against takes a folder with a homelab.toml, a flake folder homelab built, a spec file or a git ref",
            path.display(),
            dir.display()
        ))),
    }
}

/// A spec file.
fn from_file(path: &Path) -> Result<Earlier, ExitCode> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(format_args!("cannot read {}: {e}", path.display())))?;
    let name = path.display().to_string();
    Ok(Earlier {
        what: name.clone(),
        source: Some(Source {
            name,
            text,
            path: Some(path.to_path_buf()),
            dir: path.parent().map(Path::to_path_buf),
        }),
    })
}

/// The spec's own file at git revision `rev`.
fn from_git(src: &Source, rev: &str) -> Result<Earlier, ExitCode> {
    let Some(dir) = &src.dir else {
        return Err(fail(format_args!(
            "`{rev}` is not a folder or a file, and a built-in example has no git history; \
             --against takes a folder, a spec file or, for a spec of your own, a git ref"
        )));
    };
    let file_name = Path::new(&src.name)
        .file_name()
        .map_or_else(|| "homelab.toml".into(), |n| n.to_owned());
    let spec = dir.join(file_name);
    match operate::git::file_at(&operate::runner::Local, &spec, rev) {
        Ok(at) => {
            let name = format!("{rev}:{}", at.path);
            Ok(Earlier {
                what: name.clone(),
                source: Some(Source {
                    name,
                    text: at.text,
                    path: None,
                    dir: None,
                }),
            })
        }
        Err(e @ operate::git::GitError::NotARepository(_)) => Err(fail(format_args!(
            "{e}, and `{rev}` is not a folder or a file; --against takes a folder, a spec file or a git ref"
        ))),
        Err(e) => Err(fail(e)),
    }
}
