//! Properties of the parsers that read untrusted or hand-written input — the
//! configuration, the model manifest and what subscribers send — checked on
//! arbitrary input. The cargo-fuzz targets in `fuzz/` and the mutation test in
//! `tests/parser_properties.rs` both call these; each panics when a property
//! does not hold (a parser panicking is a failure too).

use std::path::Path;

use crate::config::{Config, ConfigError};
use crate::model::{Manifest, ManifestError};
use crate::publish::input::{InputBudget, Verdict, INPUT_BURST, INPUT_RATE};

/// Where fuzzed configuration text pretends to come from.
pub const CONFIG_ORIGIN: &str = "/etc/actiond/fuzz.toml";
/// A password the seeds put in stream URIs; errors about a URI must never show it.
pub const SECRET: &str = "s3cret-fuzz";

/// 1 ≤ line ≤ lines + 1 and column ≥ 1.
fn check_position(text: &str, line: usize, column: usize, what: &str) {
    let lines = text.matches('\n').count() + 1;
    assert!(
        (1..=lines + 1).contains(&line) && column >= 1,
        "{what}: position {line}:{column} outside a text of {lines} lines"
    );
}

/// True when `message` holds [`SECRET`] still recognisable as a password: an
/// `@` follows it within the same token. (A mutation that removed the `@` made
/// the value a host name, and nothing can know that it was a password.)
fn shows_password(message: &str) -> bool {
    message.match_indices(SECRET).any(|(i, _)| {
        let rest = &message[i..];
        let token = &rest[..rest
            .find(|c: char| c.is_whitespace() || c == '`')
            .unwrap_or(rest.len())];
        token.contains('@')
    })
}

/// A stream's regions: unique names, rectangles of non-zero size inside the frame
/// (fractions) and cropping a frame they fit without panicking.
fn check_regions(regions: &[crate::config::RegionConfig]) {
    use crate::config::Rect;
    let mut names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), regions.len(), "duplicate region names");
    for r in regions {
        match r.rect {
            Rect::Fraction([x, y, w, h]) => {
                assert!(w > 0.0 && h > 0.0 && x >= 0.0 && y >= 0.0, "{r:?}");
                assert!(x + w <= 1.0 + 1e-9 && y + h <= 1.0 + 1e-9, "{r:?}");
                assert!(r.rect.crop(1280, 720).is_ok(), "{r:?}");
            }
            Rect::Pixels([x, y, w, h]) => {
                assert!(w > 0 && h > 0, "{r:?}");
                if let (Some(fw), Some(fh)) = (x.checked_add(w), y.checked_add(h)) {
                    assert!(r.rect.crop(fw, fh).is_ok(), "{r:?}");
                }
            }
        }
    }
}

/// Parses `text` as a configuration: no panic; a valid result keeps every
/// documented bound; an error names the file and a position inside the text,
/// and an error about a `uri` never shows its password.
pub fn check_config(text: &str) {
    match Config::parse(text, Path::new(CONFIG_ORIGIN)) {
        Ok(c) => {
            assert!(!c.streams.is_empty(), "a valid config without streams");
            let mut names: Vec<&str> = c.streams.iter().map(|s| s.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), c.streams.len(), "duplicate stream names");
            for s in &c.streams {
                assert!(
                    !s.name.is_empty() && s.name.len() <= 64,
                    "name {:?}",
                    s.name
                );
                assert!((0.0..=1000.0).contains(&s.sample_fps), "{}", s.sample_fps);
                assert!(s.stall_timeout_s > 0.0 && s.reconnect_min_s > 0.0);
                assert!(s.reconnect_min_s <= s.reconnect_max_s);
                assert!(s.uri.is_some() != s.pipeline.is_some(), "uri xor pipeline");
                check_regions(&s.regions);
            }
            let sm = &c.smoothing;
            assert!(sm.window >= 1 && sm.stride >= 1 && sm.confirm >= 1 && sm.top_k >= 1);
            assert!((0.0..=1.0).contains(&sm.threshold));
            assert!(c.output.socket_mode <= 0o777);
            assert!(c.output.subscriber_buffer >= 16);
            assert!((1..=64).contains(&c.runtime.max_batch));
            assert!(!c.runtime.providers.is_empty());
        }
        Err(ConfigError::Invalid {
            file,
            line,
            column,
            key,
            message,
        }) => {
            assert_eq!(file, Path::new(CONFIG_ORIGIN));
            check_position(text, line, column, "config error");
            assert!(!key.is_empty() && !message.is_empty());
            if key.ends_with("uri") || key.ends_with("url") {
                assert!(
                    !shows_password(&message),
                    "an error about {key} shows the password: {message}"
                );
            }
        }
        Err(ConfigError::Io { .. }) => panic!("parsing text cannot fail with an I/O error"),
    }
}

/// Parses `text` as a model manifest (a `labels_file` is looked up in a folder
/// that does not exist): no panic; a valid result keeps the documented bounds;
/// a syntax error points inside the text.
pub fn check_manifest(text: &str) {
    let dir = Path::new("/nonexistent/actiond-fuzz");
    match Manifest::parse(text, "fuzz/model.toml", dir) {
        Ok(m) => {
            assert!(!m.labels.is_empty());
            let i = &m.input;
            assert!((1..=8192).contains(&i.width) && (1..=8192).contains(&i.height));
            assert!(i.scale.is_finite() && i.scale > 0.0);
            assert!(i.std.iter().all(|s| s.is_finite() && *s != 0.0));
            assert!(i.mean.iter().all(|m| m.is_finite()));
        }
        Err(ManifestError::Parse { line, column, .. }) => {
            check_position(text, line, column, "manifest error")
        }
        Err(ManifestError::Invalid { message, .. }) => assert!(!message.is_empty()),
        Err(ManifestError::Io { .. }) => {}
    }
}

/// Feeds what a subscriber sends, as (bytes, milliseconds since the previous
/// read) pairs taken from `data`, to its input budget: no panic; nobody gets
/// more than the burst plus the rate; once cut off, always cut off; and input
/// at a quarter of the rate is never cut off.
pub fn check_client_input(data: &[u8]) {
    let mut budget = InputBudget::new(0);
    let mut polite = InputBudget::new(0);
    let (mut now, mut accepted, mut cut) = (0u64, 0u64, false);
    for pair in data.chunks_exact(4) {
        let len = u16::from_le_bytes([pair[0], pair[1]]) as usize;
        let dt = u16::from_le_bytes([pair[2], pair[3]]) as u64;
        now += dt;
        match budget.feed(len, now) {
            Verdict::Ok => {
                assert!(!cut, "accepted input after cutting the client off");
                accepted += len as u64;
            }
            Verdict::Flood { total } => {
                cut = true;
                assert_eq!(total, budget.total());
            }
        }
        assert!(
            accepted <= INPUT_BURST + INPUT_RATE * now / 1000 + 1,
            "{accepted} bytes accepted in {now} ms"
        );
        // The same times, a quarter of the rate's worth of bytes each time.
        let fair = (INPUT_RATE * dt / 4000) as usize;
        assert_eq!(
            polite.feed(fair, now),
            Verdict::Ok,
            "polite input cut off at {now} ms"
        );
    }
}
