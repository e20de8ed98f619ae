//! The configuration parser on arbitrary text (see actiond::tools::fuzzing::check_config).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        actiond::tools::fuzzing::check_config(text);
    }
});
