//! The `homelab` command line. Exit codes: 0 success, 1 the spec has
//! errors (or the command found a problem), 2 the command could not run.

mod cli;
mod commands;
mod print;
mod source;

use clap::Parser;
use cli::{Cli, Command};
use source::load;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A closed pipe (`homelab show ports | head`) ends the program quietly,
    // as it does any command-line tool, instead of a panic on print.
    // SAFETY: setting a signal's disposition to its default, before any
    // thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Init { dir, admin_key } => commands::init::run(&dir, admin_key.as_deref()),
        Command::Check { input, display } => match load(&input) {
            Ok(src) => commands::check::run(&src, display.format),
            Err(code) => code,
        },
        Command::Build {
            input,
            out,
            force,
            homelab_flake,
            display,
        } => match load(&input) {
            Ok(src) => {
                commands::build::run(&src, out, force, homelab_flake.as_deref(), display.format)
            }
            Err(code) => code,
        },
        Command::Show { table, input, json } => match load(&input) {
            Ok(src) => commands::show::run(&src, &table, json),
            Err(code) => code,
        },
        Command::Report { input, out, force } => match load(&input) {
            Ok(src) => commands::report::run(&src, &out, force),
            Err(code) => code,
        },
        Command::Backup(command) => commands::backup::run(command),
        Command::Restore {
            service,
            snapshot,
            at,
            from,
            host,
            json,
        } => commands::restore::run(&service, snapshot, at, from, &host, json),
        Command::Secrets { place, command } => commands::secrets::run(&place, command),
        Command::Catalog { name, json } => commands::catalog::run(name.as_deref(), json),
        Command::Completions { shell } => commands::help::completions(shell),
        Command::Man => commands::help::man(),
    }
}
