//! Reading values out of generated NixOS modules.

use compile::nix::Nix;
use compile::render::File;

/// The body of one generated module, as a value.
pub fn module(files: &[File], path: &str) -> Nix {
    let file = files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path}"));
    Nix::Attrs(file.module_body().expect("a module").clone())
}

/// The value at an attribute path below `v`.
pub fn at<'a>(v: &'a Nix, path: &[&str]) -> &'a Nix {
    path.iter().fold(v, |v, k| match v {
        Nix::Attrs(a) => a.get(*k).unwrap_or_else(|| panic!("no `{k}` in {path:?}")),
        _ => panic!("`{k}` of {path:?} is below a value"),
    })
}
