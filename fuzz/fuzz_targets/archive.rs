//! The archive reader of the drill: a tar stream restored from a
//! repository, which may be forged. No input may panic it, and nothing
//! may appear outside the scratch folder or as a link inside it.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sandbox = tempfile::tempdir().unwrap();
    let scratch = sandbox.path().join("a/b/c/d/scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let _ = operate::backup::stream::extract(data, &scratch, |_| {});
    let mut stack = vec![sandbox.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let path = e.path();
            let kind = e.file_type().unwrap();
            assert!(!kind.is_symlink(), "a link was made: {}", path.display());
            assert!(
                scratch.starts_with(&path) || path.starts_with(&scratch),
                "written outside the scratch folder: {}",
                path.display()
            );
            if kind.is_dir() {
                stack.push(path);
            }
        }
    }
});
