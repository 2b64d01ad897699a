//! `homelab report`: one self-contained HTML page about the homelab.

use crate::commands::show::exit_status;
use crate::print::{fail, summary};
use crate::source::{Source, default_flake};
use operate::fs_guard::{self, Type};
use std::path::Path;
use std::process::ExitCode;

pub fn run(src: &Source, out: &Path, force: bool) -> ExitCode {
    if let Err((error, help)) = replaceable(src, out, force) {
        eprintln!("error: {error}");
        eprintln!("help: {help}");
        eprintln!("nothing was written");
        return ExitCode::from(1);
    }
    let mut analysis = src.analyze();
    if let (Some(fleet), Some(flake)) = (&analysis.fleet, default_flake(src).filter(|f| f.is_dir()))
    {
        let found = operate::secret_files::check(fleet, &flake);
        analysis.add(found);
    }
    let page = compile::report::html(
        analysis.fleet.as_ref(),
        &analysis.diagnostics,
        &src.text,
        &src.name,
    );
    if let Err(e) = fs_guard::write_file(out, page.as_bytes()) {
        return fail(format_args!("cannot write {}: {e}", out.display()));
    }
    println!(
        "wrote {} ({})",
        out.display(),
        summary(&analysis.diagnostics)
    );
    exit_status(&analysis)
}

/// Whether the page may go to `out`, checked before anything is computed
/// or written: never onto the spec (however the path names it), never
/// onto a folder or a special file, and onto an existing file only when
/// it is a page this command wrote, is empty, or `force` says so. A
/// symlink is replaced by the page, never followed. The refusal comes as
/// the error and the way on.
fn replaceable(src: &Source, out: &Path, force: bool) -> Result<(), (String, String)> {
    let shown = out.display();
    if let Some(spec) = &src.path
        && fs_guard::same_file(out, spec)
    {
        return Err((
            format!(
                "refusing to write {shown}: it is the spec ({})",
                spec.display()
            ),
            "write the page to a file of its own, such as the default report.html".into(),
        ));
    }
    let t = fs_guard::type_of(out).map_err(|e| {
        (
            format!("cannot write {shown}: {e}"),
            "choose another path with -o".into(),
        )
    })?;
    match t {
        None | Some(Type::Symlink) => Ok(()),
        Some(Type::File) if force => Ok(()),
        Some(Type::File) => {
            let head = fs_guard::open_file(out).and_then(|mut f| {
                fs_guard::read_head(&mut f, compile::report::PAGE_START.len() as u64)
            });
            match head {
                Ok(head) if head.is_empty() || compile::report::is_page(&head) => Ok(()),
                _ => Err((
                    format!("{shown} exists and is not a page homelab report wrote"),
                    "choose another path with -o, or run with --force to replace the file".into(),
                )),
            }
        }
        Some(t) => Err((
            format!("refusing to write {shown}: it is {}", t.name()),
            "the page is one regular file: choose another path with -o".into(),
        )),
    }
}
