//! `[external.<name>]`: machines the fleet uses but homelab does not
//! configure (a TrueNAS box). Their NFS exports are mounted by the NixOS
//! hosts whose services name them (`nfs = ["nas-0/media"]`), and the
//! status page checks that they answer.
//!
//! An export's name becomes a folder of the mount point
//! (`/mnt/<host>/<export>`), so it is one plain path component: an export
//! named `..` or `../../etc` would mount the server over the host's own
//! folders. Its path is the server's folder, checked to be absolute,
//! normal and outside the server's system folders (`grammar.rs`). A refused
//! export stays in the spec with its diagnostic, so that a service naming
//! it is not told it does not exist; the fleet mounts only valid ones.

use super::grammar::{export_path_problem, is_export_name};
use super::model::{External, NfsExport};
use super::reader::{Sink, Sp, Table};
use crate::diagnostic::Diagnostic;
use toml::de::DeValue;

pub fn external(name: Sp<String>, t: &mut Table, sink: &mut Sink) -> Option<External> {
    let address = t.req_str(sink, "address", "\"192.168.1.5\"");
    let mut exports = Vec::new();
    if let Some(table) = t.table(sink, "exports") {
        for (k, v) in table.entries() {
            let export = Sp::new(k.get_ref().to_string(), k.span());
            export_name(sink, &export);
            match v.get_ref() {
                DeValue::String(p) => {
                    let path = Sp::new(p.to_string(), v.span());
                    export_path(sink, &export, &path);
                    exports.push(NfsExport { name: export, path });
                }
                _ => sink.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!("export `{}` is not a path on the server", export.value),
                    )
                    .at(v.span(), "expected a string: the folder's absolute path")
                    .help("name the exported folder as the server shows it, e.g. `media = \"/mnt/tank/media\"`"),
                ),
            }
        }
    }
    Some(External {
        name,
        address: address?,
        exports,
    })
}

fn export_name(sink: &mut Sink, export: &Sp<String>) {
    if !is_export_name(&export.value) {
        sink.push(
            Diagnostic::error(
                "invalid-name",
                format!("`{}` is not a valid NFS export name", export.value),
            )
            .at(
                export.span.clone(),
                "it names the folder the export is mounted at, /mnt/<host>/<export>",
            )
            .help("use a letter or digit, then letters, digits, `_` and `-`, e.g. `media`; a name cannot hold `/` or `.`"),
        );
    }
}

fn export_path(sink: &mut Sink, export: &Sp<String>, path: &Sp<String>) {
    if let Some(problem) = export_path_problem(&path.value) {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                format!(
                    "`{}` is not a folder export `{}` can share",
                    path.value, export.value
                ),
            )
            .at(path.span.clone(), problem)
            .help("name the exported data folder as the server shows it: an absolute path without `.` or `..`, outside its system folders, e.g. `media = \"/mnt/tank/media\"`"),
        );
    }
}
