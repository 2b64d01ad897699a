//! The one Nix printer. Deterministic: the same value always prints to the
//! same bytes (attribute sets are sorted maps, floats use a fixed format).
//!
//! Readability matters because users may keep the generated flake without
//! the tool: a chain of single-attribute sets prints as a dotted path
//! (`services.caddy.enable = true;`), and multi-line strings print as
//! indented strings when that round-trips exactly.

use super::shell::{Line, Word};
use super::value::{Attrs, Nix};

const INDENT: &str = "  ";

/// Prints a value as a complete Nix expression, ending with a newline.
pub fn print(value: &Nix) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out.push('\n');
    out
}

fn write_value(out: &mut String, value: &Nix, depth: usize) {
    match value {
        Nix::Null => out.push_str("null"),
        Nix::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Nix::Int(i) => {
            // Nix has no negative literals: `-1` parses as `0 - 1`, which
            // is an expression; parenthesise it so it stays one list item.
            if *i < 0 {
                out.push_str(&format!("({i})"));
            } else {
                out.push_str(&i.to_string());
            }
        }
        Nix::Float(f) => out.push_str(&float(*f)),
        Nix::Str(s) => write_string(out, s, depth),
        Nix::Interp(parts) => write_interpolated(out, parts, depth),
        Nix::Path(p) => out.push_str(p),
        Nix::Raw(code) => out.push_str(code),
        Nix::Select { from, path } => {
            out.push_str(from);
            for name in path {
                out.push('.');
                push_attr_name(out, name);
            }
        }
        Nix::Concat(operands) => {
            for (n, operand) in operands.iter().enumerate() {
                if n > 0 {
                    out.push_str(" + ");
                }
                write_operand(out, operand, depth);
            }
        }
        Nix::List(items) => write_list(out, items, depth),
        Nix::Attrs(attrs) => write_attrs(out, attrs, depth),
        Nix::Lambda {
            formals,
            ellipsis,
            at,
            body,
        } => {
            let mut names: Vec<&str> = formals.iter().map(String::as_str).collect();
            if *ellipsis {
                names.push("...");
            }
            out.push_str("{ ");
            out.push_str(&names.join(", "));
            out.push_str(" }");
            if let Some(at) = at {
                out.push('@');
                out.push_str(at);
            }
            // A module's lambda opens the file on its own line; a nested
            // one (flake outputs) keeps its body on the same line.
            out.push_str(if depth == 0 { ":\n" } else { ": " });
            write_value(out, body, depth);
        }
        Nix::Script(lines) => write_script(out, lines, depth),
        Nix::Call { func, args } => {
            out.push_str(func);
            for arg in args {
                out.push(' ');
                write_operand(out, arg, depth);
            }
        }
        Nix::Apply { func, args } => {
            write_operand(out, func, depth);
            for arg in args {
                out.push(' ');
                write_operand(out, arg, depth);
            }
        }
        Nix::Let { bindings, body } => write_let(out, bindings, body, depth),
    }
}

/// `let` with one binding a line, `in` at the depth of the body.
fn write_let(out: &mut String, bindings: &[(String, Nix)], body: &Nix, depth: usize) {
    out.push_str("let\n");
    for (name, value) in bindings {
        out.push_str(&INDENT.repeat(depth + 1));
        push_attr_name(out, name);
        out.push_str(" = ");
        write_value(out, value, depth + 1);
        out.push_str(";\n");
    }
    out.push_str(&INDENT.repeat(depth));
    out.push_str("in\n");
    out.push_str(&INDENT.repeat(depth));
    write_value(out, body, depth);
}

/// An operand of an application or a `+`: parenthesised unless it is one
/// token.
fn write_operand(out: &mut String, value: &Nix, depth: usize) {
    if is_atom(value) {
        write_value(out, value, depth);
    } else {
        out.push('(');
        write_value(out, value, depth);
        out.push(')');
    }
}

/// True for values that print as one token, so they need no parentheses
/// as a list item or a function argument.
fn is_atom(v: &Nix) -> bool {
    match v {
        // Negative numbers print parenthesised already.
        Nix::Int(_) => true,
        Nix::Raw(code) => !code.contains(char::is_whitespace),
        Nix::Call { .. }
        | Nix::Apply { .. }
        | Nix::Lambda { .. }
        | Nix::Let { .. }
        | Nix::Float(_)
        | Nix::Concat(_) => false,
        _ => true,
    }
}

/// Short lists of scalars print on one line: `[ "zfs" ]`.
const INLINE_LIST_WIDTH: usize = 60;

fn write_list(out: &mut String, items: &[Nix], depth: usize) {
    if items.is_empty() {
        out.push_str("[ ]");
        return;
    }
    let scalar = |v: &Nix| {
        matches!(v, Nix::Int(_) | Nix::Bool(_) | Nix::Null | Nix::Path(_))
            || matches!(v, Nix::Str(s) if !s.contains('\n'))
    };
    if items.iter().all(scalar) {
        let mut line = String::from("[");
        for item in items {
            line.push(' ');
            write_value(&mut line, item, depth + 1);
        }
        line.push_str(" ]");
        if line.len() <= INLINE_LIST_WIDTH {
            out.push_str(&line);
            return;
        }
    }
    out.push_str("[\n");
    for item in items {
        out.push_str(&INDENT.repeat(depth + 1));
        // Applications and lambdas inside a list must be parenthesised, or
        // the list would read them as several items.
        let parens = !is_atom(item) && !matches!(item, Nix::Float(_));
        if parens {
            out.push('(');
        }
        write_value(out, item, depth + 1);
        if parens {
            out.push(')');
        }
        out.push('\n');
    }
    out.push_str(&INDENT.repeat(depth));
    out.push(']');
}

fn write_attrs(out: &mut String, attrs: &Attrs, depth: usize) {
    if attrs.is_empty() {
        out.push_str("{ }");
        return;
    }
    out.push_str("{\n");
    for (key, value) in attrs {
        out.push_str(&INDENT.repeat(depth + 1));
        push_attr_name(out, key);
        // Collapse `a = { b = { c = 1; }; }` into `a.b.c = 1;`.
        let mut value = value;
        while let Nix::Attrs(inner) = value {
            if inner.len() != 1 {
                break;
            }
            let (k, v) = inner.iter().next().expect("one entry");
            out.push('.');
            push_attr_name(out, k);
            value = v;
        }
        out.push_str(" = ");
        write_value(out, value, depth + 1);
        out.push_str(";\n");
    }
    out.push_str(&INDENT.repeat(depth));
    out.push('}');
}

/// An attribute name: bare when it is a plain identifier, quoted otherwise.
pub(crate) fn attr_name(key: &str) -> String {
    let mut out = String::new();
    push_attr_name(&mut out, key);
    out
}

/// [`attr_name`], written straight into the output (printing writes many
/// names; this saves an allocation for each).
fn push_attr_name(out: &mut String, key: &str) {
    if is_identifier(key) {
        out.push_str(key);
    } else {
        push_quoted(out, key);
    }
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or",
];

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '\'' | '-'))
        && !KEYWORDS.contains(&s)
}

/// A double-quoted Nix string with everything special escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_quoted(&mut out, s);
    out
}

/// [`quote`], written straight into the output.
fn push_quoted(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_string(out: &mut String, s: &str, depth: usize) {
    if fits_indented(s) {
        write_indented(out, s, depth);
    } else {
        push_quoted(out, s);
    }
}

/// Indented strings strip common leading whitespace and treat a few
/// characters specially; use them only where the text is certain to
/// round-trip: several lines, each non-empty line starting with a visible
/// character, no carriage returns or tabs, and no whitespace-only lines.
fn fits_indented(s: &str) -> bool {
    s.contains('\n')
        && !s.contains('\r')
        && !s.contains('\t')
        && s.lines().all(|line| {
            line.is_empty() || !line.starts_with(|c: char| c.is_whitespace())
        })
        && s.lines().all(|line| line.is_empty() || !line.trim().is_empty())
        && !s.chars().any(|c| c.is_control() && c != '\n')
        // Escapes inside indented strings interact (`'` before `''${`
        // lexes as `'''`); text that would need one is printed quoted.
        && !s.contains("''")
        && !s.contains("${")
        // A quote right before the closing `''` would read as an escape.
        && !s.ends_with('\'')
}

fn write_indented(out: &mut String, s: &str, depth: usize) {
    let pad = INDENT.repeat(depth + 1);
    out.push_str("''\n");
    let body = s.strip_suffix('\n');
    let text = body.unwrap_or(s);
    for line in text.split('\n') {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
    if body.is_none() {
        // No trailing newline: the closing quotes go on the last line.
        out.pop();
    } else {
        out.push_str(&INDENT.repeat(depth));
    }
    out.push_str("''");
}

/// A script as an indented string: renderer code as it is (escaped for
/// the indented string), each value as `${lib.escapeShellArg "…"}`.
fn write_script(out: &mut String, lines: &[Line], depth: usize) {
    let pad = INDENT.repeat(depth + 1);
    out.push_str("''\n");
    for line in lines {
        out.push_str(&pad);
        for (n, word) in line.iter().enumerate() {
            if n > 0 {
                out.push(' ');
            }
            match word {
                Word::Code(code) => out.push_str(&code.replace("''", "'''").replace("${", "''${")),
                Word::Value(v) => {
                    out.push_str("${lib.escapeShellArg ");
                    out.push_str(&quote(v));
                    out.push('}');
                }
            }
        }
        out.push('\n');
    }
    out.push_str(&INDENT.repeat(depth));
    out.push_str("''");
}

/// A string with `${…}` parts: an indented string when its text fits one
/// (the expressions printed in place), else a double-quoted one.
fn write_interpolated(out: &mut String, parts: &[Nix], depth: usize) {
    let text: String = parts
        .iter()
        .filter_map(|p| match p {
            Nix::Str(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    // A `$` right before `${` would be read as an escape of it; empty
    // text between them does not separate them.
    let mut dollar_before_expr = false;
    let mut ends_in_dollar = false;
    for part in parts {
        match part {
            Nix::Str(s) if s.is_empty() => {}
            Nix::Str(s) => ends_in_dollar = s.ends_with('$'),
            _ => {
                dollar_before_expr |= ends_in_dollar;
                ends_in_dollar = false;
            }
        }
    }
    let indented = fits_indented(&text) && !dollar_before_expr;
    let mut body = String::new();
    for part in parts {
        match part {
            Nix::Str(s) if indented => body.push_str(s),
            Nix::Str(s) => {
                let q = quote(s);
                let inner = &q[1..q.len() - 1];
                match inner.strip_suffix('$') {
                    Some(head) => {
                        body.push_str(head);
                        body.push_str("\\$");
                    }
                    None => body.push_str(inner),
                }
            }
            expr => {
                body.push_str("${");
                write_value(&mut body, expr, depth + 1);
                body.push('}');
            }
        }
    }
    if indented {
        write_indented(out, &body, depth);
    } else {
        out.push('"');
        out.push_str(&body);
        out.push('"');
    }
}

fn float(f: f64) -> String {
    if f.is_finite() {
        let s = format!("{f:?}");
        if s.contains('.') || s.contains('e') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // Nix has no literal for infinity or NaN; the spec layer rejects
        // them, so reaching here is a bug worth showing in the output.
        "null".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nix::set;

    #[test]
    fn single_attribute_chains_print_as_paths() {
        let mut a = Attrs::new();
        set(&mut a, &["services", "caddy", "enable"], true);
        set(&mut a, &["services", "caddy", "email"], "a@b");
        assert_eq!(
            print(&Nix::Attrs(a)),
            "{\n  services.caddy = {\n    email = \"a@b\";\n    enable = true;\n  };\n}\n"
        );
    }

    #[test]
    fn strings_escape_interpolation_and_quotes() {
        assert_eq!(quote("a\"${b}\\"), r#""a\"\${b}\\""#);
        assert_eq!(attr_name("x.age"), "\"x.age\"");
        assert_eq!(attr_name("if"), "\"if\"");
        assert_eq!(attr_name("systemd-boot"), "systemd-boot");
    }

    #[test]
    fn multi_line_text_uses_indented_strings_when_exact() {
        let out = print(&Nix::str("a $x\nb '\n"));
        assert_eq!(out, "''\n  a $x\n  b '\n''\n");
        // Text that would need escapes inside `''` is printed quoted.
        assert_eq!(print(&Nix::str("'${\n")), "\"'\\${\\n\"\n");
        // Leading indentation would be stripped by Nix: fall back to quotes.
        assert_eq!(print(&Nix::str("  a\nb\n")), "\"  a\\nb\\n\"\n");
    }

    #[test]
    fn scripts_quote_every_value_with_escape_shell_arg() {
        use crate::nix::shell::{code, line, value};
        let s = Nix::script(vec![
            line([code("zfs"), code("list"), value("tank/a b")]),
            line([code("echo"), value("\"${x}\\'$(id)")]),
        ]);
        assert_eq!(
            print(&s),
            "''\n  zfs list ${lib.escapeShellArg \"tank/a b\"}\n  echo ${lib.escapeShellArg \"\\\"\\${x}\\\\'$(id)\"}\n''\n"
        );
    }

    #[test]
    fn interpolations_print_expressions_in_escaped_text() {
        let v = Nix::Interp(vec![
            Nix::str("$__file{"),
            Nix::raw("config.age.secrets.a.path"),
            Nix::str("} \"x\""),
        ]);
        assert_eq!(
            print(&v),
            "\"$__file{${config.age.secrets.a.path}} \\\"x\\\"\"\n"
        );
        let script = Nix::Interp(vec![
            Nix::str("zfs allow "),
            Nix::call("lib.escapeShellArg", vec![Nix::str("tank/a b")]),
            Nix::str("\n"),
        ]);
        assert_eq!(
            print(&script),
            "''\n  zfs allow ${lib.escapeShellArg \"tank/a b\"}\n''\n"
        );
    }

    #[test]
    fn negative_numbers_and_calls_stay_single_items() {
        let v = Nix::List(vec![Nix::Int(-1), Nix::call("f", vec![Nix::Int(1)])]);
        assert_eq!(print(&v), "[\n  (-1)\n  (f 1)\n]\n");
        assert_eq!(
            print(&Nix::List(vec![Nix::Int(-1), Nix::str("a")])),
            "[ (-1) \"a\" ]\n"
        );
        assert_eq!(
            print(&Nix::List(vec![Nix::raw("a.b"), Nix::raw("a b")])),
            "[\n  a.b\n  (a b)\n]\n"
        );
    }
}
