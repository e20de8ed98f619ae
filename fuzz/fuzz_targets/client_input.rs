//! What subscribers send, as (bytes, ms) pairs, against their input budget
//! (see actiond::tools::fuzzing::check_client_input).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    actiond::tools::fuzzing::check_client_input(data);
});
