//! Option types from the NixOS option index, and a checker of every
//! generated value against the type of the option it is assigned to.
//!
//! The index writes types in a small grammar, the way nixpkgs spells them:
//! `bool`, `int`, `float`, `str`, `lines`, `path`, `package`, `port`,
//! `anything`, `ints.between A B`, `ints.positive`, `ints.unsigned`,
//! `strMatching "re"`, `separatedString "s"`, `enum [ "a" "b" ]`,
//! `listOf T`, `attrsOf T`, `lazyAttrsOf T`, `nullOr T`, `either T T`,
//! `oneOf [ T T ]`, `coercedTo T T` (or `coercedTo T f T`), `submodule`, `format:yaml`, … with
//! nested types parenthesised. Older files are less regular (`bool
//! (mkEnableOption)`, `types.str`, `boolean`): a trailing remark in
//! parentheses is dropped, and whatever still does not parse is
//! `Unchecked` and listed, never guessed at.
//!
//! A value that is Nix code (`config.…`, `pkgs.…`, a call) cannot be
//! evaluated here and satisfies any type but a literal one it visibly is
//! not; data (numbers, strings, lists, sets) is checked exactly.

use compile::nix::{Attrs, Nix, split_path};
use std::path::Path;

/// A NixOS option type.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    Bool,
    Int,
    Float,
    /// int or float.
    Number,
    Str,
    Path,
    Package,
    /// An integer within bounds (ports, `ints.between`, `ints.positive`).
    IntRange(i64, i64),
    StrMatching(String),
    Enum(Vec<Nix>),
    ListOf(Box<Type>),
    AttrsOf(Box<Type>),
    NullOr(Box<Type>),
    /// `either`, `oneOf`, and `coercedTo` (its from- or to-type).
    OneOf(Vec<Type>),
    /// A set of further options, declared by their own index entries.
    Submodule,
    /// Any attribute set (`attrs`).
    Attrs,
    /// Any data (`anything`, `format:json`, `format:yaml`…).
    Anything,
    /// A type the grammar does not cover (a function, a module-specific
    /// type); listed by the tests, not checked.
    Unchecked(String),
}

impl Type {
    /// Parses one index type string; text it cannot read is `Unchecked`.
    pub fn parse(text: &str) -> Type {
        // `(pkgs.formats.yaml { }).type`: whatever the format can write.
        if text.contains("formats.") && text.ends_with(".type") {
            return Type::Anything;
        }
        let cleaned = text.replace("lib.types.", "").replace("types.", "");
        let mut p = Parser {
            toks: tokens(&cleaned),
            at: 0,
        };
        match p.ty() {
            Some(t) if p.at == p.toks.len() => t,
            // A trailing remark: `bool (mkEnableOption)`, `str (readOnly)`.
            Some(t) if p.toks[p.at..].first().is_some_and(|t| t == "(") && p.rest_is_remark() => t,
            _ => Type::Unchecked(text.to_string()),
        }
    }

    /// Whether the type holds further options (its value is walked).
    pub fn holds_options(&self) -> bool {
        match self {
            Type::Submodule => true,
            Type::ListOf(t) | Type::AttrsOf(t) | Type::NullOr(t) => t.holds_options(),
            _ => false,
        }
    }

    /// Checks a value; `None` when it fits, else why not.
    pub fn check(&self, v: &Nix) -> Option<String> {
        if is_code(v) {
            return None;
        }
        let fits = match (self, v) {
            (Type::Anything | Type::Unchecked(_), _) => true,
            (Type::Bool, Nix::Bool(_)) => true,
            (Type::Int, Nix::Int(_)) => true,
            (Type::Float, Nix::Float(_)) => true,
            (Type::Number, Nix::Int(_) | Nix::Float(_)) => true,
            (Type::Str, Nix::Str(_) | Nix::Interp(_) | Nix::Script(_)) => true,
            (Type::Path, Nix::Path(_) | Nix::Interp(_)) => true,
            (Type::Path, Nix::Str(s)) => s.starts_with('/'),
            (Type::IntRange(lo, hi), Nix::Int(i)) => {
                if i < lo || i > hi {
                    return Some(format!("{i} is outside {lo}..{hi}"));
                }
                true
            }
            (Type::StrMatching(re), Nix::Str(s)) => {
                let anchored = format!("^(?:{re})$");
                match regex::Regex::new(&anchored) {
                    Ok(r) if !r.is_match(s) => return Some(format!("{s:?} does not match {re:?}")),
                    _ => true,
                }
            }
            (Type::StrMatching(_), Nix::Interp(_)) => true,
            (Type::Enum(members), v) => {
                if !members.contains(v) {
                    return Some(format!("{} is not one of the enum's members", show(v)));
                }
                true
            }
            (Type::ListOf(t), Nix::List(items)) => {
                return items
                    .iter()
                    .enumerate()
                    .find_map(|(n, item)| t.check(item).map(|why| format!("element {n}: {why}")));
            }
            (Type::AttrsOf(t), Nix::Attrs(a)) => {
                return a
                    .iter()
                    .find_map(|(k, item)| t.check(item).map(|why| format!("`{k}`: {why}")));
            }
            (Type::NullOr(_), Nix::Null) => true,
            (Type::NullOr(t), v) => return t.check(v),
            (Type::OneOf(ts), v) => {
                if ts.iter().all(|t| t.check(v).is_some()) {
                    return Some(format!("{} fits none of its alternatives", show(v)));
                }
                true
            }
            (Type::Submodule | Type::Attrs, Nix::Attrs(_)) => true,
            _ => false,
        };
        (!fits).then(|| format!("{} is not {}", show(v), self.name()))
    }

    fn name(&self) -> String {
        match self {
            Type::Bool => "a bool".into(),
            Type::Int | Type::IntRange(..) => "an integer".into(),
            Type::Float => "a float".into(),
            Type::Number => "a number".into(),
            Type::Str | Type::StrMatching(_) => "a string".into(),
            Type::Path => "an absolute path".into(),
            Type::Package => "a package".into(),
            Type::Enum(_) => "an enum member".into(),
            Type::ListOf(_) => "a list".into(),
            Type::AttrsOf(_) | Type::Attrs | Type::Submodule => "an attribute set".into(),
            Type::NullOr(t) => format!("null or {}", t.name()),
            Type::OneOf(_) => "one of the alternatives".into(),
            Type::Anything | Type::Unchecked(_) => "anything".into(),
        }
    }
}

/// Nix code, which the checker cannot evaluate.
fn is_code(v: &Nix) -> bool {
    matches!(
        v,
        Nix::Raw(_)
            | Nix::Select { .. }
            | Nix::Concat(_)
            | Nix::Call { .. }
            | Nix::Apply { .. }
            | Nix::Lambda { .. }
    )
}

fn show(v: &Nix) -> String {
    match v {
        Nix::Null => "null".into(),
        Nix::Bool(b) => b.to_string(),
        Nix::Int(i) => i.to_string(),
        Nix::Float(f) => f.to_string(),
        Nix::Str(s) => format!("{s:?}"),
        Nix::List(_) => "a list".into(),
        Nix::Attrs(_) => "an attribute set".into(),
        _ => "an expression".into(),
    }
}

fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if "()[]{}".contains(c) {
            out.push(c.to_string());
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut lit = String::from("\"");
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        lit.push(n);
                    }
                } else if c == '"' {
                    break;
                } else {
                    lit.push(c);
                }
            }
            out.push(lit);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || "()[]{}\"".contains(c) {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(word);
        }
    }
    out
}

/// Words that begin a type, so they are not taken for a submodule's name.
fn is_type_word(w: &str) -> bool {
    const WORDS: [&str; 14] = [
        "bool", "int", "float", "str", "lines", "path", "package", "port", "anything", "enum",
        "listOf", "attrsOf", "nullOr", "either",
    ];
    WORDS.contains(&w) || w.starts_with("ints.") || w.starts_with("format:")
}

struct Parser {
    toks: Vec<String>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let t = self.toks.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn eat(&mut self, tok: &str) -> Option<()> {
        (self.next()? == tok).then_some(())
    }

    /// Whether a type may end here: at the end of the text, a closing
    /// bracket, or the next argument of an enclosing `either`/`oneOf`.
    fn ends_a_type(&self) -> bool {
        match self.peek() {
            None | Some(")" | "]") => true,
            Some(w) => w == "(" || is_type_word(w),
        }
    }

    /// A parenthesised remark that closes at the end of the text.
    fn rest_is_remark(&self) -> bool {
        self.toks.last().is_some_and(|t| t == ")")
    }

    fn int(&mut self) -> Option<i64> {
        self.next()?.parse().ok()
    }

    fn string(&mut self) -> Option<String> {
        self.next()?.strip_prefix('"').map(String::from)
    }

    /// One type, with its arguments.
    fn ty(&mut self) -> Option<Type> {
        let word = self.next()?;
        Some(match word.as_str() {
            "(" => {
                let t = self.ty()?;
                self.eat(")")?;
                t
            }
            "bool" | "boolean" => Type::Bool,
            "int" | "integer" | "ints.s32" | "ints.s16" | "ints.s8" => Type::Int,
            "float" => Type::Float,
            "number" => Type::Number,
            "str" | "string" | "lines" | "commas" | "singleLineStr" | "nonEmptyStr" | "envVar"
            | "unitNameType" => Type::Str,
            "path" | "absolute-pathname" | "pathInStore" => Type::Path,
            "package" => Type::Package,
            "port" | "ints.u16" => Type::IntRange(0, 65535),
            "ints.u8" => Type::IntRange(0, 255),
            "ints.u32" => Type::IntRange(0, u32::MAX.into()),
            "ints.positive" => Type::IntRange(1, i64::MAX),
            "ints.unsigned" => Type::IntRange(0, i64::MAX),
            "ints.between" => Type::IntRange(self.int()?, self.int()?),
            "strMatching" => Type::StrMatching(self.string()?),
            "separatedString" => {
                self.string()?;
                Type::Str
            }
            // `enum [ ]` stands in the index for an enum the module computes
            // (Home Assistant's components): its members are not known here.
            "enum" => match self.members()? {
                members if members.is_empty() => Type::Unchecked("enum [ ] (computed)".into()),
                members => Type::Enum(members),
            },
            "anything" | "unspecified" | "raw" => Type::Anything,
            "attrs" => Type::Attrs,
            "submodule" => {
                // Its module, inline (`{ … }`), as a list (`[ … ]`) or by
                // name (`userOpts`): the index lists the options themselves.
                match self.peek() {
                    Some("{" | "[") => self.skip_group()?,
                    Some(w) if !is_type_word(w) && w != ")" => {
                        self.next();
                    }
                    _ => {}
                }
                Type::Submodule
            }
            "attrsWith" => {
                self.string()?;
                Type::AttrsOf(Box::new(self.ty()?))
            }
            "addCheck" => {
                let t = self.ty()?;
                // The check, by name or as a remark.
                match self.peek() {
                    Some("(") => self.skip_group()?,
                    Some(w) if w != ")" && w != "]" => {
                        self.next();
                    }
                    _ => {}
                }
                t
            }
            "unitOption" => Type::Anything,
            "listOf" => Type::ListOf(Box::new(self.ty()?)),
            "attrsOf" | "lazyAttrsOf" => Type::AttrsOf(Box::new(self.ty()?)),
            "nullOr" => Type::NullOr(Box::new(self.ty()?)),
            "uniq" | "unique" => self.ty()?,
            "either" => Type::OneOf(vec![self.ty()?, self.ty()?]),
            "oneOf" => {
                self.eat("[")?;
                let mut ts = Vec::new();
                while self.peek() != Some("]") {
                    ts.push(self.ty()?);
                }
                self.eat("]")?;
                Type::OneOf(ts)
            }
            "coercedTo" => {
                let from = self.ty()?;
                // The index writes `coercedTo FROM TO`; older files name the
                // coercion function between them, by name or as a remark.
                let at = self.at;
                if let Some(to) = self.ty().filter(|_| self.ends_a_type()) {
                    Type::OneOf(vec![from, to])
                } else {
                    self.at = at;
                    if self.peek() == Some("(") {
                        self.skip_group()?;
                    } else {
                        self.next()?;
                    }
                    Type::OneOf(vec![from, self.ty()?])
                }
            }
            w if w.starts_with("format:") => Type::Anything,
            _ => return None,
        })
    }

    fn members(&mut self) -> Option<Vec<Nix>> {
        self.eat("[")?;
        let mut out = Vec::new();
        while self.peek()? != "]" {
            let t = self.next()?;
            out.push(match t.strip_prefix('"') {
                Some(s) => Nix::Str(s.to_string()),
                None => match t.parse::<i64>() {
                    Ok(i) => Nix::Int(i),
                    Err(_) => match t.as_str() {
                        "true" => Nix::Bool(true),
                        "false" => Nix::Bool(false),
                        "null" => Nix::Null,
                        // A bare word is a string member in older files.
                        _ => Nix::Str(t),
                    },
                },
            });
        }
        self.eat("]")?;
        Some(out)
    }

    /// Skips one balanced `(…)`, `[…]` or `{…}` group.
    fn skip_group(&mut self) -> Option<()> {
        let mut depth = 0;
        loop {
            match self.next()?.as_str() {
                "{" | "[" | "(" => depth += 1,
                "}" | "]" | ")" => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(());
                    }
                }
                _ => {}
            }
        }
    }
}

struct Opt {
    parts: Vec<String>,
    ty: Type,
    freeform: bool,
    /// Its value is a whole NixOS configuration (`virtualisation.vmVariant`),
    /// checked as a module of its own.
    nested: bool,
}

/// The typed option index.
pub struct TypeIndex {
    options: Vec<Opt>,
}

/// A value that does not fit its option's type.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub path: String,
    pub why: String,
}

/// What one check found.
#[derive(Debug, Default)]
pub struct Report {
    pub mismatches: Vec<Mismatch>,
    /// Assigned options whose index type the grammar does not read.
    pub unchecked: Vec<String>,
    /// How many assigned values were checked against a type.
    pub checked: usize,
}

impl TypeIndex {
    pub fn load(dirs: &[&Path]) -> TypeIndex {
        let mut texts = Vec::new();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
            paths.sort();
            for path in paths
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
            {
                texts.push(std::fs::read_to_string(path).unwrap());
            }
        }
        TypeIndex::from_json(&texts)
    }

    /// From index files' text (the same shape as `nixos-options/*.json`).
    pub fn from_json<S: AsRef<str>>(files: &[S]) -> TypeIndex {
        let mut options = Vec::new();
        for text in files {
            let json: serde_json::Value = serde_json::from_str(text.as_ref()).unwrap();
            for o in json["options"].as_array().into_iter().flatten() {
                let (Some(path), ty) = (o["path"].as_str(), o["type"].as_str().unwrap_or(""))
                else {
                    continue;
                };
                options.push(Opt {
                    parts: split_path(path),
                    ty: Type::parse(ty),
                    freeform: o["freeform"].as_bool().unwrap_or(false)
                        || ty.starts_with("freeform"),
                    nested: o["nested_configuration"].as_bool().unwrap_or(false),
                });
            }
        }
        TypeIndex { options }
    }

    /// Checks every value a module body assigns.
    pub fn check(&self, body: &Attrs) -> Report {
        let mut report = Report::default();
        for (k, v) in body {
            if k != "imports" {
                self.walk(&mut vec![k.clone()], v, &mut report);
            }
        }
        report
    }

    fn exact(&self, path: &[String]) -> Vec<&Opt> {
        self.options
            .iter()
            .filter(|o| matches(&o.parts, path))
            .collect()
    }

    fn walk(&self, path: &mut Vec<String>, value: &Nix, report: &mut Report) {
        let exact = self.exact(path);
        if let (true, Nix::Attrs(body)) = (exact.iter().any(|o| o.nested), value) {
            let inner = self.check(body);
            let at = |p: String| format!("{}.{p}", path.join("."));
            report.checked += inner.checked;
            report.unchecked.extend(inner.unchecked.into_iter().map(at));
            report
                .mismatches
                .extend(inner.mismatches.into_iter().map(|m| Mismatch {
                    path: at(m.path),
                    why: m.why,
                }));
            return;
        }
        let container = exact.iter().find(|o| o.ty.holds_options());
        // A type named by the module (`attrsOf secretType`) whose options
        // the index lists below it: walked like a submodule.
        let named_container = exact
            .iter()
            .any(|o| matches!(o.ty, Type::Unchecked(_)) && self.has_options_below(path));
        let data: Vec<&Type> = exact
            .iter()
            .filter(|o| !o.ty.holds_options() && !named_container)
            .map(|o| &o.ty)
            .collect();
        if !data.is_empty() {
            // Several declarations (disko's subtypes, chosen by `type`):
            // the value must fit one of them.
            let checked: Vec<&Type> = data
                .into_iter()
                .filter(|t| !matches!(t, Type::Unchecked(_)))
                .collect();
            if checked.is_empty() {
                report.unchecked.push(path.join("."));
                return;
            }
            report.checked += 1;
            if let Some(why) = checked
                .iter()
                .map(|t| t.check(value))
                .collect::<Option<Vec<String>>>()
                .and_then(|whys| whys.into_iter().next())
            {
                report.mismatches.push(Mismatch {
                    path: path.join("."),
                    why,
                });
            }
            return;
        }
        if let Some(c) = container {
            // The shape around the submodule: a list, a set, or null.
            if let Some(why) = shape(&c.ty, value) {
                report.mismatches.push(Mismatch {
                    path: path.join("."),
                    why,
                });
                return;
            }
            if c.freeform {
                return;
            }
        } else if exact.iter().any(|o| o.freeform) || self.below_freeform(path) {
            return;
        }
        match value {
            Nix::Attrs(attrs) => {
                for (k, v) in attrs {
                    path.push(k.clone());
                    self.submodule_key(path, report);
                    self.walk(path, v, report);
                    path.pop();
                }
            }
            Nix::List(items) => {
                for item in items {
                    path.push("*".into());
                    self.walk(path, item, report);
                    path.pop();
                }
            }
            _ => {}
        }
    }

    /// A key below a submodule the index describes must be one of its
    /// options (or lead to one).
    fn submodule_key(&self, path: &[String], report: &mut Report) {
        if !self.is_submodule_value(&path[..path.len() - 1]) {
            return;
        }
        let known = self
            .options
            .iter()
            .any(|o| o.parts.len() >= path.len() && matches(&o.parts[..path.len()], path));
        if !known {
            report.mismatches.push(Mismatch {
                path: path.join("."),
                why: "not an option of the submodule".into(),
            });
        }
    }

    fn has_options_below(&self, path: &[String]) -> bool {
        self.options
            .iter()
            .any(|o| o.parts.len() > path.len() && matches(&o.parts[..path.len()], path))
    }

    /// Whether the value at `path` is one submodule value: the option is
    /// a submodule, or a set or list of them and `path` is one element.
    fn is_submodule_value(&self, path: &[String]) -> bool {
        let direct = |t: &Type| match t {
            Type::Submodule => true,
            Type::NullOr(t) => **t == Type::Submodule,
            _ => false,
        };
        let one_of_many = |t: &Type| match t {
            Type::ListOf(t) | Type::AttrsOf(t) => direct(t),
            Type::NullOr(t) => matches!(&**t, Type::ListOf(t) | Type::AttrsOf(t) if direct(t)),
            _ => false,
        };
        self.exact(path)
            .iter()
            .any(|o| !o.freeform && direct(&o.ty))
            || path.len() > 1
                && self
                    .exact(&path[..path.len() - 1])
                    .iter()
                    .any(|o| !o.freeform && one_of_many(&o.ty))
    }

    fn below_freeform(&self, path: &[String]) -> bool {
        self.options.iter().any(|o| {
            o.freeform && o.parts.len() < path.len() && matches(&o.parts, &path[..o.parts.len()])
        })
    }
}

/// Checks the list/set/null layers around a submodule type.
fn shape(ty: &Type, v: &Nix) -> Option<String> {
    if is_code(v) {
        return None;
    }
    match (ty, v) {
        (Type::NullOr(_), Nix::Null) => None,
        (Type::NullOr(t), v) => shape(t, v),
        (Type::ListOf(t), Nix::List(items)) => items.iter().find_map(|i| shape(t, i)),
        (Type::AttrsOf(t), Nix::Attrs(a)) => a.values().find_map(|i| shape(t, i)),
        (Type::Submodule, Nix::Attrs(_)) => None,
        (t, v) => Some(format!("{} is not {}", show(v), t.name())),
    }
}

/// An index path matches an assigned path part by part; `<…>` matches any
/// key, `*` a list element.
fn matches(pattern: &[String], path: &[String]) -> bool {
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(path)
            .all(|(p, k)| p == k || (p.starts_with('<') && p.ends_with('>') && k != "*"))
}
