//! Where operating commands run real tools: on this machine or on a host
//! over SSH, behind one small trait so the same backup, secret or deploy
//! code drives either, and tests drive a real local sshd.
//!
//! A command is a program and its arguments, never a shell line: over SSH
//! each argument is quoted once, here, so a value from a plan can never
//! become a second command on the remote side.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

/// A program to run, its arguments, extra environment and standard input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cmd {
    pub(crate) program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Option<Vec<u8>>,
}

impl Cmd {
    /// `program` run as root: itself for root, through `sudo -n` (which
    /// never asks for a password) for any other user.
    pub fn as_root(root: bool, program: &str) -> Cmd {
        if root {
            Cmd::new(program)
        } else {
            Cmd::new("sudo").args(["-n", program])
        }
    }

    pub fn new(program: impl Into<String>) -> Cmd {
        Cmd {
            program: program.into(),
            ..Cmd::default()
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Cmd {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(bytes.into());
        self
    }

    /// The command as one POSIX shell line: every word single-quoted, the
    /// environment as `env K=V` words in front.
    pub fn shell_line(&self) -> String {
        let mut words = Vec::new();
        if !self.env.is_empty() {
            words.push("env".to_string());
            words.extend(
                self.env
                    .iter()
                    .map(|(k, v)| shell_quote(&format!("{k}={v}"))),
            );
        }
        words.push(shell_quote(&self.program));
        words.extend(self.args.iter().map(|a| shell_quote(a)));
        words.join(" ")
    }
}

/// Quotes one word for a POSIX shell: it comes out as exactly one inert
/// argument whatever it holds.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Something that runs commands: this machine, or a host over SSH.
pub trait Runner {
    /// A name for messages: `local` or `root@nas`.
    fn name(&self) -> String;
    /// Runs `cmd` to completion and returns what it printed and its status.
    fn run(&self, cmd: &Cmd) -> io::Result<Output>;
    /// Starts `cmd` with stdout and stderr piped, for output too large to
    /// hold in memory (a restic tar stream). Its input, if any, is ignored.
    fn spawn(&self, cmd: &Cmd) -> io::Result<Child> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{} cannot stream the output of {}",
                self.name(),
                cmd.program
            ),
        ))
    }
}

/// Runs commands on this machine.
#[derive(Debug, Clone, Default)]
pub struct Local;

impl Runner for Local {
    fn name(&self) -> String {
        "local".into()
    }

    fn run(&self, cmd: &Cmd) -> io::Result<Output> {
        let mut command = Command::new(&cmd.program);
        command.args(&cmd.args).envs(cmd.env.iter().cloned());
        spawn_with_input(command, cmd.stdin.as_deref())
    }

    fn spawn(&self, cmd: &Cmd) -> io::Result<Child> {
        let mut command = Command::new(&cmd.program);
        command.args(&cmd.args).envs(cmd.env.iter().cloned());
        spawn_piped(command)
    }
}

/// Runs commands on a host through the system `ssh`, non-interactively.
#[derive(Debug, Clone)]
pub struct Ssh {
    /// `user@host` or `host`.
    pub destination: String,
    pub port: Option<u16>,
    pub identity: Option<PathBuf>,
    /// A known_hosts file to use instead of the user's.
    pub known_hosts: Option<PathBuf>,
    /// Extra `-o` options, such as `ConnectTimeout=5`.
    pub options: Vec<String>,
    /// An ssh configuration file to read instead of the user's (`-F`).
    pub config: Option<PathBuf>,
}

impl Ssh {
    pub fn new(destination: impl Into<String>) -> Ssh {
        Ssh {
            destination: destination.into(),
            port: None,
            identity: None,
            known_hosts: None,
            options: Vec::new(),
            config: None,
        }
    }

    /// The `ssh` arguments before the remote command.
    pub fn ssh_args(&self) -> Vec<OsString> {
        // BatchMode: never stop at a password or host-key prompt;
        // ControlMaster off: multiplexed connections hide a host that went
        // away, which a health gate must see.
        let mut args: Vec<OsString> = ["-o", "BatchMode=yes", "-o", "ControlMaster=no"]
            .iter()
            .map(OsString::from)
            .collect();
        if let Some(config) = &self.config {
            args.extend(["-F".into(), config.clone().into_os_string()]);
        }
        if let Some(port) = self.port {
            args.extend(["-p".into(), port.to_string().into()]);
        }
        if let Some(identity) = &self.identity {
            args.extend(["-i".into(), identity.clone().into_os_string()]);
            args.extend(["-o".into(), "IdentitiesOnly=yes".into()]);
        }
        if let Some(known) = &self.known_hosts {
            let mut opt = OsString::from("UserKnownHostsFile=");
            opt.push(known);
            args.extend(["-o".into(), opt]);
        }
        for o in &self.options {
            args.extend(["-o".into(), o.into()]);
        }
        args.push("--".into());
        args.push(self.destination.clone().into());
        args
    }
}

impl Runner for Ssh {
    fn name(&self) -> String {
        self.destination.clone()
    }

    fn run(&self, cmd: &Cmd) -> io::Result<Output> {
        let mut command = Command::new("ssh");
        command.args(self.ssh_args()).arg(cmd.shell_line());
        spawn_with_input(command, cmd.stdin.as_deref())
    }

    fn spawn(&self, cmd: &Cmd) -> io::Result<Child> {
        let mut command = Command::new("ssh");
        command.args(self.ssh_args()).arg(cmd.shell_line());
        spawn_piped(command)
    }
}

/// Runs `cmd` on this machine with the terminal's own output: for a long
/// tool whose progress the user watches (nixos-anywhere).
pub fn run_in_view(cmd: &Cmd) -> io::Result<std::process::ExitStatus> {
    Command::new(&cmd.program)
        .args(&cmd.args)
        .envs(cmd.env.iter().cloned())
        .stdin(Stdio::null())
        .status()
}

fn spawn_piped(mut command: Command) -> io::Result<Child> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
}

fn spawn_with_input(mut command: Command, stdin: Option<&[u8]>) -> io::Result<Output> {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    if let Some(bytes) = stdin {
        // Written on a thread: a child that fills its output pipe before
        // reading all its input would otherwise deadlock with us.
        let mut pipe = child.stdin.take().expect("stdin is piped");
        let bytes = bytes.to_vec();
        let writer = std::thread::spawn(move || pipe.write_all(&bytes));
        let output = child.wait_with_output()?;
        match writer.join() {
            Ok(Ok(())) => {}
            // The child may exit without reading everything; its status says why.
            Ok(Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(io::Error::other("stdin writer panicked")),
        }
        return Ok(output);
    }
    child.wait_with_output()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_keeps_every_word_one_inert_argument() {
        for word in [
            "",
            "a b",
            "$(touch x)",
            "it's",
            "`x`",
            "a\nb",
            "*",
            "~",
            ";",
        ] {
            let line = Cmd::new("printf").args(["%s\\0", word]).shell_line();
            let out = Command::new("sh").arg("-c").arg(&line).output().unwrap();
            assert_eq!(out.stdout, format!("{word}\0").into_bytes(), "{line}");
        }
    }

    #[test]
    fn plain_words_stay_readable() {
        assert_eq!(shell_quote("tank/services"), "tank/services");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(
            Cmd::new("restic")
                .env("A", "x y")
                .arg("snapshots")
                .shell_line(),
            "env 'A=x y' restic snapshots"
        );
    }

    #[test]
    fn local_runner_passes_input_env_and_status() {
        let out = Local
            .run(
                &Cmd::new("sh")
                    .args(["-c", "cat; echo \"$V\"; exit 3"])
                    .env("V", "v")
                    .stdin("in\n"),
            )
            .unwrap();
        assert_eq!(out.stdout, b"in\nv\n");
        assert_eq!(out.status.code(), Some(3));
    }
}
