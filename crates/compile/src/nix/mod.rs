//! The Nix value model and its printer.

mod printer;
pub mod shell;
mod value;

pub use printer::{print, quote};

pub(crate) use printer::attr_name;
pub(crate) use value::merge_into;
pub use value::{Attrs, Nix, set, split_path};
