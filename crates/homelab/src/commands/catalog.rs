//! `homelab catalog [NAME]`: the built-in catalog, or one entry.

use crate::print::{self, fail};
use compile::show::entries as catalog;
use std::process::ExitCode;

pub fn run(name: Option<&str>, json: bool) -> ExitCode {
    let Some(name) = name else {
        let table = catalog::list();
        if json {
            print::json(&table.json());
        } else {
            print!("{}", table.text());
        }
        return ExitCode::SUCCESS;
    };
    let shown = if json {
        catalog::entry_json(name).map(|j| print::json(&j))
    } else {
        catalog::entry_text(name).map(|t| print!("{t}"))
    };
    match shown {
        Some(()) => ExitCode::SUCCESS,
        None => {
            let names: Vec<&str> = compile::catalog::catalog()
                .keys()
                .map(String::as_str)
                .collect();
            let close = compile::spec::suggest(name, &names);
            fail(format_args!(
                "the catalog has no entry `{name}`{}; `homelab catalog` lists them",
                close
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default()
            ))
        }
    }
}
