//! Rebuild when an embedded catalog entry or example changes: the
//! `include_dir!` macro alone does not tell cargo about new files.

fn main() {
    println!("cargo:rerun-if-changed=src/catalog/entries");
    println!("cargo:rerun-if-changed=../../examples");
    println!("cargo:rerun-if-changed=src/spec/starter.toml");
}
