//! `homelab secrets …`: the agenix files next to the flake. This module
//! finds the spec, fleet, store and identity the way `build` does, refuses
//! before anything is made a write the store or the spec would refuse (a
//! symlinked flake or secrets folder, a `.age` path that is a link or a
//! FIFO, a symlinked spec), and hands each subcommand to its own file; the
//! work is in `operate::secrets`.

pub(crate) mod add_host;
mod check;
mod list;
pub(crate) mod rekey;
mod value;

use crate::cli::{Format, Input, SecretsCommand, SecretsPlace};
use crate::print::{self, fail};
use crate::source::{default_flake, load};
use compile::catalog::Generator;
use compile::fleet::Fleet;
use operate::secrets::{Error, Identity, Store, Wanted, host_key, identity, spec_edit, wanted};
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

    /// Refuses what `command` would write and the store or the spec edit
    /// would not write through or over, before anything is made, asked
    /// for or written: an editor session, a new host key or a rekey never
    /// ends in a refusal half way.
    fn check_writable(&self, command: &SecretsCommand) -> Result<(), Error> {
        let (names, spec): (Vec<&str>, bool) = match command {
            // An unknown name is the command's own error to give.
            SecretsCommand::Set { name } | SecretsCommand::Edit { name } => match self.find(name) {
                Ok(_) => (vec![name.as_str()], false),
                Err(_) => return Ok(()),
            },
            SecretsCommand::Generate { names, regenerate } => {
                let asked: Vec<&Wanted> = self
                    .wanted
                    .iter()
                    .filter(|w| {
                        let Some(g) = &w.generator else {
                            return false;
                        };
                        (names.is_empty() && regenerate.is_empty())
                            || names.contains(&w.name)
                            || regenerate.contains(&w.name)
                            || g.source()
                                .is_some_and(|from| regenerate.iter().any(|r| r == from))
                    })
                    .collect();
                let spec = asked.iter().any(|w| {
                    matches!(
                        w.generator,
                        Some(Generator::SshKey {
                            public_key: Some(_)
                        })
                    )
                });
                (asked.iter().map(|w| w.name.as_str()).collect(), spec)
            }
            SecretsCommand::Rekey => (self.wanted.iter().map(|w| w.name.as_str()).collect(), false),
            SecretsCommand::AddHost { host, generate, .. } => {
                // An unknown host is the command's own error to give.
                if *generate && self.fleet.hosts.iter().any(|h| h.name() == host) {
                    self.store.check_writable(&host_key::key_name(host))?;
                }
                (Vec::new(), true)
            }
            SecretsCommand::List { .. }
            | SecretsCommand::Check { .. }
            | SecretsCommand::Show { .. } => {
                return Ok(());
            }
        };
        for name in names {
            self.store.check_writable(name)?;
        }
        if spec {
            spec_edit::check_writable(&self.spec)?;
        }
        Ok(())
    }
}

pub(crate) fn context(place: &SecretsPlace) -> Result<Context, ExitCode> {
    let input = Input {
        spec: place.spec.clone(),
        example: None,
    };
    let src = load(&input)?;
    let fleet = match src.compile_to_write() {
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
    if let Err(e) = cx.check_writable(&command) {
        return fail(e);
    }
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
