//! The drill's scratch space: `<scratch_dir>/<service>-<pid>/`, with
//! `files/` (the restored snapshot, root's alone) beside `postgres/` (the
//! throwaway server's data, its user's alone). The folders above both may
//! be passed through by anyone (mode 0711) and listed by nobody, so the
//! database user reaches its own folder and nothing else; the state folder
//! (database dumps, records) stays private to root. Removed when dropped.

use super::{Context, Result, io};
use compile::plan::ServicePlan;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub(crate) struct Scratch {
    root: PathBuf,
    /// Where the snapshot is restored.
    pub files: PathBuf,
}

impl Scratch {
    /// Makes a fresh scratch folder for one drill of `service`.
    pub fn make(ctx: &Context, service: &ServicePlan) -> Result<Scratch> {
        let base = ctx.host_path(&ctx.plan.drill.scratch_dir);
        io(
            format!("creating the scratch folder {}", base.display()),
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o711)
                .create(&base),
        )?;
        traversable(&base)?;
        let root = base.join(format!("{}-{}", service.name, std::process::id()));
        if root.exists() {
            io("clearing old scratch space", fs::remove_dir_all(&root))?;
        }
        make_dir(&root, 0o711)?;
        let files = root.join("files");
        make_dir(&files, 0o700)?;
        Ok(Scratch { root, files })
    }

    /// Where the throwaway PostgreSQL keeps its data (made by it).
    pub fn postgres(&self) -> PathBuf {
        self.root.join("postgres")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn make_dir(dir: &Path, mode: u32) -> Result<()> {
    io(
        format!("creating {}", dir.display()),
        fs::DirBuilder::new().mode(mode).create(dir),
    )?;
    // The mode is set whatever the umask.
    io(
        format!("setting the mode of {}", dir.display()),
        fs::set_permissions(dir, fs::Permissions::from_mode(mode)),
    )
}

/// The scratch folder is passed through by the database user: make it
/// 0711 if it was made earlier with a narrower mode.
fn traversable(dir: &Path) -> Result<()> {
    let mode = io(format!("reading {}", dir.display()), fs::metadata(dir))?
        .permissions()
        .mode();
    if mode & 0o111 != 0o111 {
        io(
            format!("setting the mode of {}", dir.display()),
            fs::set_permissions(dir, fs::Permissions::from_mode(0o711)),
        )?;
    }
    Ok(())
}
