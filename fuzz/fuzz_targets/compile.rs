//! Spec parsing, resolution and every check, then rendering and printing of
//! whatever compiles: none of it may panic, whatever the input.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok((fleet, _)) = compile::compile(text) {
        for file in compile::render::render(&fleet) {
            let _ = file.text();
        }
        for table in compile::show::TABLES {
            let _ = compile::show::table(&fleet, table).map(|t| t.text());
        }
    }
});
