//! What a pipeline error means for its stream: GStreamer's errors (and the
//! "missing-plugin" messages before them) mapped to reasons a user can act on, and
//! to whether retrying soon can help. A source that cannot work as it is now (not
//! video, empty, missing, unreadable, no decoder installed) is reported as unusable
//! and checked again slowly; anything else is retried with the usual backoff.

use std::path::Path;

use gstreamer as gst;

use crate::config::SourceKind;

/// A plugin GStreamer found missing, from a "missing-plugin" element message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPlugin {
    /// What kind: `decoder`, `encoder`, `element`, `urisource`, …
    pub kind: String,
    /// The media type it would handle (for decoders), e.g. `video/x-h265`.
    pub media: Option<String>,
    /// GStreamer's description, e.g. `H.265 (Main Profile) decoder`.
    pub description: Option<String>,
}

/// What the bus said about one pipeline before an error that it helps explain.
#[derive(Debug, Default)]
pub struct Clues {
    missing: Vec<MissingPlugin>,
}

impl Clues {
    /// Records `msg` if it is a "missing-plugin" message; returns true if it was.
    pub fn observe(&mut self, msg: &gst::Message) -> bool {
        let gst::MessageView::Element(e) = msg.view() else {
            return false;
        };
        let Some(s) = e.structure() else {
            return false;
        };
        if s.name() != "missing-plugin" {
            return false;
        }
        let media = s
            .get::<gst::Caps>("detail")
            .ok()
            .and_then(|c| c.structure(0).map(|s| s.name().to_string()))
            .or_else(|| s.get::<String>("detail").ok());
        let found = MissingPlugin {
            kind: s.get::<String>("type").unwrap_or_default(),
            media,
            description: s.get::<String>("name").ok(),
        };
        tracing::debug!("GStreamer misses a plugin: {found:?}");
        if !self.missing.contains(&found) {
            self.missing.push(found);
        }
        true
    }

    /// The missing plugins recorded so far.
    pub fn missing(&self) -> &[MissingPlugin] {
        &self.missing
    }

    /// Why the source of `kind` cannot work as it is now, if the error `error` (with
    /// GStreamer's `debug` detail) says so; None when retrying soon may help.
    /// `decoded_any` tells whether this pipeline decoded a frame before the error.
    pub fn unusable(
        &self,
        kind: &SourceKind,
        error: &gst::glib::Error,
        debug: Option<&str>,
        decoded_any: bool,
    ) -> Option<String> {
        if error.matches(gst::CoreError::MissingPlugin)
            || error.matches(gst::StreamError::CodecNotFound)
        {
            return self.no_decoder(kind, debug);
        }
        let SourceKind::File(path) = kind else {
            return None;
        };
        file_unusable(path, error, debug, decoded_any)
    }

    /// The reason for a codec with no decoder installed, naming codec and package.
    fn no_decoder(&self, kind: &SourceKind, debug: Option<&str>) -> Option<String> {
        let decoder = self
            .missing
            .iter()
            .find(|m| m.kind == "decoder" && is_video(m.media.as_deref()))
            .or_else(|| self.missing.iter().find(|m| m.kind == "decoder"));
        let (media, description) = match decoder {
            Some(m) => (m.media.clone(), m.description.clone()),
            None => {
                // Without the message, GStreamer's debug text still names it:
                // "Missing decoder: H.264 (High Profile) (video/x-h264, …)".
                let parsed = debug.and_then(parse_missing_decoder);
                match parsed {
                    Some((d, m)) => (Some(m), Some(d)),
                    // An RTSP or HTTP source says this for other causes too.
                    None if !matches!(kind, SourceKind::File(_)) => return None,
                    None => (None, None),
                }
            }
        };
        let codec = media.as_deref().map(codec_name).unwrap_or("this format");
        let package = media.as_deref().map(package_for).unwrap_or(ANY_PACKAGE);
        let described = description
            .map(|d| format!(" ({})", d.trim_end_matches(" decoder")))
            .unwrap_or_default();
        Some(format!(
            "no GStreamer decoder installed for {codec}{described}; install {package}"
        ))
    }
}

/// The packages to suggest when the codec is not known.
const ANY_PACKAGE: &str = "gstreamer1.0-libav and gstreamer1.0-plugins-bad";

/// Why a local file cannot work as it is now, if the error says so.
fn file_unusable(
    path: &Path,
    error: &gst::glib::Error,
    debug: Option<&str>,
    decoded_any: bool,
) -> Option<String> {
    let shown = path.display();
    if error.matches(gst::ResourceError::NotFound) {
        return Some(format!("no such file: {shown}"));
    }
    if error.matches(gst::ResourceError::OpenRead) || error.matches(gst::ResourceError::Read) {
        let why = debug
            .and_then(|d| d.rsplit("system error: ").next())
            .filter(|d| !d.is_empty())
            .unwrap_or("unreadable");
        return Some(format!("cannot read {shown}: {why}"));
    }
    if error.matches(gst::StreamError::TypeNotFound) {
        if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
            return Some(format!("{shown} is empty (0 bytes)"));
        }
        return Some(format!(
            "{shown} is not a video file (GStreamer cannot tell what it contains)"
        ));
    }
    if error.matches(gst::StreamError::WrongType) && !decoded_any {
        return Some(format!("{shown} is not a video file: {error}"));
    }
    if error.matches(gst::StreamError::Demux) && !decoded_any {
        return Some(format!(
            "{shown} holds no video GStreamer can play: {error}"
        ));
    }
    if error.matches(gst::StreamError::Decode) && !decoded_any {
        return Some(format!(
            "no video frame could be decoded from {shown} (not video, or damaged): {error}"
        ));
    }
    None
}

/// True for a video or image media type (or an unknown one).
fn is_video(media: Option<&str>) -> bool {
    media.is_none_or(|m| m.starts_with("video/") || m.starts_with("image/"))
}

/// Parses "Missing decoder: DESCRIPTION (MEDIA, …" out of GStreamer's debug text.
fn parse_missing_decoder(debug: &str) -> Option<(String, String)> {
    let rest = &debug[debug.find("Missing decoder: ")? + "Missing decoder: ".len()..];
    let open = rest.find(" (video/").or_else(|| rest.find(" (image/"))?;
    let description = rest[..open].to_string();
    let media: String = rest[open + 2..]
        .chars()
        .take_while(|c| !matches!(c, ',' | ')' | ' '))
        .collect();
    Some((description, media))
}

/// A codec's common name from its GStreamer media type.
pub fn codec_name(media: &str) -> &'static str {
    match media {
        "video/x-h264" => "H.264",
        "video/x-h265" => "H.265/HEVC",
        "video/x-h266" => "H.266/VVC",
        "video/x-vp8" => "VP8",
        "video/x-vp9" => "VP9",
        "video/x-av1" => "AV1",
        "image/jpeg" => "MJPEG",
        "video/mpeg" => "MPEG video",
        "video/x-theora" => "Theora",
        "video/x-wmv" => "Windows Media Video",
        "video/x-prores" => "ProRes",
        "video/x-divx" | "video/x-xvid" => "MPEG-4 Part 2",
        _ => "this codec",
    }
}

/// The Debian package(s) whose plugins decode `media`.
pub fn package_for(media: &str) -> &'static str {
    match media {
        "video/x-h264" => {
            "gstreamer1.0-libav (avdec_h264) or gstreamer1.0-plugins-bad (openh264dec)"
        }
        "video/x-h265" => {
            "gstreamer1.0-libav (avdec_h265) or gstreamer1.0-plugins-bad (libde265dec)"
        }
        "video/x-vp8" | "video/x-vp9" => "gstreamer1.0-plugins-good (vpxdec) or gstreamer1.0-libav",
        "video/x-av1" => "gstreamer1.0-plugins-bad (dav1ddec, av1dec) or gstreamer1.0-libav",
        "image/jpeg" => "gstreamer1.0-plugins-good (jpegdec)",
        "video/x-theora" => "gstreamer1.0-plugins-base (theoradec)",
        _ => ANY_PACKAGE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gst::prelude::*;
    use std::path::PathBuf;

    #[test]
    fn common_codecs_name_their_package() {
        assert_eq!(codec_name("video/x-h265"), "H.265/HEVC");
        assert!(package_for("video/x-h265").starts_with("gstreamer1.0-libav"));
        assert!(package_for("image/jpeg").contains("plugins-good"));
        assert_eq!(package_for("video/x-nothing"), ANY_PACKAGE);
    }

    #[test]
    fn the_decoder_is_read_from_the_debug_text() {
        let debug = "gsturidecodebin.c(1049): no_more_pads_full (): /GstPipeline:p/GstURIDecodeBin:u:\n\
                     no suitable plugins found:\nMissing decoder: H.265 (Main Profile) (video/x-h265, \
                     stream-format=(string)hvc1, alignment=(string)au)\n";
        assert_eq!(
            parse_missing_decoder(debug),
            Some(("H.265 (Main Profile)".into(), "video/x-h265".into()))
        );
        assert_eq!(parse_missing_decoder("no suitable plugins found"), None);
    }

    fn missing_plugin_message(media: &str, name: &str) -> gst::Message {
        let s = gst::Structure::builder("missing-plugin")
            .field("type", "decoder")
            .field("detail", gst::Caps::new_empty_simple(media))
            .field("name", name)
            .build();
        gst::message::Element::new(s)
    }

    #[test]
    fn a_missing_decoder_is_named_with_its_package() {
        gst::init().unwrap();
        let mut clues = Clues::default();
        assert!(clues.observe(&missing_plugin_message(
            "video/x-h265",
            "H.265 (Main 10 Profile) decoder"
        )));
        let other = gst::message::Element::new(gst::Structure::new_empty("other"));
        assert!(!clues.observe(&other));
        let err = gst::glib::Error::new(
            gst::CoreError::MissingPlugin,
            "Your GStreamer installation is missing a plug-in.",
        );
        let rtsp = SourceKind::Rtsp("rtsp://cam/1".into());
        let why = clues.unusable(&rtsp, &err, None, false).unwrap();
        assert_eq!(
            why,
            format!(
                "no GStreamer decoder installed for H.265/HEVC (H.265 (Main 10 Profile)); install {}",
                package_for("video/x-h265")
            )
        );
        // Without a missing decoder named, an RTSP "missing plug-in" is not a codec problem.
        assert_eq!(Clues::default().unusable(&rtsp, &err, None, false), None);
    }

    #[test]
    fn file_errors_say_what_is_wrong_with_the_file() {
        gst::init().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.mp4");
        std::fs::write(&empty, b"").unwrap();
        let text = dir.path().join("notes.mp4");
        std::fs::write(&text, b"hello, this is text").unwrap();
        let clues = Clues::default();
        let typefind = gst::glib::Error::new(gst::StreamError::TypeNotFound, "x");
        let file = |p: &PathBuf| SourceKind::File(p.clone());
        let why = clues.unusable(&file(&empty), &typefind, None, false);
        assert_eq!(
            why.unwrap(),
            format!("{} is empty (0 bytes)", empty.display())
        );
        let why = clues
            .unusable(&file(&text), &typefind, None, false)
            .unwrap();
        assert!(why.contains("is not a video file"), "{why}");
        let gone = gst::glib::Error::new(gst::ResourceError::NotFound, "Resource not found.");
        let missing = dir.path().join("gone.mp4");
        let why = clues.unusable(&file(&missing), &gone, None, false).unwrap();
        assert_eq!(why, format!("no such file: {}", missing.display()));
        // A decode error after frames were decoded is damage, retried as usual.
        let decode = gst::glib::Error::new(gst::StreamError::Decode, "No valid frames");
        assert!(clues.unusable(&file(&text), &decode, None, false).is_some());
        assert_eq!(clues.unusable(&file(&text), &decode, None, true), None);
        // The same errors from a camera are transient.
        let rtsp = SourceKind::Rtsp("rtsp://cam/1".into());
        assert_eq!(clues.unusable(&rtsp, &gone, None, false), None);
    }

    /// Real GStreamer on real files: the errors it posts are the ones mapped above.
    #[test]
    fn real_pipelines_on_bad_files_are_classified() {
        gst::init().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.mp4");
        std::fs::write(&text, "just some text, not video at all\n".repeat(50)).unwrap();
        let empty = dir.path().join("empty.mp4");
        std::fs::write(&empty, b"").unwrap();
        let gone = dir.path().join("gone.mp4");
        for (path, expect) in [
            (&text, "is not a video file"),
            (&empty, "is empty (0 bytes)"),
            (&gone, "no such file"),
        ] {
            let why = classify_real(path);
            assert!(why.contains(expect), "{}: {why}", path.display());
        }
    }

    /// Plays `path` through uridecodebin until the first error; classifies it.
    fn classify_real(path: &Path) -> String {
        let uri = gst::glib::filename_to_uri(path, None).unwrap();
        let desc = format!("uridecodebin uri={uri} caps=video/x-raw ! fakesink");
        let p = gst::parse::launch(&desc).unwrap();
        let _ = p.set_state(gst::State::Playing);
        let bus = p.bus().unwrap();
        let mut clues = Clues::default();
        let kind = SourceKind::File(path.to_path_buf());
        let why = loop {
            let Some(msg) = bus.timed_pop(gst::ClockTime::from_seconds(10)) else {
                break "no error within 10 s".to_string();
            };
            clues.observe(&msg);
            if let gst::MessageView::Error(e) = msg.view() {
                let debug = e.debug().map(|d| d.to_string());
                break clues
                    .unusable(&kind, &e.error(), debug.as_deref(), false)
                    .unwrap_or_else(|| format!("transient: {}", e.error()));
            }
        };
        let _ = p.set_state(gst::State::Null);
        why
    }
}
