//! The subcommands that handle one value: `set`, `edit`, `show`, and
//! `generate` for the machine-made ones. Values go from stdin, the
//! terminal or the editor straight into age; none is printed except by
//! `show`, which is asked to.

use super::Context;
use operate::runner::Local;
use operate::secrets::edit::{Outcome, edit_value};
use operate::secrets::generate::{Request, generate as make};
use operate::secrets::{Error, Plaintext, Store, age_file, prompt, spec_edit};
use std::io::{IsTerminal, Read, Write};
use zeroize::Zeroizing;

/// Refuses a value with nothing in it: a service would start with an
/// empty password or fail on an empty file.
fn non_empty(name: &str, value: &[u8]) -> Result<(), Error> {
    if value.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::Refused(format!(
            "refusing an empty value for `{name}`; nothing was written"
        )));
    }
    Ok(())
}

fn encrypt_and_write(cx: &Context, name: &str, value: &[u8]) -> Result<(), Error> {
    let w = cx.find(name)?;
    non_empty(name, value)?;
    let ciphertext = age_file::encrypt(name, &w.keys(), value)?;
    cx.store.write(name, &ciphertext)?;
    let who: Vec<&str> = w.readers.iter().map(|r| r.who.as_str()).collect();
    println!("wrote {} for {}", Store::shown(name), who.join(", "));
    Ok(())
}

/// The value from standard input, or asked twice on the terminal.
fn read_value(name: &str) -> Result<Plaintext, Error> {
    if !std::io::stdin().is_terminal() {
        let mut value = Zeroizing::new(Vec::new());
        std::io::stdin()
            .read_to_end(&mut value)
            .map_err(|e| Error::Refused(format!("cannot read standard input: {e}")))?;
        return Ok(value);
    }
    let first = Zeroizing::new(
        prompt::hidden(&format!("value of {name}: "))
            .ok_or_else(|| Error::Refused("cannot read from the terminal".into()))?,
    );
    let again = Zeroizing::new(prompt::hidden("again: ").unwrap_or_default());
    if *first != *again {
        return Err(Error::Refused(
            "the two values differ; nothing was written".into(),
        ));
    }
    Ok(Zeroizing::new(first.as_bytes().to_vec()))
}

pub fn set(cx: &Context, name: &str) -> Result<(), Error> {
    cx.find(name)?;
    let value = read_value(name)?;
    encrypt_and_write(cx, name, &value)
}

/// The current value, or `None` when the secret has no file yet.
fn current(cx: &Context, name: &str) -> Result<Option<Plaintext>, Error> {
    let Some(bytes) = cx.store.read(name)? else {
        return Ok(None);
    };
    age_file::decrypt(&Store::shown(name), &bytes, &cx.identity()?).map(Some)
}

pub fn edit(cx: &Context, name: &str) -> Result<(), Error> {
    cx.find(name)?;
    let before = current(cx, name)?.unwrap_or_default();
    let editor = std::env::var("EDITOR")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".into());
    match edit_value(name, &before, &editor)? {
        Outcome::Unchanged => {
            println!("{} unchanged", Store::shown(name));
            Ok(())
        }
        Outcome::Changed(value) => encrypt_and_write(cx, name, &value),
    }
}

pub fn show(cx: &Context, name: &str) -> Result<(), Error> {
    cx.find(name)?;
    let value = current(cx, name)?.ok_or_else(|| {
        Error::Refused(format!(
            "{} does not exist yet; create it with `homelab secrets set {name}`",
            Store::shown(name)
        ))
    })?;
    let mut out = std::io::stdout().lock();
    out.write_all(&value)
        .and_then(|()| out.flush())
        .map_err(|e| Error::Refused(format!("cannot write standard output: {e}")))
}

pub fn generate(cx: &Context, names: &[String], regenerate: &[String]) -> Result<(), Error> {
    let request = Request { names, regenerate };
    let made = make(&cx.store, &cx.wanted, &request, || cx.identity(), &Local)?;
    for m in &made {
        println!("generated {}", Store::shown(&m.name));
        if let Some((key, public)) = &m.public_key {
            spec_edit::set_string(&cx.spec, key, public)?;
            println!("  its public key is now `{key}` in {}", cx.spec.display());
        }
    }
    let by_hand: Vec<&str> = cx
        .wanted
        .iter()
        .filter(|w| w.generator.is_none() && cx.store.read(&w.name).ok().flatten().is_none())
        .map(|w| w.name.as_str())
        .collect();
    if made.is_empty() {
        println!("every machine-made secret exists; nothing generated");
    }
    if made.iter().any(|m| m.public_key.is_some()) {
        println!("the spec changed: run `homelab build` to write it into the flake");
    }
    if !by_hand.is_empty() {
        println!(
            "still to set by hand (`homelab secrets set NAME`): {}",
            by_hand.join(", ")
        );
    }
    Ok(())
}
