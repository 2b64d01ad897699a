//! `[external.<name>]`: machines the fleet uses but homelab does not
//! configure (a TrueNAS box). Their NFS exports are mounted by the NixOS
//! hosts whose services name them (`nfs = ["nas-0/media"]`), and the
//! status page checks that they answer.

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
            match v.get_ref() {
                DeValue::String(p) if p.starts_with('/') && !p.contains(char::is_whitespace) => {
                    exports.push(NfsExport {
                        name: export,
                        path: Sp::new(p.to_string(), v.span()),
                    });
                }
                _ => sink.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!("export `{}` is not a path on the server", export.value),
                    )
                    .at(v.span(), "expected an absolute path without spaces")
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
