//! `homelab secrets rekey`: re-encrypt the files whose recipients differ
//! from the spec's; every other file keeps its bytes.

use super::Context;
use crate::print::fail;
use operate::secrets::{State, Store, age_file, status};
use std::process::ExitCode;

pub fn run(cx: &Context) -> ExitCode {
    let mut stale = Vec::new();
    for w in &cx.wanted {
        match status::status(&cx.store, w) {
            Ok(s) if matches!(s.state, State::Stale { .. }) => stale.push(w),
            Ok(_) => {}
            Err(e) => return fail(e),
        }
    }
    if stale.is_empty() {
        println!("every secret file is encrypted to its recipients; nothing to rekey");
        return ExitCode::SUCCESS;
    }
    let identity = match cx.identity() {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    let mut failed = 0;
    for (n, w) in stale.iter().enumerate() {
        let file = Store::shown(&w.name);
        let done = cx
            .store
            .read(&w.name)
            .and_then(|b| age_file::decrypt(&file, &b.unwrap_or_default(), &identity))
            .and_then(|value| age_file::encrypt(&w.name, &w.keys(), &value))
            .and_then(|c| cx.store.write(&w.name, &c));
        match done {
            Ok(()) => {
                let who: Vec<&str> = w.readers.iter().map(|r| r.who.as_str()).collect();
                println!(
                    "[{}/{}] rekeyed {file} to {}",
                    n + 1,
                    stale.len(),
                    who.join(", ")
                );
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} file(s) could not be rekeyed; the others were");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
