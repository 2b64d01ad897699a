//! `homelab completions SHELL` and `homelab man`: made from the command
//! line's own definition (`cli.rs`), so they never disagree with `--help`.

use crate::cli::Cli;
use clap::CommandFactory;
use std::process::ExitCode;

pub fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "homelab", &mut std::io::stdout());
    ExitCode::SUCCESS
}

pub fn man() -> ExitCode {
    let page = clap_mangen::Man::new(Cli::command());
    match page.render(&mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => crate::print::fail(format_args!("cannot write the manual page: {e}")),
    }
}
