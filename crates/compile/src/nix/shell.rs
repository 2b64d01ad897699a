//! Shell scripts in generated Nix, built from words rather than text.
//!
//! A script is lines of words. A word is either code the renderer wrote
//! (`&'static str`, so no spec value can ever be code) or a value, which is
//! printed as `${lib.escapeShellArg "…"}`: NixOS quotes it when the system
//! is built, and the shell sees exactly one word whatever the value holds.

/// One word of a command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Word {
    /// Shell code written by the renderer: command names, flags, `||`.
    Code(&'static str),
    /// Data, quoted by `lib.escapeShellArg` into one inert argument.
    Value(String),
}

/// A line of shell: its words, separated by spaces.
pub(crate) type Line = Vec<Word>;

/// Builds a line: `shell::line([code("zfs"), code("list"), value(name)])`.
pub fn line<I: IntoIterator<Item = Word>>(words: I) -> Line {
    words.into_iter().collect()
}

pub fn code(c: &'static str) -> Word {
    Word::Code(c)
}

pub fn value(v: impl Into<String>) -> Word {
    Word::Value(v.into())
}
