//! The HTTP endpoint (off unless `[http]` is configured): `/metrics` for
//! Prometheus, `/healthz` for probes, `/api/streams` for dashboards and `/` as a
//! small status page. GET and HEAD only; no request body is ever read.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::publish::tracker::{Health, Report, StreamView, Tracker};
use crate::publish::{decimal, Message};

/// Most connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;
/// Time a client gets to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// What the handlers read.
pub struct App {
    tracker: Arc<Tracker>,
    registry: Registry,
}

impl App {
    /// The endpoints over `tracker`, with metrics from [`crate::publish::metrics::registry`].
    pub fn new(tracker: Arc<Tracker>) -> Arc<App> {
        let registry = crate::publish::metrics::registry(tracker.clone());
        Arc::new(App { tracker, registry })
    }
}

/// Binds the listening socket (so that a busy port fails the start with a clear error).
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("[http] listen = \"{addr}\": cannot listen: {e}"))?;
    let local = listener.local_addr().unwrap_or(addr);
    if !local.ip().is_loopback() {
        tracing::warn!(
            address = %local,
            "HTTP listens beyond loopback: /metrics and /api/streams have no authentication"
        );
    }
    tracing::info!(address = %local, "HTTP: /metrics /healthz /api/streams /");
    Ok(listener)
}

/// Serves connections until `shutdown` turns true.
pub async fn serve(listener: TcpListener, app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept(), if conns.len() < MAX_CONNECTIONS => match accepted {
                Ok((stream, _)) => {
                    let app = app.clone();
                    conns.spawn(async move {
                        let service = service_fn(move |req| {
                            let app = app.clone();
                            async move { Ok::<_, Infallible>(handle(&app, &req)) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(HEADER_TIMEOUT)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                Err(e) => {
                    tracing::warn!("HTTP: accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    conns.shutdown().await;
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    let mut body = serde_json::to_vec_pretty(value).expect("JSON values serialize");
    body.push(b'\n');
    reply(status, "application/json", body)
}

/// Content type of the Prometheus text format.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content type of the OpenMetrics text format.
pub const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Answers one request.
pub fn handle<B>(app: &App, req: &Request<B>) -> Reply {
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        let mut r = json(
            StatusCode::METHOD_NOT_ALLOWED,
            &serde_json::json!({"error": "only GET and HEAD are supported"}),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let mut r = match req.uri().path() {
        "/metrics" => {
            let openmetrics = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("application/openmetrics-text"));
            if openmetrics {
                let text = crate::publish::metrics::encode_openmetrics(&app.registry);
                reply(StatusCode::OK, OPENMETRICS_TEXT, text)
            } else {
                let text = crate::publish::metrics::encode_prometheus(&app.registry);
                reply(StatusCode::OK, PROMETHEUS_TEXT, text)
            }
        }
        "/healthz" => {
            let health = app.tracker.health();
            let status = if health.ok() {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(status, &health.to_json())
        }
        "/api/streams" => json(StatusCode::OK, &app.tracker.streams_json()),
        "/" => reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            status_page(&app.tracker.report(), &app.tracker.health()),
        ),
        _ => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({
                "error": "not found",
                "endpoints": ["/metrics", "/healthz", "/api/streams", "/"],
            }),
        ),
    };
    if head {
        *r.body_mut() = Full::new(Bytes::new());
    }
    r
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The status page's cell for a stream's last prediction.
fn last_prediction(view: &StreamView) -> String {
    match view.last_prediction.as_deref().map(|p| &p.msg) {
        Some(Message::Prediction {
            label,
            score,
            latency_ms,
            ..
        }) => format!(
            "{} {:.2} <small>({:.0} ms)</small>",
            esc(label),
            decimal(*score),
            latency_ms
        ),
        _ => "—".to_string(),
    }
}

/// The `/` page: one row per stream, refreshed every 2 s.
fn status_page(report: &Report, health: &Health) -> String {
    let mut rows = String::new();
    for (v, c) in &report.streams {
        rows.push_str(&format!(
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{} / {} / {} / {}</td><td>{}</td></tr>\n",
            esc(&v.name),
            v.state,
            v.state,
            esc(&v.reason),
            last_prediction(v),
            c.received,
            c.sampled,
            c.dropped(),
            c.classified,
            c.reconnects,
        ));
    }
    let reasons: String = health
        .problems
        .iter()
        .map(|r| format!("<li>{}</li>", esc(r)))
        .collect();
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>actiond</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }} td, th {{ padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: left; }}
.running {{ color: #187a2f; }} .stalled, .reconnecting, .failed {{ color: #b3261e; }} .starting, .stopped {{ color: #8a6d00; }}
</style></head>
<body>
<h1>actiond {version}</h1>
<p>model <b>{model}</b> · health: <b>{status}</b></p>
<ul>{reasons}</ul>
<table>
<tr><th>stream</th><th>state</th><th>reason</th><th>last prediction</th><th>frames received / sampled / dropped / classified</th><th>reconnects</th></tr>
{rows}</table>
<p><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a> · <a href="/api/streams">/api/streams</a></p>
</body></html>
"#,
        version = esc(&report.version),
        model = esc(&report.model),
        status = health.status(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            esc("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        let view = StreamView {
            name: "cam".into(),
            state: crate::publish::StreamState::Running,
            reason: "<script>".into(),
            since: std::time::SystemTime::now(),
            last_prediction: None,
            last_event: None,
        };
        let counters = crate::stats::StreamCounters::default();
        let report = Report {
            version: "1".into(),
            model: "m<".into(),
            started: std::time::SystemTime::now(),
            streams: vec![(view, counters)],
        };
        let page = status_page(&report, &Health { problems: vec![] });
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));
        assert!(page.contains("m&lt;"));
    }
}
