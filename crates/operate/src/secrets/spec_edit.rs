//! Writing one string into `homelab.toml` without disturbing the rest:
//! comments, order, spacing and the comment after the value stay as the
//! user wrote them (`toml_edit`). The file is replaced atomically: a new
//! file, then a rename — which would replace a symlink rather than the
//! spec behind it, so a symlinked spec is refused ([`check_writable`]).

use super::Error;
use crate::fs_guard::{self, AtLink, Type};
use std::io::Read;
use std::path::Path;
use toml_edit::{DocumentMut, Item, Value};

/// Refuses, before anything is written, a spec [`set_string`] would not
/// replace: a symlink, or anything but a regular file.
pub fn check_writable(spec: &Path) -> Result<(), Error> {
    match fs_guard::type_of(spec).map_err(Error::io("inspect", spec))? {
        None | Some(Type::File) => Ok(()),
        Some(Type::Symlink) => Err(Error::Refused(format!(
            "{} is a symlink; homelab edits the spec by renaming a new file into its place, which would replace the link and not the file behind it: name the real file with --spec; nothing was written",
            spec.display()
        ))),
        Some(t) => Err(Error::Refused(format!(
            "{} is {}, not a file; nothing was written",
            spec.display(),
            t.name()
        ))),
    }
}

/// Sets the string at the dotted `key` (every table on the way must
/// exist except the last key) and writes the spec back. Returns the value
/// it replaced, if any.
pub fn set_string(spec: &Path, key: &str, value: &str) -> Result<Option<String>, Error> {
    check_writable(spec)?;
    let mut text = String::new();
    fs_guard::open_file(spec)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(Error::io("read", spec))?;
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        Error::Refused(format!(
            "{} does not parse ({}); fix it with `homelab check` first",
            spec.display(),
            e.message()
        ))
    })?;
    let parts: Vec<&str> = key.split('.').collect();
    let (last, tables) = parts.split_last().expect("a key has one part");
    let mut item: &mut Item = doc.as_item_mut();
    for (i, part) in tables.iter().enumerate() {
        let here = parts[..=i].join(".");
        item = item
            .as_table_like_mut()
            .and_then(|t| t.get_mut(part))
            .ok_or_else(|| Error::Refused(format!("{} has no `[{here}]`", spec.display())))?;
    }
    let table = item.as_table_like_mut().ok_or_else(|| {
        Error::Refused(format!(
            "`{}` in {} is not a table",
            tables.join("."),
            spec.display()
        ))
    })?;
    let mut new = Value::from(value);
    let old = table.get(last).and_then(|i| i.as_value()).cloned();
    if let Some(old) = &old {
        *new.decor_mut() = old.decor().clone();
    }
    table.insert(last, Item::Value(new));
    fs_guard::replace(spec, doc.to_string().as_bytes(), AtLink::Refuse)
        .map_err(Error::io("write", spec))?;
    Ok(old.and_then(|v| v.as_str().map(String::from)))
}

#[cfg(test)]
mod tests {
    use super::set_string;

    #[test]
    fn only_the_value_changes() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("homelab.toml");
        let text = "# my homelab\n[hosts.a]   # first\naddress = \"x\"\nhost_key = \"old\"  # keep me\n\n[hosts.b]\naddress = \"y\"\n";
        std::fs::write(&spec, text).unwrap();
        assert_eq!(
            set_string(&spec, "hosts.a.host_key", "new").unwrap(),
            Some("old".into())
        );
        assert_eq!(set_string(&spec, "hosts.b.host_key", "k").unwrap(), None);
        assert_eq!(
            std::fs::read_to_string(&spec).unwrap(),
            "# my homelab\n[hosts.a]   # first\naddress = \"x\"\nhost_key = \"new\"  # keep me\n\n[hosts.b]\naddress = \"y\"\nhost_key = \"k\"\n"
        );
        let err = set_string(&spec, "hosts.c.host_key", "k").unwrap_err();
        assert!(err.to_string().contains("has no `[hosts.c]`"), "{err}");
    }
}
