//! `homelab secrets check`: one message per problem, each kind with its
//! own code, exit status 1 when any is found.

use super::Context;
use crate::print::fail;
use operate::secrets::{Error, State, Store, status};
use std::process::ExitCode;

/// One problem with one secret file.
struct Problem {
    kind: &'static str,
    name: String,
    message: String,
    help: String,
}

pub fn run(cx: &Context, json: bool) -> ExitCode {
    let identity = match cx.identity() {
        Ok(id) => id,
        Err(e) => {
            return fail(format_args!(
                "{e}\n(checking that the files decrypt needs the admin identity)"
            ));
        }
    };
    let mut problems = Vec::new();
    for w in &cx.wanted {
        let s = match status::status(&cx.store, w) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let file = Store::shown(&w.name);
        let name = w.name.clone();
        match &s.state {
            State::Missing => problems.push(Problem {
                kind: "missing",
                message: format!("{file} is missing ({})", w.description),
                help: if w.generator.is_some() {
                    format!("run `homelab secrets generate {name}`")
                } else {
                    format!("run `homelab secrets set {name}`")
                },
                name,
            }),
            State::Plaintext => problems.push(Problem {
                kind: "plaintext",
                message: format!("{file} is not age-encrypted: it may hold the secret in the clear"),
                help: format!("delete it (and rotate the value if it was real), then `homelab secrets set {name}`"),
                name,
            }),
            State::Stale { missing, extra } => {
                let mut what = Vec::new();
                if !missing.is_empty() {
                    what.push(format!("not encrypted to {}", missing.join(" and ")));
                }
                if *extra > 0 {
                    what.push(format!("encrypted to {extra} key(s) the spec does not list"));
                }
                problems.push(Problem {
                    kind: "stale-recipients",
                    message: format!("{file} is {}", what.join(", and ")),
                    help: "run `homelab secrets rekey`".into(),
                    name: name.clone(),
                });
            }
            State::Ok => {}
        }
        if matches!(s.state, State::Ok | State::Stale { .. }) {
            match status::decryptable(&cx.store, &w.name, &identity) {
                Ok(()) => {}
                Err(e @ (Error::WrongIdentity { .. } | Error::Corrupt { .. })) => {
                    let again = if w.generator.is_some() {
                        format!("homelab secrets generate --regenerate {}", w.name)
                    } else {
                        format!("homelab secrets set {}", w.name)
                    };
                    let help = match status::example_recipient(&cx.store, &w.name) {
                        Ok(Some(from)) => format!(
                            "it was encrypted to {from}, which the spec held when it was made, and nobody holds its private half: with your own key in `admin_keys` (`cat ~/.ssh/id_ed25519.pub`), make it again with `{again}`"
                        ),
                        _ => format!("if the admin key changed, re-create it with `{again}`"),
                    };
                    problems.push(Problem {
                        kind: "undecryptable",
                        message: e.to_string(),
                        help,
                        name: w.name.clone(),
                    })
                }
                Err(e) => return fail(e),
            }
        }
    }
    for w in cx.wanted.iter().filter(|w| !w.hosts_without_key.is_empty()) {
        problems.push(Problem {
            kind: "host-without-key",
            message: format!(
                "{} cannot be decrypted on host {}: it has no `host_key` in the spec",
                Store::shown(&w.name),
                w.hosts_without_key.join(", ")
            ),
            help: format!(
                "run `homelab secrets add-host {} --scan` (or --key FILE, or --generate before installing), then `homelab secrets rekey`",
                w.hosts_without_key[0]
            ),
            name: w.name.clone(),
        });
    }
    report(cx, &problems, json)
}

fn report(cx: &Context, problems: &[Problem], json: bool) -> ExitCode {
    if json {
        let out: Vec<serde_json::Value> = problems
            .iter()
            .map(|p| serde_json::json!({"kind": p.kind, "secret": p.name, "message": p.message, "help": p.help}))
            .collect();
        crate::print::json(&out);
    } else {
        for p in problems {
            eprintln!("error[{}]: {}", p.kind, p.message);
            eprintln!("  help: {}", p.help);
        }
        if problems.is_empty() {
            println!(
                "{}: ok — {} secret(s), every one present, encrypted to its recipients and decryptable",
                cx.store.dir.display(),
                cx.wanted.len()
            );
        } else {
            eprintln!(
                "{} problem(s) in {}",
                problems.len(),
                cx.store.dir.display()
            );
        }
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
