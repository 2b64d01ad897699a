//! The Nix value model: the only way the renderer produces Nix.
//!
//! Data (strings, numbers, attribute names) is always escaped by the printer,
//! so no spec value can turn into Nix code. What is code has a node of its
//! own: a selection (`config.age.secrets."x".path`), an interpolated string
//! (`"${pkgs.systemd}/bin/systemctl"`), a concatenation (`a + b`), a function
//! application; names inside them are data and escaped like any other.
//! Fixed code text written into the renderer or the embedded catalog
//! (`agenix.nixosModules.default`) is [`Nix::Raw`]; Raw is never assembled
//! from values.

use std::collections::BTreeMap;

/// An attribute set with sorted keys, so printing is deterministic.
pub type Attrs = BTreeMap<String, Nix>;

/// A Nix value, or an explicit piece of Nix code.
#[derive(Debug, Clone, PartialEq)]
pub enum Nix {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string; printed escaped.
    Str(String),
    /// A path literal relative to the file it is printed in, e.g. `./core.nix`.
    Path(String),
    List(Vec<Nix>),
    Attrs(Attrs),
    /// Nix code taken verbatim: fixed text of the renderer or the catalog,
    /// never assembled from values.
    Raw(String),
    /// An attribute path selected from a variable in scope:
    /// `config.age.secrets."a b".path`. The names are quoted as needed.
    Select {
        from: String,
        path: Vec<String>,
    },
    /// Operands joined with `+`: strings, or a path and a string.
    Concat(Vec<Nix>),
    /// `{ a, b, ... }@name: body`.
    Lambda {
        formals: Vec<String>,
        ellipsis: bool,
        at: Option<String>,
        body: Box<Nix>,
    },
    /// A string with interpolations: `Str` parts are text (escaped when
    /// printed), any other part is an expression inserted with `${…}`.
    /// How a store or run-time path gets into text without building Nix
    /// code from strings.
    Interp(Vec<Nix>),
    /// A function given as fixed code applied to arguments.
    Call {
        func: String,
        args: Vec<Nix>,
    },
    /// A function value (a selection, say) applied to arguments.
    Apply {
        func: Box<Nix>,
        args: Vec<Nix>,
    },
    /// A shell script, one line per command; values in it are quoted with
    /// `lib.escapeShellArg` (see [`super::shell`]).
    Script(Vec<super::shell::Line>),
    /// `let name = value; … in body`: a value computed once and named, where
    /// the body would otherwise repeat it.
    Let {
        bindings: Vec<(String, Nix)>,
        body: Box<Nix>,
    },
}

impl Nix {
    pub fn str(s: impl Into<String>) -> Nix {
        Nix::Str(s.into())
    }

    pub fn raw(s: impl Into<String>) -> Nix {
        Nix::Raw(s.into())
    }

    pub fn list<I: IntoIterator<Item = Nix>>(items: I) -> Nix {
        Nix::List(items.into_iter().collect())
    }

    pub fn strs<I, S>(items: I) -> Nix
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Nix::List(items.into_iter().map(|s| Nix::Str(s.into())).collect())
    }

    /// A NixOS module `{ config, lib, pkgs, ... }: body`.
    pub fn module(body: Attrs) -> Nix {
        Nix::module_with(Vec::new(), body)
    }

    /// A NixOS module whose body names values first:
    /// `{ config, lib, pkgs, ... }: let … in body`.
    pub fn module_with(bindings: Vec<(String, Nix)>, body: Attrs) -> Nix {
        let body = Box::new(Nix::Attrs(body));
        Nix::Lambda {
            formals: vec!["config".into(), "lib".into(), "pkgs".into()],
            ellipsis: true,
            at: None,
            body: match bindings.is_empty() {
                true => body,
                false => Box::new(Nix::Let { bindings, body }),
            },
        }
    }

    pub fn script(lines: Vec<super::shell::Line>) -> Nix {
        Nix::Script(lines)
    }

    /// A function given as fixed code (`nixpkgs.lib.nixosSystem`) applied
    /// to arguments.
    pub fn call(func: impl Into<String>, args: Vec<Nix>) -> Nix {
        Nix::Call {
            func: func.into(),
            args,
        }
    }

    /// A function value applied to arguments.
    pub fn apply(func: Nix, args: Vec<Nix>) -> Nix {
        Nix::Apply {
            func: Box::new(func),
            args,
        }
    }

    /// `from.a.b.c`: attribute names are data and quoted when needed.
    pub fn select<I, S>(from: &str, path: I) -> Nix
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Nix::Select {
            from: from.to_string(),
            path: path.into_iter().map(Into::into).collect(),
        }
    }

    /// The decrypted file of an agenix secret at run time:
    /// `config.age.secrets."name".path`.
    pub fn age_secret_path(name: &str) -> Nix {
        Nix::select("config", ["age", "secrets", name, "path"])
    }
}

impl From<bool> for Nix {
    fn from(b: bool) -> Self {
        Nix::Bool(b)
    }
}
impl From<i64> for Nix {
    fn from(i: i64) -> Self {
        Nix::Int(i)
    }
}
impl From<u16> for Nix {
    fn from(i: u16) -> Self {
        Nix::Int(i64::from(i))
    }
}
impl From<&str> for Nix {
    fn from(s: &str) -> Self {
        Nix::Str(s.to_string())
    }
}
impl From<String> for Nix {
    fn from(s: String) -> Self {
        Nix::Str(s)
    }
}
impl From<Attrs> for Nix {
    fn from(a: Attrs) -> Self {
        Nix::Attrs(a)
    }
}

/// Builds nested attribute sets from dotted paths, merging as it goes.
///
/// `set(&mut a, &["services", "caddy", "enable"], true)` is the Nix
/// `services.caddy.enable = true;`. Two writes to the same leaf keep the
/// later one; lists at the same leaf are concatenated, as the NixOS module
/// system would merge them.
pub fn set(attrs: &mut Attrs, path: &[&str], value: impl Into<Nix>) {
    let (first, rest) = path.split_first().expect("attribute path is never empty");
    if rest.is_empty() {
        merge_into(attrs, first, value.into());
        return;
    }
    let child = attrs
        .entry((*first).to_string())
        .or_insert_with(|| Nix::Attrs(Attrs::new()));
    if !matches!(child, Nix::Attrs(_)) {
        *child = Nix::Attrs(Attrs::new());
    }
    if let Nix::Attrs(inner) = child {
        set(inner, rest, value);
    }
}

/// Merges `value` at `key`: attribute sets merge deeply, lists concatenate,
/// anything else is replaced.
pub(crate) fn merge_into(attrs: &mut Attrs, key: &str, value: Nix) {
    match (attrs.get_mut(key), value) {
        (Some(Nix::Attrs(old)), Nix::Attrs(new)) => {
            for (k, v) in new {
                merge_into(old, &k, v);
            }
        }
        (Some(Nix::List(old)), Nix::List(new)) => old.extend(new),
        (_, value) => {
            attrs.insert(key.to_string(), value);
        }
    }
}

/// Splits a dotted option path (`services.caddy.enable`) into its parts.
/// Parts may be quoted: `environment.etc."alloy/config.alloy".text`.
pub fn split_path(path: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in path.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    parts
}
