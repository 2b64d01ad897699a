//! The `homelab` command line. Exit codes: 0 success, 1 the spec has
//! errors (or the command found a problem), 2 the command could not run;
//! `plan --exit-code` adds 3, the spec changes something.

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
        Command::Plan {
            input,
            against,
            diff,
            json,
            exit_code,
        } => match load(&input) {
            Ok(src) => commands::plan::run(
                &src,
                &commands::plan::Options {
                    against,
                    diff,
                    json,
                    exit_code,
                },
            ),
            Err(code) => code,
        },
        Command::Report { input, out, force } => match load(&input) {
            Ok(src) => commands::report::run(&src, &out, force),
            Err(code) => code,
        },
        Command::Status {
            input,
            hosts,
            json,
            watch,
            reach,
        } => match load(&input) {
            Ok(src) => commands::status::run(&src, &hosts, json, watch, &reach),
            Err(code) => code,
        },
        Command::Verify(cli::VerifyCommand::Exposure {
            input,
            from,
            via,
            json,
        }) => match load(&input) {
            Ok(src) => commands::verify::exposure(&src, &from, via.as_deref(), json),
            Err(code) => code,
        },
        Command::Deploy {
            hosts,
            spec,
            parallel,
            dry_run,
            boot,
            all_or_nothing,
            json,
            log,
            reach,
        } => {
            if log {
                return commands::deploy::history(json);
            }
            let input = cli::Input {
                spec,
                example: None,
            };
            match load(&input) {
                Ok(src) => commands::deploy::run(
                    &src,
                    &commands::deploy::Options {
                        flake: String::new(),
                        hosts,
                        parallel: parallel.map(usize::from),
                        dry_run,
                        boot,
                        all_or_nothing,
                        json,
                        reach,
                    },
                ),
                Err(code) => code,
            }
        }
        Command::Upgrade { host, json } => commands::upgrade::run(&host, json),
        Command::Recover {
            host_name,
            target,
            target_port,
            from,
            plan_only,
            json,
            host,
            place,
            ssh_config,
        } => commands::recover::run(&commands::recover::Options {
            host_name,
            target,
            target_port,
            from,
            plan_only,
            json,
            host,
            place,
            ssh_config,
        }),
        Command::Install {
            host,
            target,
            target_port,
            place,
            dry_run,
            force,
            ssh_config,
            wait,
        } => commands::install::run(&commands::install::Options {
            host,
            target,
            port: target_port,
            place,
            dry_run,
            force,
            ssh_config,
            wait: std::time::Duration::from_secs(wait),
        }),
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
