//! How homelab reads, copies and replaces files in folders that are not
//! its own — the flake folder, the secrets beside it, the report's path:
//! by type first, never through a link it did not make, never blocking,
//! and never more of a file than the question needs.
//!
//! Only regular files are read or replaced. A FIFO blocks an open for
//! reading until someone writes to it, a device may act on being opened,
//! a socket cannot be opened at all: each is named and refused from its
//! `symlink_metadata`, before any open. Files are then opened with
//! `O_NOFOLLOW | O_NONBLOCK` and their type is checked again on the open
//! handle (`fstat`), so a path swapped between the check and the open is
//! refused too, without blocking. A file is read as far as the question
//! needs: its first bytes, or no more bytes than the text it is compared
//! with.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// What a path is, read without following a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device, by the words that name it.
    Special(&'static str),
}

impl Type {
    pub fn of(t: fs::FileType) -> Type {
        if t.is_file() {
            Type::File
        } else if t.is_dir() {
            Type::Dir
        } else if t.is_symlink() {
            Type::Symlink
        } else if t.is_fifo() {
            Type::Special("a FIFO")
        } else if t.is_socket() {
            Type::Special("a socket")
        } else if t.is_char_device() {
            Type::Special("a character device")
        } else if t.is_block_device() {
            Type::Special("a block device")
        } else {
            Type::Special("a file of an unknown type")
        }
    }

    /// The type in words, for messages: "a FIFO", "a folder".
    pub fn name(self) -> &'static str {
        match self {
            Type::File => "a regular file",
            Type::Dir => "a folder",
            Type::Symlink => "a symlink",
            Type::Special(name) => name,
        }
    }
}

/// The type of `path`, without following a symlink; `None` when nothing
/// is there.
pub fn type_of(path: &Path) -> io::Result<Option<Type>> {
    match fs::symlink_metadata(path) {
        Ok(m) => Ok(Some(Type::of(m.file_type()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Why a path was not read or replaced: it is not a regular file. Carried
/// inside an [`io::Error`]; [`not_a_file`] finds it again.
#[derive(Debug)]
struct NotAFile(Type);

impl std::fmt::Display for NotAFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "it is {}, not a regular file", self.0.name())
    }
}

impl std::error::Error for NotAFile {}

fn refused(t: Type) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, NotAFile(t))
}

/// The type of the path an error of this module refused, if that is why
/// it failed.
pub fn not_a_file(e: &io::Error) -> Option<Type> {
    e.get_ref()?.downcast_ref::<NotAFile>().map(|n| n.0)
}

/// Opens the regular file at `path` for reading. Anything else — a
/// symlink included — is refused before it is opened; the open neither
/// follows a link nor blocks, and the handle's type is checked again.
pub fn open_file(path: &Path) -> io::Result<File> {
    match type_of(path)? {
        Some(Type::File) | None => {}
        Some(t) => return Err(refused(t)),
    }
    open_checked(path, libc::O_NOFOLLOW)
}

/// Opens the regular file at `path`, or the one a symlink there points
/// to, for reading: for files the user may keep as links (a secret), which
/// are read and never written through. Anything but a regular file is
/// refused before it is opened, and again on the handle.
pub fn open_file_or_link(path: &Path) -> io::Result<File> {
    match fs::metadata(path) {
        Ok(m) if !m.is_file() => return Err(refused(Type::of(m.file_type()))),
        _ => {}
    }
    open_checked(path, 0)
}

fn open_checked(path: &Path, flags: libc::c_int) -> io::Result<File> {
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | flags)
        .open(path)?;
    match Type::of(file.metadata()?.file_type()) {
        Type::File => Ok(file),
        t => Err(refused(t)),
    }
}

/// At most `limit` bytes from the start of `file`.
pub fn read_head(file: &mut File, limit: u64) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    file.take(limit).read_to_end(&mut head)?;
    Ok(head)
}

/// The whole of `file` when it holds at most `limit` bytes; `None`, with
/// nothing read, when it holds more.
pub fn read_at_most(file: &mut File, limit: u64) -> io::Result<Option<Vec<u8>>> {
    if file.metadata()?.len() > limit {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    // The file may grow after the size was read: read one byte past the
    // limit at most, to notice.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// Whether the regular file at `path` holds exactly `expected`. A file of
/// another size is not read at all; one of the same size is read in
/// chunks, and never further than one byte past `expected`.
pub fn holds(path: &Path, expected: &[u8]) -> io::Result<bool> {
    let file = open_file(path)?;
    if file.metadata()?.len() != expected.len() as u64 {
        return Ok(false);
    }
    let mut rest = expected;
    let mut buf = vec![0; 64 * 1024];
    let mut file = file.take(expected.len() as u64 + 1);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(rest.is_empty());
        }
        if n > rest.len() || buf[..n] != rest[..n] {
            return Ok(false);
        }
        rest = &rest[n..];
    }
}

/// Copies the regular file `from` to `to`, which must not exist yet (it
/// is created with `O_CREAT | O_EXCL`, which fails on a link), with its
/// permission bits.
pub fn copy_file(from: &Path, to: &Path) -> io::Result<()> {
    let mut src = open_file(from)?;
    let permissions = src.metadata()?.permissions();
    let mut dst = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    io::copy(&mut src, &mut dst)?;
    dst.set_permissions(permissions)
}

/// Whether `a` and `b` are the same file (same device and inode), each
/// followed through symlinks; false when either does not exist.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// What [`replace`] does with a symlink at the path it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtLink {
    /// Replace the link with the file; its target is left as it is.
    Replace,
    /// Refuse: the link is the user's and the file belongs behind it.
    Refuse,
}

/// Writes one file atomically: a new temporary file in the same folder,
/// then a rename, so a reader never sees half a file and a failure leaves
/// the old one in place. The path may hold nothing yet, a regular file or
/// (as `at_link` says) a symlink; a folder, FIFO, socket or device there
/// is refused before anything is written.
pub fn replace(path: &Path, bytes: &[u8], at_link: AtLink) -> io::Result<()> {
    match type_of(path)? {
        None | Some(Type::File) => {}
        Some(Type::Symlink) if at_link == AtLink::Replace => {}
        Some(t) => return Err(refused(t)),
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let temp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    // A leftover at the temporary name (even a planted symlink or FIFO)
    // is removed, not opened: the file is created new, and the rename
    // replaces whatever is at `path` rather than following it.
    let _ = fs::remove_file(&temp);
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut f| f.write_all(bytes))
        .and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

/// [`replace`], replacing a symlink at `path` rather than following it.
pub fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace(path, bytes, AtLink::Replace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid, NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn single_files_are_never_written_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let report = dir.path().join("report.html");
        symlink(&victim, &report).unwrap();
        let temp = dir
            .path()
            .join(format!(".report.html.tmp-{}", std::process::id()));
        symlink(&victim, &temp).unwrap();
        write_file(&report, b"<html>").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(fs::symlink_metadata(&report).unwrap().is_file());
        assert_eq!(fs::read_to_string(&report).unwrap(), "<html>");

        symlink(&victim, dir.path().join("secret.age")).unwrap();
        let err = replace(&dir.path().join("secret.age"), b"x", AtLink::Refuse).unwrap_err();
        assert_eq!(not_a_file(&err), Some(Type::Symlink));
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        mkfifo(&fifo);
        for open in [open_file, open_file_or_link] {
            let err = open(&fifo).unwrap_err();
            assert_eq!(not_a_file(&err), Some(Type::Special("a FIFO")));
            assert_eq!(err.to_string(), "it is a FIFO, not a regular file");
        }
        let err = holds(&fifo, b"").unwrap_err();
        assert_eq!(not_a_file(&err), Some(Type::Special("a FIFO")));
        let err = copy_file(&fifo, &dir.path().join("copy")).unwrap_err();
        assert_eq!(not_a_file(&err), Some(Type::Special("a FIFO")));
        assert!(!dir.path().join("copy").exists());
        let err = write_file(&fifo, b"x").unwrap_err();
        assert_eq!(not_a_file(&err), Some(Type::Special("a FIFO")));
        assert_eq!(type_of(&fifo).unwrap(), Some(Type::Special("a FIFO")));
        let err = write_file(dir.path(), b"x").unwrap_err();
        assert_eq!(not_a_file(&err), Some(Type::Dir));
        // A link to a FIFO: its target is checked, never opened.
        let link = dir.path().join("link");
        symlink(&fifo, &link).unwrap();
        let err = open_file_or_link(&link).unwrap_err();
        assert_eq!(not_a_file(&err), Some(Type::Special("a FIFO")));
        assert_eq!(
            not_a_file(&open_file(&link).unwrap_err()),
            Some(Type::Symlink)
        );
        assert_eq!(
            not_a_file(&open_file(Path::new("/dev/null")).unwrap_err()),
            Some(Type::Special("a character device"))
        );
    }

    #[test]
    fn a_comparison_reads_no_further_than_the_expected_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, "abc").unwrap();
        assert!(holds(&path, b"abc").unwrap());
        assert!(!holds(&path, b"abd").unwrap());
        assert!(!holds(&path, b"ab").unwrap());
        // 64 GiB that take no disk: only the size is looked at.
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(64 << 30)
            .unwrap();
        assert!(!holds(&path, b"abc").unwrap());
        let mut file = open_file(&path).unwrap();
        assert_eq!(read_at_most(&mut file, 1 << 20).unwrap(), None);
        assert_eq!(read_head(&mut file, 3).unwrap(), b"abc");
    }
}
