//! systemd's `STATUS=` kept current: "N of M streams running", sent when it changes.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::sys::notify::Notifier;

/// The status line `systemctl status` shows.
pub(super) fn line(running: usize, total: usize) -> String {
    format!("{running} of {total} streams running")
}

/// Which streams run, and the line last sent.
#[derive(Default)]
struct Counts {
    /// The daemon's streams now, in file order.
    streams: Vec<String>,
    /// The latest known state of every stream seen: running or not.
    running: HashMap<String, bool>,
    /// The line last sent.
    sent: String,
}

impl Counts {
    /// The line for the streams now.
    fn line(&self) -> String {
        let up = self
            .streams
            .iter()
            .filter(|s| self.running.get(*s).copied().unwrap_or(false))
            .count();
        line(up, self.streams.len())
    }

    /// The line, if it differs from the one last sent (which it becomes).
    fn changed(&mut self) -> Option<String> {
        let now = self.line();
        (now != self.sent).then(|| {
            self.sent = now.clone();
            now
        })
    }
}

/// Sends `STATUS=` lines to systemd as streams start and stop.
pub(super) struct StatusLine {
    /// systemd's notify socket (a no-op without one).
    notifier: Notifier,
    /// What the line counts.
    counts: Mutex<Counts>,
}

impl StatusLine {
    /// A status line over `streams` (none running yet); nothing is sent until
    /// [`StatusLine::current`] or a change.
    pub(super) fn new(notifier: Notifier, streams: Vec<String>) -> Self {
        let counts = Counts {
            streams,
            ..Counts::default()
        };
        StatusLine {
            notifier,
            counts: Mutex::new(counts),
        }
    }

    /// Locks the counts (a panic elsewhere cannot leave them inconsistent).
    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The line now (marked as sent: the caller sends it, e.g. with `READY=1`).
    pub(super) fn current(&self) -> String {
        let mut c = self.counts();
        c.sent = c.line();
        c.sent.clone()
    }

    /// Records that `stream` is running or not; sends the line if it changed.
    pub(super) fn update(&self, stream: &str, running: bool) {
        let mut c = self.counts();
        c.running.insert(stream.to_string(), running);
        if let Some(now) = c.changed() {
            self.notifier.send(&format!("STATUS={now}"));
        }
    }

    /// The daemon's streams after a reload; the line is sent with the reload's `READY=1`.
    pub(super) fn set_streams(&self, streams: Vec<String>) {
        self.counts().streams = streams;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_the_current_streams_and_changes_once() {
        let l = StatusLine::new(Notifier::disabled(), vec!["a".into(), "b".into()]);
        assert_eq!(l.current(), "0 of 2 streams running");
        l.update("a", true);
        assert_eq!(l.counts().sent, "1 of 2 streams running");
        assert_eq!(l.counts().changed(), None, "unchanged: nothing to send");
        l.update("c", true);
        assert_eq!(
            l.counts().sent,
            "1 of 2 streams running",
            "c is not a stream"
        );
        l.set_streams(vec!["a".into(), "c".into()]);
        assert_eq!(l.current(), "2 of 2 streams running");
        l.update("a", false);
        assert_eq!(l.counts().sent, "1 of 2 streams running");
    }
}
