//! `homelab secrets …`: the agenix files next to the flake. This module
//! finds the spec, fleet, store and identity the way `build` does and
//! hands each subcommand to its own file; the work is in
//! `operate::secrets`.

mod add_host;
mod check;
mod list;
mod rekey;
mod value;

use crate::cli::{Format, Input, SecretsCommand, SecretsPlace};
use crate::print::{self, fail};
use crate::source::{default_flake, load};
use compile::fleet::Fleet;
use operate::secrets::{Error, Identity, Store, Wanted, identity, wanted};
use std::path::PathBuf;
use std::process::ExitCode;

/// What every subcommand works on.
pub struct Context {
    pub spec: PathBuf,
    pub fleet: Fleet,
    pub store: Store,
    pub wanted: Vec<Wanted>,
    identity_flag: Option<PathBuf>,
}

impl Context {
    /// The admin identity, loaded when a subcommand first needs it.
    pub fn identity(&self) -> Result<Identity, Error> {
        identity::load(&identity::locate(self.identity_flag.as_deref())?)
    }

    pub fn find(&self, name: &str) -> Result<&Wanted, Error> {
        wanted::find(&self.wanted, name)
    }
}

fn context(place: &SecretsPlace) -> Result<Context, ExitCode> {
    let input = Input {
        spec: place.spec.clone(),
        example: None,
    };
    let src = load(&input)?;
    let fleet = match compile::compile(&src.text) {
        Ok((fleet, _warnings)) => fleet,
        Err(diags) => {
            print::diagnostics(&src, &diags, Format::Human);
            eprintln!("error: fix the spec first: the secrets follow from it");
            return Err(ExitCode::from(1));
        }
    };
    let flake = place
        .flake
        .clone()
        .or_else(|| default_flake(&src))
        .unwrap_or_else(|| PathBuf::from("flake"));
    let store = Store::of_flake(&flake);
    let mut all = wanted::wanted(&fleet);
    all.extend(wanted::host_keys(&fleet, &store));
    Ok(Context {
        spec: place.spec.clone(),
        wanted: all,
        store,
        fleet,
        identity_flag: place.identity.clone(),
    })
}

pub fn run(place: &SecretsPlace, command: SecretsCommand) -> ExitCode {
    let cx = match context(place) {
        Ok(cx) => cx,
        Err(code) => return code,
    };
    let done = match command {
        SecretsCommand::List { json } => return list::run(&cx, json),
        SecretsCommand::Check { json } => return check::run(&cx, json),
        SecretsCommand::Set { name } => value::set(&cx, &name),
        SecretsCommand::Edit { name } => value::edit(&cx, &name),
        SecretsCommand::Show { name } => value::show(&cx, &name),
        SecretsCommand::Generate { names, regenerate } => value::generate(&cx, &names, &regenerate),
        SecretsCommand::Rekey => return rekey::run(&cx),
        SecretsCommand::AddHost {
            host,
            key,
            scan,
            port,
            generate,
        } => add_host::run(&cx, &host, key.as_deref(), scan, port, generate),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
