//! `homelab secrets rekey`: re-encrypt the files whose recipients differ
//! from the spec's; every other file keeps its bytes.

use super::Context;
use crate::print::fail;
use operate::secrets::{State, Store, age_file, status};
use std::process::ExitCode;

pub fn run(cx: &Context) -> ExitCode {
    match rekey(cx) {
        Ok(0) => {
            println!("every secret file is encrypted to its recipients; nothing to rekey");
            ExitCode::SUCCESS
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// Re-encrypts every stale file, a line each; how many, or the exit
/// status of a failure (already printed).
pub fn rekey(cx: &Context) -> Result<usize, ExitCode> {
    let mut stale = Vec::new();
    for w in &cx.wanted {
        match status::status(&cx.store, w) {
            Ok(s) if matches!(s.state, State::Stale { .. }) => stale.push(w),
            Ok(_) => {}
            Err(e) => return Err(fail(e)),
        }
    }
    if stale.is_empty() {
        return Ok(0);
    }
    let identity = match cx.identity() {
        Ok(id) => id,
        Err(e) => return Err(fail(e)),
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
        return Err(ExitCode::from(1));
    }
    Ok(stale.len())
}
