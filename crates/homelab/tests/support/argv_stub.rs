//! A stand-in command that records how it was called: each call appends
//! a record separator (0x1e), its name and every argument, NUL-terminated,
//! to the file `$ARGV_LOG` names.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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
