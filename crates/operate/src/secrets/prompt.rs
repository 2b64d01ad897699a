//! Asking a person for a value on the terminal without echoing it.

/// Reads one line from the terminal with echo off; `None` when there is
/// no terminal to ask on.
pub fn hidden(prompt: &str) -> Option<String> {
    rpassword::prompt_password(prompt).ok()
}
