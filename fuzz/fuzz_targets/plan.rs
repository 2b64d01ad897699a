//! The host plan loader: no input may panic it, and a plan it accepts
//! names only normal absolute paths, none of them a system folder.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(plan) = compile::plan::load(text) else { return };
    let normal = compile::plan::is_normal_absolute;
    assert!(normal(&plan.state_dir) && normal(&plan.drill.scratch_dir));
    for s in &plan.services {
        assert!(compile::plan::is_name(&s.name));
        assert!(normal(&s.dump_dir));
        for p in &s.paths {
            assert!(normal(&p.path), "{}", p.path);
            assert!(!compile::plan::is_at_or_below(&p.path, "/etc"));
        }
        for r in &s.repositories {
            assert!(compile::plan::is_secret_name(&r.password_secret));
        }
    }
});
