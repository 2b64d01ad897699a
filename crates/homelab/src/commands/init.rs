//! `homelab init`: a commented starter spec, never over an existing one.

use crate::print::fail;
use compile::examples;
use std::path::Path;
use std::process::ExitCode;

/// The example admin key line of the starter, replaced by `--admin-key`.
const EXAMPLE_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAUr/CbQjP5d7q+2ClaqY3sG6QLwEf/fWpttzLV3kRgd you@laptop";

pub fn run(dir: &Path, admin_key: Option<&Path>) -> ExitCode {
    let path = dir.join("homelab.toml");
    if path.exists() {
        return fail(format_args!(
            "{} already exists; homelab init never overwrites a spec",
            path.display()
        ));
    }
    let text = match admin_key {
        None => examples::STARTER.to_string(),
        Some(file) => match read_key(file) {
            Ok(key) => examples::STARTER.replacen(EXAMPLE_KEY, &key, 1),
            Err(why) => return fail(why),
        },
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        return fail(format_args!("cannot create {}: {e}", dir.display()));
    }
    // create_new: never clobber a spec that appeared meanwhile.
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    if let Err(e) = written {
        return fail(format_args!("cannot write {}: {e}", path.display()));
    }
    println!("wrote {}", path.display());
    if admin_key.is_none() {
        println!(
            "its admin key is an example: put your own in `admin_keys` (`cat ~/.ssh/id_ed25519.pub`), or start again with `homelab init --admin-key ~/.ssh/id_ed25519.pub`"
        );
    }
    println!(
        "next: name the disks (`ls -l /dev/disk/by-id/` on the machine), then run `homelab check {}`",
        path.display()
    );
    ExitCode::SUCCESS
}

/// The one public key line of `file`, as a TOML string's content.
fn read_key(file: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the admin key {}: {e}", file.display()))?;
    let line = text.trim();
    if line.lines().count() != 1 || compile::spec::parse_ssh_key(line).is_none() {
        return Err(format!(
            "{} is not one SSH public key line (`ssh-ed25519 AAAA… you@laptop`); give the `.pub` file, e.g. ~/.ssh/id_ed25519.pub",
            file.display()
        ));
    }
    if compile::check::placeholders::example_key(line).is_some() {
        return Err(format!(
            "{} holds the example key homelab ships; give your own (`ssh-keygen -t ed25519` makes one)",
            file.display()
        ));
    }
    Ok(line.replace('\\', "\\\\").replace('"', "\\\""))
}
