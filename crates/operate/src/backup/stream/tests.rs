use super::*;
use proptest::prelude::*;

fn archive(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    b.into_inner().unwrap()
}

fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o640);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append_data(&mut h, path, data).unwrap();
}

fn link(b: &mut tar::Builder<Vec<u8>>, path: &str, target: &str) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, path, target).unwrap();
}

/// One raw entry, its name and link name written byte for byte: the tar
/// crate's builder refuses the names a hostile archive holds.
fn raw_entry(kind: tar::EntryType, name: &[u8], link: &[u8], data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    let old = h.as_old_mut();
    let n = name.len().min(99);
    old.name[..n].copy_from_slice(&name[..n]);
    let l = link.len().min(99);
    old.linkname[..l].copy_from_slice(&link[..l]);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

fn ended(mut entries: Vec<u8>) -> Vec<u8> {
    entries.extend([0u8; 1024]);
    entries
}

/// A scratch folder deep inside a sandbox (deeper than any name here can
/// climb): anything that appears in the sandbox off the way down to the
/// scratch folder was written outside it.
struct Sandbox {
    dir: tempfile::TempDir,
}

const DEPTH: [&str; 6] = ["1", "2", "3", "4", "5", "6"];

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(DEPTH.join("/")).join("scratch")).unwrap();
        Sandbox { dir }
    }
    fn scratch(&self) -> PathBuf {
        self.dir.path().join(DEPTH.join("/")).join("scratch")
    }
    /// Everything off the way down to the scratch folder, and every link
    /// below it.
    fn stray(&self) -> Vec<PathBuf> {
        let scratch = self.scratch();
        let mut out = Vec::new();
        let mut stack = vec![self.dir.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                let path = e.path();
                let t = e.file_type().unwrap();
                let on_the_way = scratch.starts_with(&path);
                let inside = path.starts_with(&scratch);
                if t.is_symlink() || !(on_the_way || inside) {
                    out.push(path);
                } else if t.is_dir() {
                    stack.push(path);
                }
            }
        }
        out
    }
}

#[test]
fn files_are_written_and_hashed_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("cap/var/lib/app/{}/x", "d".repeat(150));
    let tar = archive(|b| {
        file(b, "cap/var/lib/app/a", b"abc");
        file(b, &long, b"");
        link(b, "cap/var/lib/app/l", "/etc");
    });
    let mut seen = 0;
    let got = extract(&tar[..], dir.path(), |n| seen = n).unwrap();
    assert_eq!(seen, 3);
    assert_eq!(
        std::fs::read(dir.path().join("cap/var/lib/app/a")).unwrap(),
        b"abc"
    );
    let mode = std::fs::metadata(dir.path().join("cap/var/lib/app/a"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
    let files = host_files(&got, Path::new("/cap"), &["/var/lib/app"]);
    assert_eq!(files.len(), 3);
    let on_disk = manifest::scan(&dir.path().join("cap/var/lib/app"), "/var/lib/app").unwrap();
    let regular: Vec<&FileEntry> = files
        .iter()
        .filter(|f| !f.sha256.starts_with("link:"))
        .collect();
    assert_eq!(
        regular,
        on_disk.iter().collect::<Vec<_>>(),
        "the same entries a scan of the disk finds"
    );
    // The link is recorded as the manifest records it, and never made.
    assert!(files.iter().any(|f| f.sha256 == "link:/etc"));
    assert!(
        std::fs::symlink_metadata(dir.path().join("cap/var/lib/app/l")).is_err(),
        "no link is created in scratch space"
    );
    assert!(host_files(&got, Path::new("/cap"), &["/var/lib/ap"]).is_empty());
}

#[test]
fn a_file_below_a_link_is_refused() {
    let sandbox = Sandbox::new();
    let raw = ended(
        [
            raw_entry(tar::EntryType::Symlink, b"x/out", b"../..", b""),
            raw_entry(tar::EntryType::Regular, b"x/out/passwd", b"", b"owned"),
        ]
        .concat(),
    );
    let err = extract(&raw[..], &sandbox.scratch(), |_| {}).unwrap_err();
    assert!(matches!(err, ExtractError::Unsafe(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "the archive holds `x/out/passwd`, a path that is absolute, climbs out of the \
         scratch folder or lies below a link; nothing of it is used"
    );
    assert!(sandbox.stray().is_empty(), "{:?}", sandbox.stray());
}

/// A symlink, then a hard link to it, then a file beneath the hard link:
/// the hard link names no file extracted before, and is refused.
#[test]
fn a_hard_link_to_a_link_cannot_open_a_way_out() {
    let sandbox = Sandbox::new();
    let raw = ended(
        [
            raw_entry(tar::EntryType::Symlink, b"a", b"..", b""),
            raw_entry(tar::EntryType::Link, b"b", b"a", b""),
            raw_entry(tar::EntryType::Regular, b"b/escape", b"", b"x"),
        ]
        .concat(),
    );
    let err = extract(&raw[..], &sandbox.scratch(), |_| {}).unwrap_err();
    assert!(
        matches!(err, ExtractError::Unsafe(ref n) if n == "b"),
        "{err}"
    );
    assert!(sandbox.stray().is_empty(), "{:?}", sandbox.stray());
}

#[test]
fn a_hard_link_to_an_earlier_file_is_that_file() {
    let sandbox = Sandbox::new();
    let raw = ended(
        [
            raw_entry(tar::EntryType::Regular, b"d/a", b"", b"abc"),
            raw_entry(tar::EntryType::Link, b"d/b", b"d/a", b""),
        ]
        .concat(),
    );
    let got = extract(&raw[..], &sandbox.scratch(), |_| {}).unwrap();
    assert_eq!(got["/d/b"].sha256, got["/d/a"].sha256);
    assert_eq!(got["/d/b"].path, "/d/b");
}

#[test]
fn absolute_and_climbing_names_are_refused() {
    for name in [
        &b"/etc/passwd"[..],
        b"../escape",
        b"a/../../escape",
        b"",
        b".",
    ] {
        let sandbox = Sandbox::new();
        let raw = ended(raw_entry(tar::EntryType::Regular, name, b"", b"x"));
        let err = extract(&raw[..], &sandbox.scratch(), |_| {}).unwrap_err();
        assert!(
            matches!(err, ExtractError::Unsafe(_)),
            "{}: {err}",
            String::from_utf8_lossy(name)
        );
        assert!(sandbox.stray().is_empty());
    }
}

#[test]
fn a_truncated_stream_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let tar = archive(|b| file(b, "a", &[1u8; 5000]));
    let err = extract(&tar[..2000], dir.path(), |_| {}).unwrap_err();
    assert!(matches!(err, ExtractError::Read(_)), "{err}");
}

/// Entry names and link targets from an alphabet of hostile parts.
fn hostile_name() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b"..".to_vec()),
            Just(b".".to_vec()),
            Just(b"".to_vec()),
            Just(b"a".to_vec()),
            Just(b"b".to_vec()),
            Just(b"etc".to_vec()),
            prop::collection::vec(any::<u8>(), 1..3),
        ],
        0..5,
    )
    .prop_flat_map(|parts| {
        let joined = parts.join(&b'/');
        prop_oneof![Just(joined.clone()), Just([b"/".to_vec(), joined].concat())]
    })
}

fn hostile_entry() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            Just(tar::EntryType::Regular),
            Just(tar::EntryType::Directory),
            Just(tar::EntryType::Symlink),
            Just(tar::EntryType::Link),
            Just(tar::EntryType::Fifo),
            Just(tar::EntryType::Char),
        ],
        hostile_name(),
        hostile_name(),
    )
        .prop_map(|(kind, name, link)| {
            let data: &[u8] = if kind == tar::EntryType::Regular {
                b"data"
            } else {
                b""
            };
            raw_entry(kind, &name, &link, data)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// Whatever the entries' names, kinds and link targets, nothing is
    /// written beside the scratch folder and no link exists below it.
    #[test]
    fn no_archive_writes_outside_the_scratch_folder(
        entries in prop::collection::vec(hostile_entry(), 1..8)
    ) {
        let sandbox = Sandbox::new();
        let raw = ended(entries.concat());
        let _ = extract(&raw[..], &sandbox.scratch(), |_| {});
        prop_assert!(sandbox.stray().is_empty(), "{:?}", sandbox.stray());
    }
}
