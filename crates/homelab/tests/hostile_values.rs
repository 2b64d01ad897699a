//! Property tests: an arbitrary string in any spec field that reaches a
//! shell script, a unit file or a URL is either refused with a diagnostic
//! pointing at that field, or arrives where it is used as exactly itself,
//! as one inert word.
//!
//! Scripts are checked by running them: the generated Nix is evaluated by
//! the real `nix-instantiate`, with `lib.escapeShellArg` defined as nixpkgs
//! defines it (lib/strings.nix; nixpkgs itself cannot be fetched here), and
//! the resulting script body is run by `sh` with a `PATH` that holds only
//! stub commands recording their argv. A stub stands in for `zfs`, which
//! cannot run here. Needs `nix-instantiate` (Debian nix-bin) and `/bin/sh`.

use compile::nix::shell::Word;
use compile::nix::{Nix, print};
use proptest::prelude::*;
use std::process::Command;

#[path = "support/argv_stub.rs"]
mod argv_stub;

use argv_stub::{ESCAPE_SHELL_ARG, eval_string};

/// The shell text NixOS would put in the unit: the printed script, with
/// `lib` in scope, evaluated by the real evaluator.
fn script_text(lines: &[Vec<Word>]) -> String {
    let expr = format!(
        "let lib = {{ escapeShellArg = {ESCAPE_SHELL_ARG}; }}; in {}",
        print(&Nix::script(lines.to_vec()))
    );
    eval_string(&expr)
}

/// Commands the stubs stand in for; anything else is "not found".
const STUBS: [&str; 3] = ["zfs", "touch", "id"];

/// Runs a script body with only recording stubs on PATH; returns every
/// invocation's argv (command name first) and the shell's stderr.
fn run_with_stubs(body: &str) -> (Vec<Vec<String>>, String) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = dir.path().join("argv.log");
    for name in STUBS {
        // The stub fails, so the `||` branch of each line runs as well.
        argv_stub::argv_stub(&bin, name, 1);
    }
    let out = Command::new("/bin/sh")
        .args(["-c", body])
        .env_clear()
        .env("PATH", &bin)
        .env("ARGV_LOG", &log)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let calls = argv_stub::calls(&log);
    (calls, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The argv each command of a script must receive: code words split at
/// blanks, redirections dropped, `||` ending a command; each value whole.
fn expected_calls(lines: &[Vec<Word>]) -> Vec<Vec<String>> {
    let mut calls = Vec::new();
    for line in lines {
        let mut cur: Vec<String> = Vec::new();
        for word in line {
            match word {
                Word::Code(code) => {
                    for token in code.split_whitespace() {
                        if token == "||" {
                            calls.push(std::mem::take(&mut cur));
                        } else if !token.starts_with('>') && !token.starts_with("2>") {
                            cur.push(token.to_string());
                        }
                    }
                }
                Word::Value(v) => cur.push(v.clone()),
            }
        }
        calls.push(cur);
    }
    calls
}

/// Every script in a Nix value.
fn scripts(v: &Nix, out: &mut Vec<Vec<Vec<Word>>>) {
    match v {
        Nix::Script(lines) => out.push(lines.clone()),
        Nix::List(items) => items.iter().for_each(|i| scripts(i, out)),
        Nix::Attrs(a) => a.values().for_each(|i| scripts(i, out)),
        Nix::Lambda { body, .. } => scripts(body, out),
        Nix::Let { bindings, body } => {
            bindings.iter().for_each(|(_, b)| scripts(b, out));
            scripts(body, out);
        }
        Nix::Call { args, .. } => args.iter().for_each(|i| scripts(i, out)),
        _ => {}
    }
}

/// Asserts that running `lines` calls exactly the commands they name, each
/// value arriving as one argument, unchanged, and nothing else running.
fn assert_inert(lines: &[Vec<Word>]) -> Result<(), TestCaseError> {
    let body = script_text(lines);
    let (calls, stderr) = run_with_stubs(&body);
    prop_assert_eq!(&calls, &expected_calls(lines), "script:\n{}", body);
    prop_assert!(
        stderr.is_empty(),
        "the shell said: {stderr}\nscript:\n{body}"
    );
    Ok(())
}

/// A TOML basic string holding exactly `s`.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Strings biased towards what means something to a shell, a unit file or
/// a URL, mixed with plain names (so some pass the grammar) and any text.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z][a-z0-9_.:-]{0,8}",
        Just("$(touch pwned)".to_string()),
        Just("`id`".to_string()),
        Just(";".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("\0".to_string()),
        Just("${x}".to_string()),
        Just("?ref=x".to_string()),
        Just("#frag".to_string()),
        Just("%h".to_string()),
        Just("|".to_string()),
        Just("&".to_string()),
        Just("*".to_string()),
        Just("\u{1b}[2J".to_string()),
        any::<char>().prop_map(|c| c.to_string()),
    ];
    prop::collection::vec(piece, 1..6).prop_map(|v| v.concat())
}

/// The fields under test: where each one sits in the spec template.
const FIELDS: [&str; 12] = [
    "POOL",
    "REPLICA_POOL",
    "ADDRESS",
    "SCHEDULE",
    "TIMEZONE",
    "ADMIN_USER",
    "KEY_COMMENT",
    "DISK",
    "COMPRESSION",
    "OWNER",
    "TUNNEL_ID",
    "HOST",
];

const TEMPLATE: &str = include_str!("hostile_values.toml");

/// Valid values for every field, so only the one under test varies.
fn default(field: &str) -> &'static str {
    match field {
        "POOL" => "tank",
        "REPLICA_POOL" => "vault",
        "ADDRESS" => "192.168.1.10",
        "SCHEDULE" => "daily",
        "TIMEZONE" => "Europe/Berlin",
        "ADMIN_USER" => "admin",
        "KEY_COMMENT" => "admin@laptop",
        "DISK" => "/dev/disk/by-id/ata-A",
        "COMPRESSION" => "zstd",
        "OWNER" => "vaultwarden",
        "TUNNEL_ID" => "6ff42ae2-765d-4adf-8112-31c55c1551ef",
        "HOST" => "server",
        _ => unreachable!(),
    }
}

/// The spec with `field` set to `value` and every other field valid. The
/// key comment is part of a key string; the host name is a table key.
fn spec_with(field: &str, value: &str) -> String {
    let mut text = TEMPLATE.to_string();
    for f in FIELDS {
        let v = if f == field { value } else { default(f) };
        let placeholder = format!("@{f}@");
        let replacement = if f == "KEY_COMMENT" {
            toml_str_inner(v)
        } else {
            toml_str(v)
        };
        text = text.replace(&placeholder, &replacement);
    }
    text
}

/// A TOML basic string without its two delimiting quotes, for a value that
/// sits inside a longer string (the key comment). Exactly one quote each
/// side: `trim_matches` would also eat the quote of a trailing `\"`.
fn toml_str_inner(value: &str) -> String {
    let quoted = toml_str(value);
    quoted[1..quoted.len() - 1].to_string()
}

/// Everywhere the field's value sits in the spec text (for the diagnostic).
fn value_spans(spec: &str, field: &str, value: &str) -> Vec<std::ops::Range<usize>> {
    let quoted = if field == "KEY_COMMENT" {
        toml_str_inner(value)
    } else {
        toml_str(value)
    };
    spec.match_indices(&quoted)
        .map(|(start, _)| start..start + quoted.len())
        .collect()
}

fn check_field(field: &str, value: &str) -> Result<(), TestCaseError> {
    let spec = spec_with(field, value);
    match compile::compile(&spec) {
        Err(diags) => {
            // Refused: some error points into this field's value.
            let at = value_spans(&spec, field, value);
            let here = diags.iter().filter(|d| d.is_error()).any(|d| {
                d.primary.as_ref().is_some_and(|p| {
                    let s = &p.span;
                    at.iter().any(|a| s.start <= a.end && a.start <= s.end)
                })
            });
            prop_assert!(here, "{field} = {value:?} refused elsewhere: {diags:#?}");
        }
        Ok((fleet, _)) => {
            let files = compile::render::render(&fleet);
            let mut found = Vec::new();
            for f in &files {
                scripts(&f.value, &mut found);
            }
            prop_assert!(!found.is_empty(), "the template has replication scripts");
            for lines in &found {
                assert_inert(lines)?;
            }
            accepted_value_is_safe_in_its_target(field, value)?;
        }
    }
    Ok(())
}

/// For fields that end in a unit file or a URL rather than a script: what
/// the target needs, stated independently of the spec grammar.
fn accepted_value_is_safe_in_its_target(field: &str, value: &str) -> Result<(), TestCaseError> {
    let one_line = !value.chars().any(char::is_control);
    match field {
        // `OnCalendar=` in a unit file: one line, nothing systemd expands.
        "SCHEDULE" => prop_assert!(one_line && !value.contains(['%', '$', '\\', ';', '"', '\''])),
        // An `authorized_keys` line stays one line.
        "KEY_COMMENT" => prop_assert!(one_line),
        // `syncoid@<address>:<dataset>` and deploy-rs's hostname.
        "ADDRESS" => prop_assert!(
            value.parse::<std::net::IpAddr>().is_ok()
                || (one_line && !value.contains(['@', ':', ' ', '/']))
        ),
        "ADMIN_USER" => prop_assert!(one_line && value != "root"),
        _ => prop_assert!(!value.contains('\0')),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn hostile_spec_values_are_refused_or_inert(
        field in prop::sample::select(FIELDS.to_vec()),
        value in hostile(),
    ) {
        check_field(field, &value)?;
    }

    #[test]
    fn plain_names_pass_and_run_inert(
        field in prop::sample::select(vec!["POOL", "REPLICA_POOL"]),
        value in "[a-z][a-z0-9_.:-]{0,12}",
    ) {
        check_field(field, &value)?;
    }

    /// The quoting itself, beyond what the grammar lets through: any value
    /// (but NUL, which no spec string can hold) is one argument.
    #[test]
    fn any_value_in_a_script_is_one_inert_argument(
        values in prop::collection::vec(hostile().prop_filter("no NUL", |v| !v.contains('\0')), 1..4),
    ) {
        use compile::nix::shell::{code, line, value};
        let lines: Vec<Vec<Word>> = values
            .iter()
            .map(|v| line([code("zfs"), code("list"), code("-H"), value(v.as_str()), code(">/dev/null 2>&1 ||"), code("zfs"), code("create"), value(v.as_str())]))
            .collect();
        assert_inert(&lines)?;
    }
}

#[test]
fn the_pool_name_payload_is_refused_and_would_stay_inert() {
    let payload = "tank$(touch /tmp/pwned)";
    let spec = spec_with("POOL", payload);
    let diags = compile::compile(&spec).expect_err("refused");
    assert!(
        diags
            .iter()
            .any(|d| d.code == "invalid-value" && d.message.contains("ZFS pool name"))
    );
    use compile::nix::shell::{code, line, value};
    let lines = vec![line([code("zfs"), code("allow"), value(payload)])];
    let (calls, stderr) = run_with_stubs(&script_text(&lines));
    assert_eq!(
        calls,
        vec![vec!["zfs".to_string(), "allow".into(), payload.into()]]
    );
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn the_stub_harness_sees_an_injected_command() {
    // The harness must be able to fail: text spliced into a script (as the
    // renderer once did) runs the payload, and the check catches it.
    let spliced = "zfs allow tank$(touch pwned)\n";
    let (calls, _) = run_with_stubs(spliced);
    assert_ne!(
        calls,
        vec![vec![
            "zfs".to_string(),
            "allow".into(),
            "tank$(touch pwned)".into()
        ]]
    );
    assert!(calls.iter().any(|c| c[0] == "touch"), "{calls:?}");
}

#[test]
fn the_template_compiles_and_its_scripts_run_inert() {
    let (fleet, _) = compile::compile(&spec_with("", "")).expect("the template is valid");
    let mut found = Vec::new();
    for f in &compile::render::render(&fleet) {
        scripts(&f.value, &mut found);
    }
    assert_eq!(
        found.len(),
        2,
        "one script on the source, one on the replica"
    );
    for lines in &found {
        assert_inert(lines).unwrap();
    }
}

/// A key comment that is a lone quote or ends in a backslash: the values
/// that once made the harness itself write broken TOML.
#[test]
fn key_comments_with_quotes_and_backslashes() {
    for value in ["\"", "a\\", "\\\"", "\"'"] {
        check_field("KEY_COMMENT", value).unwrap();
    }
}
