//! The parsers of hand-written and untrusted input, fed thousands of mutated
//! variants of real files on every `cargo test` (a seeded, stable-Rust stand-in
//! for the cargo-fuzz targets in `fuzz/`, which check the same properties:
//! `actiond::tools::fuzzing`). A failure prints the seed and the input.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use actiond::tools::fuzzing::{check_client_input, check_config, check_manifest, SECRET};

/// Bytes and fragments that matter to TOML and to the schema.
const DICTIONARY: &[&str] = &[
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\n",
    "#",
    "\\",
    ".",
    ",",
    "{",
    "}",
    "\"\"\"",
    "'''",
    "[[stream]]\n",
    "[smoothing]\n",
    "[output]\n",
    "[runtime]\n",
    "[model]\n",
    "name = \"x\"\n",
    "uri = \"\"",
    "pipeline = \"\"",
    "0",
    "-1",
    "1e999",
    "nan",
    "inf",
    "-0.0",
    "0x10",
    "0o777",
    "99999999999999999999",
    "true",
    "\u{e9}",
    "\u{1F600}",
    "\u{0}",
    "\r\n",
    "\t",
    "window",
    "stride",
    "sample_fps",
    "socket_mode = \"0999\"",
    "labels = []",
    "labels_file = \"x\"",
    "layout = \"NTCHW\"",
    "width = 0",
    "std = [0.0, 1.0, 1.0]",
    "rtsp://u:p@",
    "2024-01-01T00:00:00Z",
];

fn mutate(rng: &mut StdRng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let at = rng.random_range(0..=v.len());
        match rng.random_range(0..8) {
            0 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                let special = b"\"[]=\n#\\.,{}0-+e\xff\x00'";
                v[i] = special[rng.random_range(0..special.len())];
            }
            2 | 3 => {
                let token = DICTIONARY[rng.random_range(0..DICTIONARY.len())];
                v.splice(at..at, token.bytes());
            }
            4 => {
                let end = (at + rng.random_range(1..48)).min(v.len());
                v.drain(at..end);
            }
            5 => {
                // Duplicate a line (duplicate keys, tables).
                let text = v.clone();
                let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
                let line = lines[rng.random_range(0..lines.len())];
                let mut ins = line.to_vec();
                ins.push(b'\n');
                v.splice(at..at, ins);
            }
            6 => v.truncate(at),
            _ => {
                // Splice in a chunk of the file itself.
                if !seed.is_empty() {
                    let a = rng.random_range(0..seed.len());
                    let b = (a + rng.random_range(1..64)).min(seed.len());
                    v.splice(at..at, seed[a..b].iter().copied());
                }
            }
        }
    }
    v
}

/// Runs `check` on `cases` mutants of each seed (`$ACTIOND_MUTANTS` overrides
/// it, for a longer run); on a panic, names the input.
fn run(seeds: &[String], cases: usize, check: fn(&str)) {
    let cases = std::env::var("ACTIOND_MUTANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(cases);
    for (k, seed) in seeds.iter().enumerate() {
        check(seed); // the seeds themselves
        let mut rng = StdRng::seed_from_u64(0xAC71_0D00 + k as u64);
        for case in 0..cases {
            let bytes = mutate(&mut rng, seed.as_bytes());
            let text = String::from_utf8_lossy(&bytes);
            if let Err(e) = std::panic::catch_unwind(|| check(&text)) {
                let what = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("seed {k}, case {case}: {what}\n--- input ---\n{text}\n--- end ---");
            }
        }
    }
}

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn mutated_configs_never_panic_and_errors_point_into_the_file() {
    let with_secret = format!(
        "[model]\npath = \"m.onnx\"\n\n[[stream]]\nname = \"cam\"\nuri = \"rtsp://admin:{SECRET}@10.0.0.5:554/s\"\n\
         rtsp_transport = \"tcp\"\nreconnect_min_s = 1\nreconnect_max_s = 30\n\n\
         [[stream]]\nname = \"web\"\nuri = \"https://u:{SECRET}@cam.example/x.mjpg\"\n\n\
         [mqtt]\nurl = \"mqtts://u:{SECRET}@broker.example:8883\"\n"
    );
    let with_regions =
        "[model]\npath = \"m.onnx\"\n\n[[stream]]\nname = \"hall\"\nuri = \"test:ball\"\n\
         [[stream.region]]\nname = \"court-1\"\nrect = [0.0, 0.0, 0.5, 1.0]\n\
         [[stream.region]]\nname = \"court-2\"\nrect = [320, 0, 320, 480]\n"
            .to_string();
    let seeds = vec![
        repo_file("config/actiond.toml"),
        repo_file("config/demo.toml"),
        with_secret,
        with_regions,
    ];
    run(&seeds, 4000, check_config);
}

#[test]
fn mutated_manifests_never_panic_and_keep_their_bounds() {
    let seeds = vec![
        repo_file("models/provisional/model.toml"),
        "name = \"m\"\nlabels_file = \"labels.txt\"\n[input]\nname = \"in\"\nlayout = \"NCHW\"\n\
         width = 160\nheight = 120\nchannel_order = \"BGR\"\nresize = \"letterbox\"\nscale = 1.0\n\
         mean = [0.0, 0.0, 0.0]\nstd = [1.0, 1.0, 1.0]\n[output]\nname = \"out\"\nkind = \"logits\"\n"
            .to_string(),
    ];
    run(&seeds, 4000, check_manifest);
}

#[test]
fn random_client_input_is_budgeted() {
    let mut rng = StdRng::seed_from_u64(0x5EED);
    for case in 0..2000 {
        let n = rng.random_range(0..400) * 4;
        let mut data = vec![0u8; n];
        rng.fill(&mut data[..]);
        // Mostly short gaps, so that the budget is actually stressed.
        for pair in data.chunks_exact_mut(4) {
            if rng.random_bool(0.8) {
                pair[3] = 0;
                pair[2] %= 50;
            }
        }
        if let Err(e) = std::panic::catch_unwind(|| check_client_input(&data)) {
            panic!("case {case}: {e:?}\ninput: {data:?}");
        }
    }
}
