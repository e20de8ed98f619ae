//! Logging: structured journald entries under systemd, otherwise readable text
//! (or JSON lines) on stderr. Stream work runs in a `stream` span whose `stream`
//! field carries the stream's name, so every line of a stream names it: as the
//! `STREAM=` journal field, the `span.stream` JSON key, or `stream{stream=…}` in text.

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Environment variable choosing the log format (`auto`, `text`, `json`, `journald`).
pub const FORMAT_ENV: &str = "ACTIOND_LOG_FORMAT";

/// Where and how logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// The journal when stderr is connected to it (systemd sets `JOURNAL_STREAM`), else text.
    Auto,
    /// Readable lines on stderr (coloured on a terminal).
    Text,
    /// One JSON object per line on stderr.
    Json,
    /// Native journald entries with fields (STREAM, STATE, …).
    Journald,
}

impl LogFormat {
    /// Parses a format name as in `ACTIOND_LOG_FORMAT`.
    pub fn from_name(s: &str) -> Option<LogFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Some(LogFormat::Auto),
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            "journald" | "journal" => Some(LogFormat::Journald),
            _ => None,
        }
    }
}

/// True when `journal_stream` (the value of `JOURNAL_STREAM`, `DEV:INODE`) names the
/// file `stderr` is (`(dev, inode)`): systemd connected stderr to the journal.
pub fn is_journal_stream(journal_stream: &str, stderr: (u64, u64)) -> bool {
    let Some((dev, ino)) = journal_stream.trim().split_once(':') else {
        return false;
    };
    matches!((dev.parse::<u64>(), ino.parse::<u64>()), (Ok(d), Ok(i)) if (d, i) == stderr)
}

/// Whether this process's stderr goes to the journal.
fn stderr_is_journal() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    let Ok(meta) = std::fs::File::from(fd).metadata() else {
        return false;
    };
    is_journal_stream(&value.to_string_lossy(), (meta.dev(), meta.ino()))
}

/// The log filter without `RUST_LOG`: info and above; GStreamer's own messages off
/// (the daemon says what failed; `RUST_LOG=info,gstreamer=warn` adds them, see
/// [`super::gst_log`]).
pub const DEFAULT_FILTER: &str = "info,gstreamer=off";

/// Installs the global logger. `requested` comes from the command line; without it
/// `ACTIOND_LOG_FORMAT` decides, else `auto`. `RUST_LOG` sets the levels (default
/// [`DEFAULT_FILTER`]).
pub fn init(requested: Option<LogFormat>) {
    let mut note = None;
    let format = requested.unwrap_or_else(|| match std::env::var(FORMAT_ENV) {
        Ok(v) => LogFormat::from_name(&v).unwrap_or_else(|| {
            note = Some(format!(
                "{FORMAT_ENV}={v:?} is not one of auto, text, json, journald; using auto"
            ));
            LogFormat::Auto
        }),
        Err(_) => LogFormat::Auto,
    });
    let filter =
        || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let want_journal = match format {
        LogFormat::Journald => true,
        LogFormat::Auto => stderr_is_journal(),
        _ => false,
    };
    if want_journal {
        match tracing_journald::layer() {
            Ok(layer) => {
                let layer = layer
                    .with_field_prefix(None)
                    .with_syslog_identifier("actiond".into());
                tracing_subscriber::registry()
                    .with(filter())
                    .with(layer)
                    .init();
                if let Some(n) = note {
                    tracing::warn!("{n}");
                }
                return;
            }
            Err(e) => {
                note = Some(format!(
                    "cannot write to the journal ({e}); logging to stderr instead"
                ));
            }
        }
    }
    if format == LogFormat::Json {
        tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .init();
    }
    if let Some(n) = note {
        tracing::warn!("{n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_stream_must_match_stderr() {
        assert!(is_journal_stream("8:12345", (8, 12345)));
        assert!(is_journal_stream("8:12345\n", (8, 12345)));
        assert!(!is_journal_stream("8:12346", (8, 12345)));
        assert!(!is_journal_stream("9:12345", (8, 12345)));
        assert!(!is_journal_stream("", (8, 12345)));
        assert!(!is_journal_stream("8-12345", (8, 12345)));
        assert!(!is_journal_stream("x:y", (8, 12345)));
    }

    #[test]
    fn format_names() {
        assert_eq!(LogFormat::from_name("JSON"), Some(LogFormat::Json));
        assert_eq!(LogFormat::from_name("journal"), Some(LogFormat::Journald));
        assert_eq!(LogFormat::from_name(""), Some(LogFormat::Auto));
        assert_eq!(LogFormat::from_name("xml"), None);
    }
}
