//! Printing messages on stdout: readable lines on a terminal, NDJSON otherwise.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use super::Publisher;

/// Formats one NDJSON message for a person; None for messages not worth a line.
pub fn readable(line: &str) -> Option<String> {
    let v: Value = serde_json::from_str(line).ok()?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let top = |v: &Value| {
        v.get("top")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .map(|e| {
                        format!(
                            "{} {:.2}",
                            e["label"].as_str().unwrap_or("?"),
                            e["score"].as_f64().unwrap_or(0.0)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    Some(match v.get("type")?.as_str()? {
        "hello" => format!("connected: model {}, streams {}", s("model"), v["streams"]),
        "prediction" => format!(
            "{:<12} #{:<5} {:<14} {:.2}   [{}]  latency {:.0} ms",
            s("stream"),
            v["seq"],
            s("label"),
            v["score"].as_f64().unwrap_or(0.0),
            top(&v),
            v["latency_ms"].as_f64().unwrap_or(0.0)
        ),
        "frame" => format!("{:<12} frame {}  [{}]", s("stream"), v["pts_ns"], top(&v)),
        "event" => format!(
            "{:<12} label changed: {} -> {} ({:.2})",
            s("stream"),
            v["from"].as_str().unwrap_or("none"),
            s("to"),
            v["score"].as_f64().unwrap_or(0.0)
        ),
        "status" => format!("{:<12} {}: {}", s("stream"), s("state"), s("reason")),
        other => format!("{other}: {line}"),
    })
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
    pub fn update(&mut self, msg: &Value) {
        let s = |k: &str| msg[k].as_str().unwrap_or("").to_string();
        if msg["type"] == "hello" {
            self.model = s("model");
            for name in msg["streams"].as_array().into_iter().flatten() {
                self.row(name.as_str().unwrap_or(""));
            }
            return;
        }
        let Some(stream) = msg["stream"].as_str() else {
            return;
        };
        let row = self.row(stream);
        match msg["type"].as_str().unwrap_or("") {
            "status" => row.state = s("state"),
            "prediction" => {
                row.label = s("label");
                row.score = msg["score"].as_f64().unwrap_or(0.0);
                row.seq = msg["seq"].as_u64().unwrap_or(0);
                row.latency_ms = msg["latency_ms"].as_f64().unwrap_or(0.0);
            }
            "event" => {
                row.event = format!(
                    "{} -> {} ({:.2})",
                    msg["from"].as_str().unwrap_or("none"),
                    s("to"),
                    msg["score"].as_f64().unwrap_or(0.0)
                )
            }
            _ => {}
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
            Ok(line) => {
                let out = if human {
                    readable(&line).map(|l| l + "\n")
                } else {
                    Some(line.to_string())
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

    #[test]
    fn table_keeps_one_row_per_stream() {
        let mut t = Table::default();
        for l in [
            r#"{"type":"hello","v":1,"model":"m","streams":["a","b"]}"#,
            r#"{"type":"status","v":1,"stream":"b","state":"running","reason":""}"#,
            r#"{"type":"prediction","v":1,"stream":"a","seq":7,"label":"ball","score":0.5,"latency_ms":20.0}"#,
            r#"{"type":"prediction","v":1,"stream":"a","seq":8,"label":"snow","score":0.75,"latency_ms":30.0}"#,
        ] {
            t.update(&serde_json::from_str(l).unwrap());
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
        let l = r#"{"type":"prediction","v":1,"stream":"cam","seq":3,"label":"ball","score":0.9,"top":[{"label":"ball","score":0.9}],"latency_ms":12.0}"#;
        let r = readable(l).unwrap();
        assert!(
            r.contains("cam") && r.contains("#3") && r.contains("ball 0.90") && r.contains("12 ms"),
            "{r}"
        );
    }
}
