//! The spec as a git commit has it (`homelab plan --against REF`): the
//! real `git`, run in the spec's folder, reads the file at that commit by
//! its path from the repository's root.

use crate::runner::{Cmd, Runner};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git: {0}")]
    Run(#[source] std::io::Error),
    #[error("{} is not in a git repository", .0.display())]
    NotARepository(PathBuf),
    #[error("the git repository of {} has no commit `{rev}`", .file.display())]
    NoCommit { rev: String, file: PathBuf },
    #[error("`{path}` does not exist at `{rev}`")]
    NoFile { rev: String, path: String },
    #[error("git {what}: {message}")]
    Failed { what: String, message: String },
}

/// A file as a commit has it.
#[derive(Debug, PartialEq, Eq)]
pub struct AtCommit {
    pub text: String,
    /// Its path from the repository's root, as git names it.
    pub path: String,
}

/// The text of `file` at commit `rev` of the repository that holds it.
pub fn file_at(runner: &dyn Runner, file: &Path, rev: &str) -> Result<AtCommit, GitError> {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let git = |args: &[&str]| {
        let cmd = Cmd::new("git")
            .arg("-C")
            .arg(dir.to_string_lossy())
            .args(args.iter().copied())
            .env("LC_ALL", "C");
        runner.run(&cmd).map_err(GitError::Run)
    };
    let first_line = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };

    let prefix = git(&["rev-parse", "--show-prefix"])?;
    if !prefix.status.success() {
        let message = first_line(&prefix.stderr);
        if message.contains("not a git repository") {
            return Err(GitError::NotARepository(file.to_path_buf()));
        }
        return Err(GitError::Failed {
            what: "rev-parse".into(),
            message,
        });
    }
    let path = format!(
        "{}{name}",
        String::from_utf8_lossy(&prefix.stdout).trim_end()
    );

    // A revision is never taken for an option.
    let no_commit = || GitError::NoCommit {
        rev: rev.to_string(),
        file: file.to_path_buf(),
    };
    if rev.is_empty() || rev.starts_with('-') {
        return Err(no_commit());
    }
    let commit = git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{rev}^{{commit}}"),
    ])?;
    if !commit.status.success() {
        return Err(no_commit());
    }
    let commit = String::from_utf8_lossy(&commit.stdout).trim().to_string();

    let shown = git(&["show", &format!("{commit}:{path}")])?;
    if !shown.status.success() {
        return Err(GitError::NoFile {
            rev: rev.to_string(),
            path,
        });
    }
    let text = String::from_utf8(shown.stdout).map_err(|_| GitError::Failed {
        what: "show".into(),
        message: format!("`{path}` at `{rev}` is not UTF-8 text"),
    })?;
    Ok(AtCommit { text, path })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Local;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .status()
            .expect("git runs")
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn reads_a_file_of_a_subfolder_at_a_commit() {
        let repo = tempfile::tempdir().unwrap();
        let sub = repo.path().join("lab");
        std::fs::create_dir(&sub).unwrap();
        git(repo.path(), &["init", "-q"]);
        std::fs::write(sub.join("homelab.toml"), "first\n").unwrap();
        git(repo.path(), &["add", "-A"]);
        git(repo.path(), &["commit", "-q", "-m", "first"]);
        std::fs::write(sub.join("homelab.toml"), "second\n").unwrap();
        git(repo.path(), &["commit", "-q", "-am", "second"]);

        let spec = sub.join("homelab.toml");
        let at = |rev: &str| file_at(&Local, &spec, rev);
        assert_eq!(
            at("HEAD~1").unwrap(),
            AtCommit {
                text: "first\n".into(),
                path: "lab/homelab.toml".into()
            }
        );
        assert_eq!(at("HEAD").unwrap().text, "second\n");
        assert!(matches!(at("nope"), Err(GitError::NoCommit { .. })));
        assert!(matches!(
            at("--output=/tmp/x"),
            Err(GitError::NoCommit { .. })
        ));
        let other = sub.join("other.toml");
        assert_eq!(
            file_at(&Local, &other, "HEAD").unwrap_err().to_string(),
            "`lab/other.toml` does not exist at `HEAD`"
        );
    }

    #[test]
    fn outside_a_repository_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("homelab.toml");
        let err = file_at(&Local, &spec, "HEAD").unwrap_err();
        assert!(matches!(err, GitError::NotARepository(_)), "{err}");
    }
}
