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
    fn prediction_is_readable() {
        let l = r#"{"type":"prediction","v":1,"stream":"cam","seq":3,"label":"ball","score":0.9,"top":[{"label":"ball","score":0.9}],"latency_ms":12.0}"#;
        let r = readable(l).unwrap();
        assert!(
            r.contains("cam") && r.contains("#3") && r.contains("ball 0.90") && r.contains("12 ms"),
            "{r}"
        );
    }
}
