//! A strict reader over a span-carrying TOML table.
//!
//! The spec is decoded by hand rather than through serde so that every
//! problem can point at the exact key or value, name the expected type,
//! suggest the key that was meant, and so that all problems in a file are
//! reported at once. Each `Table` remembers which keys were asked for;
//! `finish` reports the rest as unknown with a "did you mean".

use crate::diagnostic::{Diagnostic, Span, did_you_mean, name_list};
use std::borrow::Cow;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A value with the span of the spec text it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Sp<T> {
    pub fn new(value: T, span: Span) -> Self {
        Sp { value, span }
    }
}

impl<T> std::ops::Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// Collects diagnostics while the spec is decoded.
#[derive(Default)]
pub struct Sink {
    pub diags: Vec<Diagnostic>,
}

impl Sink {
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }
}

/// The name of a TOML value's type, as a user would say it.
pub(crate) fn type_name(v: &DeValue) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// How to write a value of the expected type, using the value given when
/// only its quoting is wrong (`"16"` for 16, `80` for `"80"`).
fn retype_help(key: &str, path: &str, v: &DeValue, expected: &str) -> String {
    let unquoted = match v {
        DeValue::String(s) => Some(s.to_string()),
        _ => None,
    };
    let written = match v {
        DeValue::Integer(i) => Some(i.as_str().to_string()),
        DeValue::Float(f) => Some(f.as_str().to_string()),
        DeValue::Boolean(b) => Some(b.to_string()),
        _ => None,
    };
    match expected {
        "an integer"
            if unquoted
                .as_deref()
                .is_some_and(|s| s.parse::<i64>().is_ok()) =>
        {
            format!(
                "remove the quotes: `{key} = {}`",
                unquoted.unwrap_or_default()
            )
        }
        "`true` or `false`" if matches!(unquoted.as_deref(), Some("true" | "false")) => {
            format!(
                "remove the quotes: `{key} = {}`",
                unquoted.unwrap_or_default()
            )
        }
        "a string" if written.is_some() => {
            format!(
                "put it in double quotes: `{key} = \"{}\"`",
                written.unwrap_or_default()
            )
        }
        "an array of strings" => format!("write a list in brackets: `{key} = [\"…\", \"…\"]`"),
        "a table" => format!("write it as a table: `[{path}]` with its keys below it"),
        _ => format!("`{key}` takes {expected}; see docs/spec.md"),
    }
}

pub struct Table<'a, 'i> {
    table: &'a DeTable<'i>,
    /// Where the table is named (its header key), for "missing key" errors.
    pub span: Span,
    /// Dotted path of the table, e.g. `hosts.nuc`.
    pub path: String,
    asked: Vec<&'static str>,
}

impl<'a, 'i> Table<'a, 'i> {
    pub fn new(table: &'a DeTable<'i>, span: Span, path: impl Into<String>) -> Self {
        Table {
            table,
            span,
            path: path.into(),
            asked: Vec::new(),
        }
    }

    fn full(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The raw value at `key`, marking the key as known.
    pub fn get(&mut self, key: &'static str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.asked.push(key);
        self.table.get(key)
    }

    /// The span of `key` itself when present, marking it as known.
    pub(crate) fn key_span(&mut self, key: &'static str) -> Option<Span> {
        self.asked.push(key);
        self.table.get_key_value(key).map(|(k, _)| k.span())
    }

    fn wrong_type(&self, sink: &mut Sink, key: &str, v: &Spanned<DeValue>, expected: &str) {
        sink.push(
            Diagnostic::error(
                "wrong-type",
                format!("`{}` must be {expected}", self.full(key)),
            )
            .at(v.span(), format!("this is {}", type_name(v.get_ref())))
            .help(retype_help(key, &self.full(key), v.get_ref(), expected)),
        );
    }

    fn missing(&self, sink: &mut Sink, key: &str, expected: &str, example: &str) {
        let place = if self.path.is_empty() {
            "the spec".to_string()
        } else {
            format!("`[{}]`", self.path)
        };
        sink.push(
            Diagnostic::error("missing-key", format!("{place} has no `{key}`"))
                .at(
                    self.span.clone(),
                    format!("`{key}` ({expected}) is required here"),
                )
                .help(format!("add `{key} = {example}`")),
        );
    }

    pub fn str(&mut self, sink: &mut Sink, key: &'static str) -> Option<Sp<String>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some(Sp::new(s.to_string(), v.span())),
            _ => {
                self.wrong_type(sink, key, v, "a string");
                None
            }
        }
    }

    pub(crate) fn req_str(
        &mut self,
        sink: &mut Sink,
        key: &'static str,
        example: &str,
    ) -> Option<Sp<String>> {
        if !self.table.contains_key(key) {
            self.asked.push(key);
            self.missing(sink, key, "a string", example);
            return None;
        }
        self.str(sink, key)
    }

    pub fn bool(&mut self, sink: &mut Sink, key: &'static str) -> Option<Sp<bool>> {
        let v = self.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(Sp::new(*b, v.span())),
            _ => {
                self.wrong_type(sink, key, v, "`true` or `false`");
                None
            }
        }
    }

    /// An integer within `min..=max`.
    pub fn int(
        &mut self,
        sink: &mut Sink,
        key: &'static str,
        min: i64,
        max: i64,
    ) -> Option<Sp<i64>> {
        let v = self.get(key)?;
        let DeValue::Integer(i) = v.get_ref() else {
            self.wrong_type(sink, key, v, "an integer");
            return None;
        };
        let parsed = i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).ok();
        match parsed {
            Some(n) if (min..=max).contains(&n) => Some(Sp::new(n, v.span())),
            _ => {
                sink.push(
                    Diagnostic::error(
                        "out-of-range",
                        format!("`{}` must be between {min} and {max}", self.full(key)),
                    )
                    .at(v.span(), "out of range")
                    .help(format!("use a whole number from {min} to {max}")),
                );
                None
            }
        }
    }

    /// A string that must be one of `allowed`.
    pub(crate) fn choice(
        &mut self,
        sink: &mut Sink,
        key: &'static str,
        allowed: &[&str],
    ) -> Option<Sp<String>> {
        let s = self.str(sink, key)?;
        if allowed.contains(&s.value.as_str()) {
            return Some(s);
        }
        let mut d = Diagnostic::error(
            "invalid-value",
            format!("`{}` cannot be `{}`", self.full(key), s.value),
        )
        .at(
            s.span.clone(),
            format!("expected one of {}", name_list(allowed)),
        );
        if let Some(m) = suggest(&s.value, allowed) {
            d = d.help(format!("did you mean `{m}`?"));
        } else {
            d = d.help(format!("write one of {}", name_list(allowed)));
        }
        sink.push(d);
        None
    }

    pub(crate) fn str_list(
        &mut self,
        sink: &mut Sink,
        key: &'static str,
    ) -> Option<Vec<Sp<String>>> {
        let v = self.get(key)?;
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(sink, key, v, "an array of strings");
            return None;
        };
        let mut out = Vec::new();
        for item in items {
            match item.get_ref() {
                DeValue::String(s) => out.push(Sp::new(s.to_string(), item.span())),
                _ => self.wrong_type(sink, key, item, "an array of strings"),
            }
        }
        Some(out)
    }

    /// A sub-table, with the span of its key.
    pub fn table(&mut self, sink: &mut Sink, key: &'static str) -> Option<Table<'a, 'i>> {
        self.asked.push(key);
        let (k, v) = self.table.get_key_value(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(Table::new(t, k.span(), self.full(key))),
            _ => {
                self.wrong_type(sink, key, v, "a table");
                None
            }
        }
    }

    /// Every entry of a table whose keys the user chooses (`[hosts.<name>]`),
    /// each as a sub-table. Entries that are not tables are reported.
    pub(crate) fn named_tables(
        &mut self,
        sink: &mut Sink,
        key: &'static str,
    ) -> Vec<(Sp<String>, Table<'a, 'i>)> {
        let Some(outer) = self.table(sink, key) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in outer.table.iter() {
            let name = Sp::new(k.get_ref().to_string(), k.span());
            match v.get_ref() {
                DeValue::Table(t) => {
                    let path = format!("{}.{}", outer.path, quote_key(&name.value));
                    out.push((name, Table::new(t, k.span(), path)));
                }
                _ => outer.wrong_type(sink, k.get_ref(), v, "a table"),
            }
        }
        out
    }

    /// Every entry of this table, for free-form content.
    pub fn entries(
        &self,
    ) -> impl Iterator<Item = (&'a Spanned<Cow<'i, str>>, &'a Spanned<DeValue<'i>>)> {
        self.table.iter()
    }

    /// Reports every key that was never asked for.
    pub fn finish(self, sink: &mut Sink) {
        for (k, _) in self.table.iter() {
            let key = k.get_ref();
            if self.asked.contains(&key.as_ref()) {
                continue;
            }
            let mut known: Vec<&str> = Vec::new();
            for k in &self.asked {
                if !known.contains(k) {
                    known.push(k);
                }
            }
            let place = if self.path.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in `[{}]`", self.path)
            };
            let mut d = Diagnostic::error("unknown-key", format!("unknown key `{key}` {place}"))
                .at(k.span(), "not a known key");
            d = match did_you_mean(key, known.iter().copied()) {
                Some(m) => d.help(format!("did you mean `{m}`?")),
                None => d.help(format!("known keys here: {}", name_list(&known))),
            };
            sink.push(d);
        }
    }
}

/// Quotes a table key for display when it is not a bare TOML key.
pub(crate) fn quote_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        key.to_string()
    } else {
        format!("\"{key}\"")
    }
}

/// Words people write for a value of one of the spec's choices, and the
/// value they mean: `exposure = "internet"` is `public`. Used only when
/// the value is not close to an allowed one by spelling.
const SYNONYMS: &[(&str, &str)] = &[
    // exposure
    ("internet", "public"),
    ("world", "public"),
    ("everyone", "public"),
    ("external", "public"),
    ("wan", "public"),
    ("tunnel", "public"),
    ("local", "lan"),
    ("home", "lan"),
    ("private", "lan"),
    ("network", "lan"),
    ("intranet", "lan"),
    ("vpn", "tailnet"),
    ("tailscale", "tailnet"),
    ("remote", "tailnet"),
    ("localhost", "host"),
    ("loopback", "host"),
    ("none", "host"),
    ("machine", "host"),
    // data class
    ("important", "critical"),
    ("precious", "critical"),
    ("irreplaceable", "critical"),
    ("normal", "standard"),
    ("default", "standard"),
    ("cache", "disposable"),
    ("temporary", "disposable"),
    ("temp", "disposable"),
    ("scratch", "disposable"),
    // host role
    ("server", "main"),
    ("primary", "main"),
    ("storage", "nas"),
    ("backup", "nas"),
    ("hub", "home-automation"),
    ("homeassistant", "home-automation"),
    // pool mode
    ("raid0", "single"),
    ("stripe", "single"),
    ("raid1", "mirror"),
    ("raid5", "raidz1"),
    ("raidz", "raidz1"),
    ("raid6", "raidz2"),
    // root file system
    ("ext", "ext4"),
    // system
    ("x86_64", "x86_64-linux"),
    ("amd64", "x86_64-linux"),
    ("aarch64", "aarch64-linux"),
    ("arm64", "aarch64-linux"),
];

/// The allowed value `value` most likely means: the same in another case,
/// one spelled closely, or one it is another word for.
pub fn suggest<'a>(value: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let lower = value.trim().to_ascii_lowercase();
    if let Some(same) = allowed.iter().find(|a| **a == lower) {
        return Some(same);
    }
    did_you_mean(&lower, allowed.iter().copied()).or_else(|| {
        let squashed: String = lower
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        SYNONYMS
            .iter()
            .find(|(word, _)| *word == lower || *word == squashed)
            .and_then(|(_, meant)| allowed.iter().find(|a| *a == meant).copied())
    })
}

#[cfg(test)]
mod suggest_tests {
    use super::suggest;

    #[test]
    fn words_for_a_value_suggest_it() {
        let exposure = ["host", "lan", "tailnet", "public"];
        assert_eq!(suggest("internet", &exposure), Some("public"));
        assert_eq!(suggest("Public", &exposure), Some("public"));
        assert_eq!(suggest("tailnt", &exposure), Some("tailnet"));
        assert_eq!(suggest("VPN", &exposure), Some("tailnet"));
        assert_eq!(suggest("banana", &exposure), None);
        // A synonym only suggests a value the key allows.
        assert_eq!(suggest("raid1", &exposure), None);
        assert_eq!(suggest("raid1", &["single", "mirror"]), Some("mirror"));
    }
}
