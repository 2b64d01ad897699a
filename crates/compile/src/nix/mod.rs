//! The Nix value model and its printer.

mod printer;
pub mod shell;
mod value;

pub use printer::{attr_name, print, quote};
pub use value::{Attrs, Nix, merge_into, set, split_path};
