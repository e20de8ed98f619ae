//! Printing messages on stdout: readable lines on a terminal, NDJSON otherwise.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

use tokio::sync::broadcast;

use super::{decimal, Message, Publisher, Scored};

/// `label score, …` of a top-k list.
fn top(top: &[Scored]) -> String {
    top.iter()
        .map(|e| format!("{} {:.2}", e.label, decimal(e.score)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `from -> to (score)` of a label change.
fn change(from: &Option<String>, to: &str, score: f32) -> String {
    format!(
        "{} -> {} ({:.2})",
        from.as_deref().unwrap_or("none"),
        to,
        decimal(score)
    )
}

/// Formats one message for a person; None for messages not worth a line.
pub fn readable(msg: &Message) -> Option<String> {
    Some(match msg {
        Message::Hello { model, streams, .. } => format!(
            "connected: model {model}, streams {}",
            serde_json::to_string(streams).unwrap_or_default()
        ),
        Message::Prediction {
            stream,
            seq,
            label,
            score,
            top: t,
            latency_ms,
            ..
        } => format!(
            "{:<12} #{:<5} {:<14} {:.2}   [{}]  latency {:.0} ms",
            stream,
            seq,
            label,
            decimal(*score),
            top(t),
            latency_ms
        ),
        Message::Frame {
            stream,
            pts_ns,
            top: t,
            ..
        } => {
            let pts = pts_ns.map_or("null".to_string(), |n| n.to_string());
            format!("{stream:<12} frame {pts}  [{}]", top(t))
        }
        Message::Event {
            stream,
            from,
            to,
            score,
            ..
        } => format!("{stream:<12} label changed: {}", change(from, to, *score)),
        Message::Status {
            stream,
            state,
            reason,
            ..
        } => format!("{stream:<12} {state}: {reason}"),
        Message::Goodbye { .. } => format!("goodbye: {}", msg.to_line().trim_end()),
    })
}

/// Formats one NDJSON line for a person: typed when it is a message this version
/// knows, else `type: line` (a newer daemon's message); None when it is not JSON.
pub fn readable_line(line: &str) -> Option<String> {
    match serde_json::from_str::<Message>(line) {
        Ok(msg) => readable(&msg),
        Err(_) => {
            let v: serde_json::Value = serde_json::from_str(line).ok()?;
            Some(format!("{}: {line}", v.get("type")?.as_str()?))
        }
    }
}

/// A live per-stream table for `actiond subscribe --table`.
#[derive(Debug, Default)]
pub struct Table {
    model: String,
    rows: Vec<(String, Row)>,
}

#[derive(Debug, Default, Clone)]
struct Row {
    state: String,
    label: String,
    score: f64,
    seq: u64,
    latency_ms: f64,
    event: String,
}

impl Table {
    /// Takes one message into the table.
    pub fn update(&mut self, msg: &Message) {
        match msg {
            Message::Hello { model, streams, .. } => {
                self.model = model.clone();
                for name in streams {
                    self.row(name);
                }
            }
            Message::Status { stream, state, .. } => self.row(stream).state = state.to_string(),
            Message::Prediction {
                stream,
                label,
                score,
                seq,
                latency_ms,
                ..
            } => {
                let row = self.row(stream);
                row.label = label.clone();
                row.score = decimal(*score);
                row.seq = *seq;
                row.latency_ms = *latency_ms;
            }
            Message::Event {
                stream,
                from,
                to,
                score,
                ..
            } => self.row(stream).event = change(from, to, *score),
            Message::Frame { stream, .. } => {
                self.row(stream);
            }
            Message::Goodbye { .. } => {}
        }
    }

    fn row(&mut self, stream: &str) -> &mut Row {
        let i = match self.rows.iter().position(|(n, _)| n == stream) {
            Some(i) => i,
            None => {
                self.rows.push((stream.to_string(), Row::default()));
                self.rows.len() - 1
            }
        };
        &mut self.rows[i].1
    }

    /// The table as text.
    pub fn render(&self) -> String {
        let mut out = format!(
            "model {}\n{:<16} {:<13} {:>6}  {:<16} {:>5}  {:>9}  last event\n",
            self.model, "stream", "state", "seq", "label", "score", "latency"
        );
        for (name, r) in &self.rows {
            out.push_str(&format!(
                "{:<16} {:<13} {:>6}  {:<16} {:>5.2}  {:>6.0} ms  {}\n",
                name, r.state, r.seq, r.label, r.score, r.latency_ms, r.event
            ));
        }
        out
    }
}

/// Prints every published message until the publisher closes (blocking: run it on its own thread,
/// so a stdout nobody reads can only stall this thread).
pub fn print(publisher: Arc<Publisher>) {
    let (_, mut rx) = publisher.subscribe();
    drop(publisher);
    let human = std::io::stdout().is_terminal();
    loop {
        match rx.blocking_recv() {
            Ok(p) => {
                let out = if human {
                    readable(&p.msg).map(|l| Cow::Owned(l + "\n"))
                } else {
                    Some(Cow::Borrowed(p.line.as_str()))
                };
                if let Some(out) = out {
                    let mut o = std::io::stdout().lock();
                    if o.write_all(out.as_bytes()).and_then(|_| o.flush()).is_err() {
                        return;
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("stdout is too slow: {n} messages not printed");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::{StreamState, VERSION};

    fn prediction(stream: &str, seq: u64, label: &str, score: f32, latency_ms: f64) -> Message {
        Message::Prediction {
            v: VERSION,
            stream: stream.into(),
            seq,
            label: label.into(),
            score,
            top: vec![Scored {
                label: label.into(),
                score,
            }],
            frames: 16,
            clip_start: "2023-11-14T22:13:20.123Z".into(),
            clip_end: "2023-11-14T22:13:20.623Z".into(),
            pts_start_ns: None,
            pts_end_ns: None,
            latency_ms,
            model: "m".into(),
        }
    }

    #[test]
    fn table_keeps_one_row_per_stream() {
        let mut t = Table::default();
        for m in [
            Message::Hello {
                v: VERSION,
                version: "t".into(),
                model: "m".into(),
                labels: vec![],
                streams: vec!["a".into(), "b".into()],
                models: vec![],
            },
            Message::Status {
                v: VERSION,
                stream: "b".into(),
                state: StreamState::Running,
                reason: String::new(),
            },
            prediction("a", 7, "ball", 0.5, 20.0),
            prediction("a", 8, "snow", 0.75, 30.0),
        ] {
            t.update(&m);
        }
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(
            lines[2].starts_with("a ") && lines[2].contains("snow") && lines[2].contains("0.75"),
            "{text}"
        );
        assert!(
            lines[3].starts_with("b ") && lines[3].contains("running"),
            "{text}"
        );
    }

    #[test]
    fn prediction_is_readable() {
        let r = readable(&prediction("cam", 3, "ball", 0.9, 12.0)).unwrap();
        assert!(
            r.contains("cam") && r.contains("#3") && r.contains("ball 0.90") && r.contains("12 ms"),
            "{r}"
        );
    }

    #[test]
    fn a_message_of_a_newer_daemon_is_printed_as_is() {
        let line = r#"{"type":"heartbeat","v":2,"stream":"cam"}"#;
        assert_eq!(readable_line(line).unwrap(), format!("heartbeat: {line}"));
        assert_eq!(readable_line("not json"), None);
        let known = prediction("cam", 3, "ball", 0.9, 12.0).to_line();
        assert!(readable_line(&known).unwrap().contains("ball 0.90"));
    }
}
