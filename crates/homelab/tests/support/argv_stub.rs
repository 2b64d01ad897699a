//! A stand-in command that records how it was called: each call appends
//! a record separator (0x1e), its name and every argument, NUL-terminated,
//! to the file `$ARGV_LOG` names. And the shell text a generated script
//! becomes, as NixOS quotes its words.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
#[path = "nix_eval.rs"]
mod nix_eval;

/// Writes the stand-in `bin/name`, which exits with `code`.
pub fn argv_stub(bin: &Path, name: &str, code: i32) {
    let stub = bin.join(name);
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\nprintf '\\036{name}\\0' >> \"$ARGV_LOG\"\nfor a in \"$@\"; do printf '%s\\0' \"$a\" >> \"$ARGV_LOG\"; done\nexit {code}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every call the stand-ins recorded in `log`, each its argv (the
/// command's name first); none when nothing ran.
pub fn calls(log: &Path) -> Vec<Vec<String>> {
    let recorded = std::fs::read_to_string(log).unwrap_or_default();
    recorded
        .split('\u{1e}')
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.strip_suffix('\0')
                .unwrap_or(c)
                .split('\0')
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// `lib.escapeShellArg` as nixpkgs lib/strings.nix defines it.
pub const ESCAPE_SHELL_ARG: &str = r#"arg: let string = toString arg; in if builtins.match "[[:alnum:],._+:@%/-]+" string == null then "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] string}'" else string"#;

/// The string a Nix expression evaluates to, by the real evaluator.
pub fn eval_string(expr: &str) -> String {
    nix_eval::eval_json(expr)
}
