//! The head of an `http://` or `https://` stream: `souphttpsrc` (live, frames
//! timestamped on arrival, credentials from the URI) and `typefind`; a
//! `multipart/x-mixed-replace` body (MJPEG cameras) goes to `multipartdemux ! jpegdec`,
//! anything else (an MP4 or TS file, HLS) to `decodebin`. Also says in words what an
//! HTTP error means (401, 404, connection refused, not video).

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;

use super::lifecycle::Event;
use super::pipeline::PipelineError;
use crate::config::{redact_uri, SourceKind};

/// The media type `typefind` gives a multipart (MJPEG camera) body.
const MULTIPART: &str = "multipart/x-mixed-replace";

/// A URI split into the location given to `souphttpsrc` and its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The URI without user and password.
    pub uri: String,
    /// The user name (percent-decoded), if the URI has one.
    pub user: Option<String>,
    /// The password (percent-decoded), if the URI has one.
    pub password: Option<String>,
    /// `host:port` to connect to (port 80 or 443 when not given).
    pub authority: String,
}

impl Location {
    /// Splits `uri` (`http[s]://[user[:password]@]host[:port]/path`).
    pub fn parse(uri: &str) -> Location {
        let (scheme, rest) = uri.split_once("://").unwrap_or(("http", uri));
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let (userinfo, host) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((u, p)) => (Some(percent_decode(u)), Some(percent_decode(p))),
                None => (Some(percent_decode(info)), None),
            },
            None => (None, None),
        };
        let has_port = host.rsplit_once(':').is_some_and(|(_, p)| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !host.ends_with(']')
        });
        let default_port = if scheme.eq_ignore_ascii_case("https") {
            443
        } else {
            80
        };
        Location {
            uri: format!("{scheme}://{host}{path}"),
            user,
            password,
            authority: if has_port {
                host.to_string()
            } else {
                format!("{host}:{default_port}")
            },
        }
    }
}

/// Decodes `%XX` escapes (invalid escapes stay as written).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn make(factory: &'static str) -> Result<gst::Element, PipelineError> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| PipelineError::MissingElement(factory))
}

fn build_err(e: &dyn std::fmt::Display) -> PipelineError {
    PipelineError::Build(e.to_string())
}

/// The head for `uri`: a bin whose `src` pad (raw video) appears once the body's type is
/// known; MJPEG frames are declared to come at most max(`sample_fps`, 120) a second.
pub fn head(uri: &str, sample_fps: f64) -> Result<gst::Element, PipelineError> {
    let loc = Location::parse(uri);
    let max_fps = sample_fps.ceil().clamp(120.0, 10_000.0) as i32;
    let bin = gst::Bin::with_name("http");
    let src = make("souphttpsrc")?;
    src.set_property("location", loc.uri.as_str());
    // A camera is live: frames are timestamped when they arrive.
    src.set_property("is-live", true);
    src.set_property("do-timestamp", true);
    if let Some(user) = &loc.user {
        src.set_property("user-id", user.as_str());
    }
    if let Some(password) = &loc.password {
        src.set_property("user-pw", password.as_str());
    }
    let find = make("typefind")?;
    bin.add_many([&src, &find]).map_err(|e| build_err(&e))?;
    src.link(&find).map_err(|e| build_err(&e))?;
    let weak = bin.downgrade();
    find.connect("have-type", false, move |args| {
        let find = args[0].get::<gst::Element>().ok()?;
        let caps = args[2].get::<gst::Caps>().ok()?;
        let bin = weak.upgrade()?;
        let media = caps
            .structure(0)
            .map(|s| s.name().to_string())
            .unwrap_or_default();
        if let Err(e) = branch(&bin, &find, &media, max_fps) {
            gst::element_error!(find, gst::StreamError::Failed, ("{}", e));
        }
        None
    });
    Ok(bin.upcast())
}

/// Adds what decodes a body of type `media` after `find`, or posts why it cannot be video.
fn branch(
    bin: &gst::Bin,
    find: &gst::Element,
    media: &str,
    max_fps: i32,
) -> Result<(), PipelineError> {
    if !could_be_video(media) {
        gst::element_error!(find, gst::StreamError::WrongType, ("{}", not_video(media)));
        return Ok(());
    }
    let decode = if media == MULTIPART {
        mjpeg(bin, max_fps)?
    } else {
        decodebin(bin)?
    };
    find.link(&decode).map_err(|e| build_err(&e))
}

/// `multipartdemux ! jpegdec ! capssetter` in `bin`, exposed as its `src`; returns the demuxer.
fn mjpeg(bin: &gst::Bin, max_fps: i32) -> Result<gst::Element, PipelineError> {
    let demux = make("multipartdemux")?;
    // One stream of one type: its pad is complete at once.
    demux.set_property("single-stream", true);
    let dec = make("jpegdec")?;
    let rate = declared_rate(max_fps)?;
    bin.add_many([&demux, &dec, &rate])
        .map_err(|e| build_err(&e))?;
    dec.link(&rate).map_err(|e| build_err(&e))?;
    let sink = dec
        .static_pad("sink")
        .ok_or_else(|| build_err(&"jpegdec has no sink pad"))?;
    demux.connect_pad_added(move |demux, pad| {
        if sink.is_linked() {
            return;
        }
        if let Err(e) = pad.link(&sink) {
            let part = pad
                .current_caps()
                .and_then(|c| c.structure(0).map(|s| s.name().to_string()))
                .unwrap_or_default();
            gst::element_error!(
                demux,
                gst::StreamError::WrongType,
                ("not MJPEG: the camera's multipart stream carries {part}, not image/jpeg"),
                ["linking failed: {e:?}"]
            );
        }
    });
    expose(bin, &rate, "src")?;
    for e in [&demux, &dec, &rate] {
        e.sync_state_with_parent().map_err(|e| build_err(&e))?;
    }
    Ok(demux)
}

/// `decodebin` in `bin`, its first video pad exposed as the bin's `src`.
fn decodebin(bin: &gst::Bin) -> Result<gst::Element, PipelineError> {
    let dec = make("decodebin")?;
    bin.add(&dec).map_err(|e| build_err(&e))?;
    let b = bin.downgrade();
    dec.connect_pad_added(move |_, pad| {
        if let Some(bin) = b.upgrade() {
            expose_pad(&bin, pad);
        }
    });
    dec.sync_state_with_parent().map_err(|e| build_err(&e))?;
    Ok(dec)
}

/// Multipart JPEG has no frame rate (`0/1`, variable), which the sampler's `videorate`
/// (drop-only) cannot turn into `sample_fps`: declare an upper bound instead; frames
/// keep their arrival timestamps, so only timestamps decide what is dropped.
fn declared_rate(max_fps: i32) -> Result<gst::Element, PipelineError> {
    let set = make("capssetter")?;
    set.set_property(
        "caps",
        gst::Caps::builder("video/x-raw")
            .field("framerate", gst::Fraction::new(max_fps, 1))
            .build(),
    );
    Ok(set)
}

/// Gives `bin` a `src` ghost pad for `element`'s pad `name`.
fn expose(bin: &gst::Bin, element: &gst::Element, name: &str) -> Result<(), PipelineError> {
    let pad = element
        .static_pad(name)
        .ok_or_else(|| build_err(&format!("no pad {name}")))?;
    expose_pad(bin, &pad);
    Ok(())
}

/// Gives `bin` a `src` ghost pad for `pad` if it carries video and `bin` has none yet.
fn expose_pad(bin: &gst::Bin, pad: &gst::Pad) {
    if bin.static_pad("src").is_some() {
        return;
    }
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let video = caps
        .structure(0)
        .is_some_and(|s| s.name().starts_with("video/"));
    if !video {
        return;
    }
    let Ok(ghost) = gst::GhostPad::builder_with_target(pad).map(|b| b.name("src").build()) else {
        return;
    };
    let _ = ghost.set_active(true);
    if let Err(e) = bin.add_pad(&ghost) {
        tracing::warn!("exposing the HTTP source's video failed: {e}");
    }
}

/// False for body types that are certainly not video (a web page, text, JSON, an image).
fn could_be_video(media: &str) -> bool {
    let not = media.starts_with("text/")
        || media.starts_with("image/")
        || media.starts_with("audio/")
        || matches!(
            media,
            "application/xml" | "application/json" | "application/xhtml+xml"
        );
    !not
}

/// The reason for a body of type `media` that is not video.
fn not_video(media: &str) -> String {
    let hint = if media.starts_with("text/") || media.contains("xml") || media.contains("json") {
        " (a web page or API answer: use the camera's MJPEG stream URL)"
    } else if media.starts_with("image/") {
        " (a single picture, e.g. a snapshot URL: use the camera's MJPEG stream URL)"
    } else {
        ""
    };
    format!("not video: the server sent {media}{hint}")
}

/// What an error from an HTTP source's pipeline means, in words a user can act on,
/// when it is an HTTP failure (`authority` is the camera's `host:port`); None otherwise.
pub fn diagnose(error: &gst::glib::Error, debug: Option<&str>, authority: &str) -> Option<String> {
    let text = error.to_string();
    let debug = debug.unwrap_or_default();
    let status = http_status(debug);
    if error.matches(gst::ResourceError::NotAuthorized) || status == Some(401) {
        return Some(format!(
            "401 unauthorized: {authority} refused the user and password (check them in the URI; \
             basic and digest authentication are supported)"
        ));
    }
    match status {
        Some(403) => {
            return Some(format!(
                "403 forbidden: {authority} refuses this user the stream (check its rights on the camera)"
            ))
        }
        Some(404) => {
            return Some(format!(
                "404 not found: {authority} has no such stream (check the path in the URI)"
            ))
        }
        Some(code) => return Some(format!("HTTP {code} from {authority}: {text}")),
        None => {}
    }
    if error.matches(gst::StreamError::WrongType) {
        return Some(text);
    }
    if error.matches(gst::StreamError::Failed) && debug.contains("reason error") {
        return unreachable(authority);
    }
    None
}

/// The HTTP status `souphttpsrc` names in its debug text (`Not Found (404), URL: …`).
fn http_status(debug: &str) -> Option<u16> {
    let end = debug.find("), URL:")?;
    let start = debug[..end].rfind('(')? + 1;
    debug[start..end]
        .parse()
        .ok()
        .filter(|c| (400..600).contains(c))
}

/// The lifecycle event for `msg` when it is an error of an HTTP stream whose cause is
/// known; GStreamer's own text goes to the log (credentials redacted).
pub fn event(msg: &gst::Message, kind: &SourceKind) -> Option<Event> {
    let SourceKind::Http(uri) = kind else {
        return None;
    };
    let gst::MessageView::Error(err) = msg.view() else {
        return None;
    };
    let detail = err.debug().map(|d| d.to_string());
    let why = diagnose(
        &err.error(),
        detail.as_deref(),
        &Location::parse(uri).authority,
    )?;
    let from = msg.src().map(|o| o.path_string().to_string());
    tracing::warn!(
        "GStreamer error from {}: {} ({})",
        from.unwrap_or_default(),
        redact_uri(&err.error().to_string()),
        redact_uri(detail.as_deref().unwrap_or_default())
    );
    Some(Event::SourceFailed { why })
}

/// Why `authority` cannot be reached, if a quick connection attempt says so.
fn unreachable(authority: &str) -> Option<String> {
    let addrs = match authority.to_socket_addrs() {
        Ok(a) => a.collect::<Vec<_>>(),
        Err(e) => return Some(format!("cannot resolve {authority}: {e}")),
    };
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(_) => return None,
            Err(e) => last = Some(e),
        }
    }
    let e = last?;
    Some(match e.kind() {
        std::io::ErrorKind::ConnectionRefused => format!(
            "connection refused: nothing listens on {authority} (is the camera on and the port right?)"
        ),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            format!("timeout: {authority} does not answer (network or firewall?)")
        }
        _ => format!("cannot connect to {authority}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_location() {
        let l = Location::parse("http://ad%40min:p%3Aw@cam:8080/x.mjpg?a=1");
        assert_eq!(l.uri, "http://cam:8080/x.mjpg?a=1");
        assert_eq!(l.user.as_deref(), Some("ad@min"));
        assert_eq!(l.password.as_deref(), Some("p:w"));
        assert_eq!(l.authority, "cam:8080");
        let l = Location::parse("https://cam/x");
        assert_eq!((l.uri.as_str(), l.user), ("https://cam/x", None));
        assert_eq!(l.authority, "cam:443");
        assert_eq!(Location::parse("http://u@[::1]/").authority, "[::1]:80");
        assert_eq!(Location::parse("http://u@[::1]:81/").authority, "[::1]:81");
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    #[test]
    fn web_pages_are_not_video() {
        assert!(!could_be_video("text/html"));
        assert!(could_be_video(MULTIPART));
        assert!(could_be_video("video/quicktime"));
        assert!(not_video("text/html").contains("MJPEG stream URL"));
        assert!(not_video("image/jpeg").contains("snapshot"));
    }

    #[test]
    fn http_errors_name_their_cause() {
        let e = gst::glib::Error::new(gst::ResourceError::NotAuthorized, "Unauthorized");
        assert!(diagnose(&e, None, "cam:80")
            .unwrap()
            .starts_with("401 unauthorized"));
        let e = gst::glib::Error::new(gst::ResourceError::NotFound, "Not Found");
        let debug =
            "gstsouphttpsrc.c(1683): Not Found (404), URL: http://cam/x, Redirect to: (NULL)";
        let why = diagnose(&e, Some(debug), "cam:80").unwrap();
        assert!(why.starts_with("404 not found"), "{why}");
        let e = gst::glib::Error::new(gst::ResourceError::Read, "Service Unavailable");
        let debug = "Service Unavailable (503), URL: http://cam/x, Redirect to: (NULL)";
        let why = diagnose(&e, Some(debug), "cam:80").unwrap();
        assert_eq!(why, "HTTP 503 from cam:80: Service Unavailable");
        let e = gst::glib::Error::new(gst::CoreError::Failed, "other");
        assert_eq!(diagnose(&e, None, "cam:80"), None);
    }

    #[test]
    fn a_closed_port_is_connection_refused() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        drop(l);
        let e = gst::glib::Error::new(gst::StreamError::Failed, "Internal data stream error.");
        let why = diagnose(&e, Some("streaming stopped, reason error (-5)"), &addr).unwrap();
        assert!(why.starts_with("connection refused"), "{why}");
    }
}
