//! Stream sources: classifying a `uri` value, and keeping credentials out of
//! anything printed.

use std::path::{Component, Path, PathBuf};

use super::SourceKind;

/// The frame size of `test:` sources (width, height).
pub const TEST_FRAME: (u32, u32) = (640, 480);

/// The `videotestsrc` pattern nicks accepted after `test:` (GStreamer 1.22).
pub const TEST_PATTERNS: &[&str] = &[
    "smpte",
    "snow",
    "black",
    "white",
    "red",
    "green",
    "blue",
    "checkers-1",
    "checkers-2",
    "checkers-4",
    "checkers-8",
    "circular",
    "blink",
    "smpte75",
    "zone-plate",
    "gamut",
    "chroma-zone-plate",
    "solid-color",
    "ball",
    "smpte100",
    "bar",
    "pinwheel",
    "spokes",
    "gradient",
    "colors",
    "smpte-rp-219",
];

/// The URI forms a stream `uri` may take, for error messages.
const ACCEPTED: &str =
    "rtsp://, rtsps://, http://, https://, file:///path, v4l2:///dev/videoN, test:<pattern>, or a file path";

/// Replaces the userinfo (`user:password@` or `user@`) of every URI in `text`
/// with `***@`, and every value resolved from a `${…}` reference with `***`
/// ([`super::secret::scrub`]), so that credentials never reach logs or error messages.
///
/// Works on a bare URI and on text holding URIs (a GStreamer pipeline
/// description). Passwords containing unescaped `@` or `/` are still hidden.
pub fn redact_uri(text: &str) -> String {
    super::secret::scrub(&map_userinfo(text, |_| "***".to_string()))
}

/// `text` with the userinfo of every URI in it (what stands before the `@`)
/// replaced by `shown(userinfo)`.
fn map_userinfo(text: &str, shown: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        match userinfo_len(tail) {
            Some(n) => {
                out.push_str(&shown(&tail[..n]));
                out.push('@');
                rest = &tail[n + 1..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// [`redact_uri`] for a value as written, which may hold `${…}` references: in
/// each URI's userinfo, the user and the password are each kept when written as
/// references only (`rtsp://***:${credential:cam1}@cam/`), else shown as `***`.
pub(super) fn redact_userinfo(text: &str) -> String {
    map_userinfo(text, |userinfo| {
        let parts: Vec<&str> = match userinfo.split_once(':') {
            Some((user, password)) => vec![user, password],
            None => vec![userinfo],
        };
        if !parts.iter().any(|p| only_references(p)) {
            return "***".into();
        }
        let shown: Vec<&str> = parts
            .into_iter()
            .map(|p| if only_references(p) { p } else { "***" })
            .collect();
        shown.join(":")
    })
}

/// True when `text` is one or more `${…}` references and nothing else.
fn only_references(text: &str) -> bool {
    let mut rest = text;
    while let Some(after) = rest.strip_prefix("${") {
        match after.find('}') {
            Some(end) => rest = &after[end + 1..],
            None => return false,
        }
    }
    rest.is_empty() && !text.is_empty()
}

/// [`redact_uri`] for a value that failed to parse as a URI: a typo such as
/// `rtsp:/admin:pw@host` or `rtspadmin:pw@host` has no `://` for `redact_uri`
/// to find, so whatever still stands before an `@` after the scheme is hidden too.
fn redact_malformed(text: &str) -> String {
    let r = redact_uri(text);
    let start = r.find(':').map_or(0, |i| i + 1);
    // An `@` that redact_uri did not already put behind `***`.
    let exposed = r
        .match_indices('@')
        .any(|(i, _)| i > start && !r[..i].ends_with("***"));
    match r.rfind('@') {
        Some(at) if exposed => format!("{}***{}", &r[..start], &r[at..]),
        _ => r,
    }
}

/// Where a URI token ends inside a longer text.
fn ends_token(c: char) -> bool {
    c.is_whitespace() || c == '"' || c == '\''
}

/// The byte length of the userinfo at the start of `after_scheme` (the text
/// after `://`), not counting the `@` that ends it; `None` without userinfo.
fn userinfo_len(after_scheme: &str) -> Option<usize> {
    let token = &after_scheme[..after_scheme.find(ends_token).unwrap_or(after_scheme.len())];
    let authority = &token[..token.find(['/', '?', '#']).unwrap_or(token.len())];
    if let Some(at) = authority.rfind('@') {
        return Some(at);
    }
    // No `@` in the authority as RFC 3986 delimits it. A `user:pa/ss@host`
    // (unescaped `/`, `?` or `#` in the password) still looks like
    // credentials: a `:` not followed by a numeric port, and an `@` later on.
    if authority.starts_with('[') {
        return None;
    }
    let (_, after_colon) = authority.split_once(':')?;
    if after_colon.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let first_at = token.find('@')?;
    let end = token[first_at..]
        .find('/')
        .map_or(token.len(), |i| first_at + i);
    token[..end].rfind('@')
}

/// Joins a relative `path` onto `base`, dropping `.` components.
pub(super) fn resolve(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    joined
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// The scheme of `uri` (text before the first `:`, RFC 3986 syntax), if any.
fn scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// Classifies a stream `uri`; relative file paths are resolved against
/// `base`. The error message never contains credentials.
#[cfg(test)]
pub(super) fn parse_uri(uri: &str, base: &Path) -> Result<SourceKind, String> {
    parse_uri_shown(uri, uri, base)
}

/// [`parse_uri`] for a `uri` resolved from `shown` (the value as written, with
/// its `${…}` references): messages quote `shown`, never what it resolved to.
pub(super) fn parse_uri_shown(uri: &str, shown: &str, base: &Path) -> Result<SourceKind, String> {
    let uri = uri.trim();
    let shown = shown.trim();
    let Some(scheme) = scheme(uri) else {
        // `rtsp//user:pw@host`: a URI that lost the colon of its `://` reads as a file
        // path, and every failure to open it would log the password.
        if uri.find('@').is_some_and(|at| uri[..at].contains(':')) {
            return Err(format!(
                "`{}` looks like a URI with credentials but has no `scheme://`; check the `://` (a file path cannot hold `user:password@`)",
                redact_malformed(shown)
            ));
        }
        return Ok(SourceKind::File(resolve(base, Path::new(uri))));
    };
    let rest = &uri[scheme.len() + 1..];
    let redacted = || redact_malformed(shown);
    match scheme.to_ascii_lowercase().as_str() {
        s @ ("rtsp" | "rtsps" | "http" | "https") => {
            let host = rest.strip_prefix("//").unwrap_or("");
            let host = &host[userinfo_len(host).map_or(0, |n| n + 1)..];
            if host.is_empty() || host.starts_with(['/', '?', '#']) {
                return Err(format!("`{}` has no host; expected {s}://host/…", redacted()));
            }
            if s.starts_with("rtsp") {
                Ok(SourceKind::Rtsp(uri.to_string()))
            } else {
                Ok(SourceKind::Http(uri.to_string()))
            }
        }
        "file" => match rest.strip_prefix("//") {
            Some(path) if path.starts_with('/') => Ok(SourceKind::File(PathBuf::from(path))),
            _ => Err(format!(
                "`{}` is not an absolute file URI; write file:///absolute/path, or a plain path (relative to the config file)",
                redacted()
            )),
        },
        "v4l2" => match rest.strip_prefix("//") {
            Some(path) if path.starts_with('/') && path.len() > 1 => {
                Ok(SourceKind::V4l2(PathBuf::from(path)))
            }
            _ => Err(format!(
                "`{}` is not a V4L2 device URI; write v4l2:///dev/videoN",
                redacted()
            )),
        },
        "test" => {
            if TEST_PATTERNS.contains(&rest) {
                Ok(SourceKind::Test(rest.to_string()))
            } else {
                Err(format!(
                    "unknown test pattern `{}`; expected one of: {}",
                    redact_malformed(if shown == uri { rest } else { shown }),
                    TEST_PATTERNS.join(", ")
                ))
            }
        }
        _ => Err(format!(
            "unsupported scheme `{scheme}` in `{}`; expected {ACCEPTED}",
            redacted()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_uris_in_errors_hide_what_may_be_a_password() {
        for (typo, shown) in [
            ("rtspmin:pw-x@10.0.0.5:554/s", "rtspmin:***@10.0.0.5:554/s"),
            ("rtsp:/admin:pw-x@host/s", "rtsp:***@host/s"),
        ] {
            assert_eq!(redact_malformed(typo), shown);
            let err = parse_uri(typo, Path::new("/etc")).map(|_| ()).unwrap_err();
            assert!(!err.contains("pw-x"), "{err}");
        }
        assert_eq!(
            redact_malformed("rtsp//admin:pw-x@host"),
            "rtsp//admin:***@host"
        );
        // Without a scheme it would be a file path, whose name reaches the logs.
        let err = parse_uri("rtsp//admin:pw-x@host/s", Path::new("/etc"))
            .map(|_| ())
            .unwrap_err();
        assert!(
            err.contains("check the `://`") && !err.contains("pw-x"),
            "{err}"
        );
        assert_eq!(
            parse_uri("clips/a@b.mp4", Path::new("/srv")),
            Ok(SourceKind::File(PathBuf::from("/srv/clips/a@b.mp4"))),
            "an `@` alone is a file name"
        );
        assert_eq!(
            redact_malformed("rtsp://u:pw@h/x"),
            "rtsp://***@h/x",
            "well-formed userinfo is redacted as usual"
        );
        assert_eq!(redact_malformed("ftp://host/a"), "ftp://host/a");
    }

    #[test]
    fn redact_userinfo_keeps_references_only() {
        for (written, shown) in [
            (
                "rtsp://a:${credential:c}@h/x",
                "rtsp://***:${credential:c}@h/x",
            ),
            (
                "rtsp://${U}:${file:/etc/pw}@h/x",
                "rtsp://${U}:${file:/etc/pw}@h/x",
            ),
            ("rtsp://${U}:p${X}@h", "rtsp://${U}:***@h"),
            ("rtsp://a:b@h", "rtsp://***@h"),
            ("rtsp://${U}@h", "rtsp://${U}@h"),
            ("${credential:uri}", "${credential:uri}"),
            ("rtsp://h/${X}", "rtsp://h/${X}"),
        ] {
            assert_eq!(redact_userinfo(written), shown);
        }
    }

    #[test]
    fn redact_uri_hides_user_and_password() {
        assert_eq!(
            redact_uri("rtsp://admin:secret@10.0.0.5:554/stream1"),
            "rtsp://***@10.0.0.5:554/stream1"
        );
        assert_eq!(
            redact_uri("rtsps://admin@cam.local/live"),
            "rtsps://***@cam.local/live"
        );
        assert_eq!(
            redact_uri("https://u:p@example.com"),
            "https://***@example.com"
        );
    }

    #[test]
    fn redact_uri_leaves_uris_without_userinfo_alone() {
        for uri in [
            "rtsp://10.0.0.5:554/stream1",
            "rtsp://[::1]:8554/test",
            "http://example.com/a@b",
            "file:///srv/clips/a.mp4",
            "test:ball",
            "clips/a.mp4",
            "",
        ] {
            assert_eq!(redact_uri(uri), uri);
        }
    }

    #[test]
    fn redact_uri_handles_awkward_passwords() {
        // Unescaped `@` in the password: the last `@` of the authority ends it.
        assert_eq!(
            redact_uri("rtsp://admin:p@ss@cam/live"),
            "rtsp://***@cam/live"
        );
        // Unescaped `/`, `?` and `#` in the password.
        assert_eq!(
            redact_uri("rtsp://admin:pa/ss@cam/live"),
            "rtsp://***@cam/live"
        );
        assert_eq!(
            redact_uri("rtsp://admin:pa?s#s@cam:554/live"),
            "rtsp://***@cam:554/live"
        );
        // Percent-encoded characters are just part of the userinfo.
        assert_eq!(
            redact_uri("rtsp://admin:Pass!w0rd@cam/live"),
            "rtsp://***@cam/live"
        );
        assert_eq!(
            redact_uri("rtsp://ad%40min:p%2Fw@cam/live"),
            "rtsp://***@cam/live"
        );
    }

    #[test]
    fn redact_uri_handles_every_uri_in_a_pipeline() {
        let pipeline = "rtspsrc location=rtsp://a:b@cam1/x ! fakesink \
                        souphttpsrc location=\"http://c:d@cam2/y\"";
        let redacted = redact_uri(pipeline);
        assert_eq!(
            redacted,
            "rtspsrc location=rtsp://***@cam1/x ! fakesink \
             souphttpsrc location=\"http://***@cam2/y\""
        );
    }

    #[test]
    fn uri_kinds() {
        let base = Path::new("/etc/actiond");
        assert_eq!(
            parse_uri("rtsp://u:p@cam/x", base),
            Ok(SourceKind::Rtsp("rtsp://u:p@cam/x".into()))
        );
        assert_eq!(
            parse_uri("RTSPS://cam/x", base),
            Ok(SourceKind::Rtsp("RTSPS://cam/x".into()))
        );
        assert_eq!(
            parse_uri("https://cam/x.mjpg", base),
            Ok(SourceKind::Http("https://cam/x.mjpg".into()))
        );
        assert_eq!(
            parse_uri("file:///srv/a.mp4", base),
            Ok(SourceKind::File("/srv/a.mp4".into()))
        );
        assert_eq!(
            parse_uri("v4l2:///dev/video2", base),
            Ok(SourceKind::V4l2("/dev/video2".into()))
        );
        assert_eq!(
            parse_uri("test:smpte-rp-219", base),
            Ok(SourceKind::Test("smpte-rp-219".into()))
        );
        assert_eq!(
            parse_uri("clips/a.mp4", base),
            Ok(SourceKind::File("/etc/actiond/clips/a.mp4".into()))
        );
        assert_eq!(
            parse_uri("./clips/a:b.mp4", base),
            Ok(SourceKind::File("/etc/actiond/clips/a:b.mp4".into()))
        );
        assert_eq!(
            parse_uri("/srv/a.mp4", base),
            Ok(SourceKind::File("/srv/a.mp4".into()))
        );
    }

    #[test]
    fn bad_uris() {
        let base = Path::new("/etc/actiond");
        let err = parse_uri("ftp://bob:hunter2@host/x", base).unwrap_err();
        assert!(err.contains("unsupported scheme `ftp`"), "{err}");
        assert!(
            err.contains("rtsp://") && err.contains("test:<pattern>"),
            "{err}"
        );
        assert!(!err.contains("hunter2") && !err.contains("bob"), "{err}");

        let err = parse_uri("rtsp://bob:hunter2@", base).unwrap_err();
        assert!(err.contains("no host"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");

        assert!(parse_uri("rtsp:cam", base).unwrap_err().contains("no host"));
        assert!(parse_uri("file://host/a.mp4", base)
            .unwrap_err()
            .contains("file:///"));
        assert!(parse_uri("v4l2://video0", base)
            .unwrap_err()
            .contains("v4l2:///dev/videoN"));
        let err = parse_uri("test:plasma", base).unwrap_err();
        assert!(err.contains("unknown test pattern `plasma`"), "{err}");
        assert!(
            err.contains("ball") && err.contains("smpte-rp-219"),
            "{err}"
        );
    }
}
