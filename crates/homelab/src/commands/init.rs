//! `homelab init`: a commented starter spec, never over an existing one.

use crate::print::fail;
use compile::examples;
use std::path::Path;
use std::process::ExitCode;

pub fn run(dir: &Path) -> ExitCode {
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
