//! A client of the daemon's NDJSON Unix socket.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

/// One message and when it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    pub at: Instant,
    /// Wall-clock arrival time, seconds since the Unix epoch.
    pub wall: f64,
    pub msg: Value,
}

impl Received {
    pub fn ty(&self) -> &str {
        self.msg["type"].as_str().unwrap_or("")
    }
}

/// Why [`Subscriber::recv`] returned no message.
#[derive(Debug)]
pub enum RecvError {
    Timeout,
    Closed,
    Io(io::Error),
    /// A line that is not a JSON object.
    BadLine(String),
}

/// Reads one JSON object per line from the daemon's socket. Every message
/// read is kept in [`Subscriber::history`].
pub struct Subscriber {
    reader: BufReader<UnixStream>,
    pending: Vec<u8>,
    pub history: Vec<Received>,
    pub connected_at: Instant,
}

impl Subscriber {
    pub fn connect(path: &Path) -> io::Result<Subscriber> {
        let stream = UnixStream::connect(path)?;
        Ok(Subscriber {
            reader: BufReader::new(stream),
            pending: Vec::new(),
            history: Vec::new(),
            connected_at: Instant::now(),
        })
    }

    /// The underlying stream (e.g. to shut it down).
    pub fn stream(&self) -> &UnixStream {
        self.reader.get_ref()
    }

    /// The next message, waiting at most `timeout`.
    pub fn recv(&mut self, timeout: Duration) -> Result<Received, RecvError> {
        let deadline = Instant::now() + timeout;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Err(RecvError::Timeout);
            }
            self.reader
                .get_ref()
                .set_read_timeout(Some(deadline - now))
                .map_err(RecvError::Io)?;
            // read_until keeps what it read before an error in `pending`, so a
            // line split across a timeout is not lost.
            match self.reader.read_until(b'\n', &mut self.pending) {
                Ok(0) => return Err(RecvError::Closed),
                Ok(_) if self.pending.last() == Some(&b'\n') => {
                    let line = std::mem::take(&mut self.pending);
                    let text = String::from_utf8_lossy(&line);
                    let text = text.trim();
                    if text.is_empty() {
                        continue;
                    }
                    let msg: Value = match serde_json::from_str(text) {
                        Ok(v @ Value::Object(_)) => v,
                        _ => return Err(RecvError::BadLine(text.to_owned())),
                    };
                    let r = Received {
                        at: Instant::now(),
                        wall: super::checks::now_unix(),
                        msg,
                    };
                    self.history.push(r.clone());
                    return Ok(r);
                }
                Ok(_) => return Err(RecvError::Closed), // EOF in the middle of a line
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(RecvError::Timeout)
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(RecvError::Io(e)),
            }
        }
    }

    /// The next message, or None on timeout; panics if the connection closes
    /// or a line is not a JSON object.
    pub fn next(&mut self, timeout: Duration) -> Option<Value> {
        match self.recv(timeout) {
            Ok(r) => Some(r.msg),
            Err(RecvError::Timeout) => None,
            Err(e) => panic!("subscriber: {e:?}\n{}", self.summary()),
        }
    }

    /// Reads the first message and asserts it is a `hello`.
    pub fn hello(&mut self, timeout: Duration) -> Value {
        assert!(
            self.history.is_empty(),
            "hello() must be the first read\n{}",
            self.summary()
        );
        let msg = self
            .next(timeout)
            .unwrap_or_else(|| panic!("no hello within {timeout:?}"));
        assert_eq!(msg["type"], "hello", "first message is not hello: {msg}");
        msg
    }

    /// The next message of type `ty` (others are read, kept in history and
    /// skipped). Panics on timeout.
    pub fn next_of_type(&mut self, ty: &str, timeout: Duration) -> Value {
        self.next_matching(timeout, |m| m["type"] == ty)
            .unwrap_or_else(|| panic!("no {ty:?} message within {timeout:?}\n{}", self.summary()))
            .msg
    }

    /// The next message for which `pred` holds, or None on timeout.
    pub fn next_matching(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Option<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left) {
                Ok(r) if pred(&r.msg) => return Some(r),
                Ok(_) => {}
                Err(RecvError::Timeout) => return None,
                Err(e) => panic!("subscriber: {e:?}\n{}", self.summary()),
            }
        }
    }

    /// `n` messages of type `ty` with their arrival times; panics if fewer
    /// arrive within `timeout`.
    pub fn collect_of_type(&mut self, ty: &str, n: usize, timeout: Duration) -> Vec<Received> {
        self.collect_matching(n, timeout, |m| m["type"] == ty)
            .unwrap_or_else(|got| {
                panic!(
                    "only {got} of {n} {ty:?} messages within {timeout:?}\n{}",
                    self.summary()
                )
            })
    }

    /// `n` messages for which `pred` holds, or Err(how many arrived).
    pub fn collect_matching(
        &mut self,
        n: usize,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Result<Vec<Received>, usize> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_matching(left, &mut pred) {
                Some(r) => out.push(r),
                None => return Err(out.len()),
            }
        }
        Ok(out)
    }

    /// `n` predictions (any stream); panics if fewer arrive within `timeout`.
    pub fn collect_predictions(&mut self, n: usize, timeout: Duration) -> Vec<Value> {
        self.collect_of_type("prediction", n, timeout)
            .into_iter()
            .map(|r| r.msg)
            .collect()
    }

    /// `n` predictions of each of `streams`; panics if that many do not
    /// arrive within `timeout`. Returns all messages read meanwhile, by stream.
    pub fn collect_predictions_per_stream(
        &mut self,
        streams: &[&str],
        n: usize,
        timeout: Duration,
    ) -> BTreeMap<String, Vec<Received>> {
        let deadline = Instant::now() + timeout;
        let mut by: BTreeMap<String, Vec<Received>> = streams
            .iter()
            .map(|s| (s.to_string(), Vec::new()))
            .collect();
        while by.values().any(|v| v.len() < n) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(r) = self.next_matching(left, |m| m["type"] == "prediction") else {
                let counts: Vec<String> = by
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.len()))
                    .collect();
                panic!(
                    "wanted {n} predictions per stream within {timeout:?}, got {}\n{}",
                    counts.join(", "),
                    self.summary()
                );
            };
            let stream = r.msg["stream"].as_str().unwrap_or("").to_owned();
            if let Some(v) = by.get_mut(&stream) {
                v.push(r);
            }
        }
        by
    }

    /// Everything that arrives during `duration`.
    pub fn collect_for(&mut self, duration: Duration) -> Vec<Received> {
        let deadline = Instant::now() + duration;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return out;
            }
            match self.recv(left) {
                Ok(r) => out.push(r),
                Err(RecvError::Timeout) => return out,
                Err(e) => panic!("subscriber: {e:?}\n{}", self.summary()),
            }
        }
    }

    /// Messages in history of type `ty`.
    pub fn seen_of_type(&self, ty: &str) -> Vec<&Value> {
        self.history
            .iter()
            .filter(|r| r.msg["type"] == ty)
            .map(|r| &r.msg)
            .collect()
    }

    /// The statuses of `stream` seen so far, in order: (state, reason).
    pub fn statuses(&self, stream: &str) -> Vec<(String, String)> {
        self.history
            .iter()
            .filter(|r| r.msg["type"] == "status" && r.msg["stream"] == stream)
            .map(|r| {
                (
                    r.msg["state"].as_str().unwrap_or("").to_owned(),
                    r.msg["reason"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    }

    /// Waits for a `status` of `stream` in `state`; panics with the summary if none
    /// comes within `limit`.
    pub fn wait_status(&mut self, stream: &str, state: &str, limit: Duration) -> Received {
        let start = Instant::now();
        self.next_matching(limit, |m| {
            m["type"] == "status" && m["stream"] == stream && m["state"] == state
        })
        .unwrap_or_else(|| {
            panic!(
                "{stream}: no `{state}` status within {limit:?} (waited {:.1?})\n{}",
                start.elapsed(),
                self.summary()
            )
        })
    }

    /// Counts per type and the last few messages, for panic messages.
    pub fn summary(&self) -> String {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for r in &self.history {
            *counts.entry(r.ty().to_owned()).or_default() += 1;
        }
        let mut s = format!(
            "subscriber: {:.1?} connected, {} messages {counts:?}; last ones:",
            self.connected_at.elapsed(),
            self.history.len()
        );
        let start = self.history.len().saturating_sub(6);
        for r in &self.history[start..] {
            s.push_str(&format!("\n  {}", r.msg));
        }
        s
    }
}
