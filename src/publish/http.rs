//! The HTTP endpoint (off unless `[http]` is configured): `/metrics` for
//! Prometheus, `/livez` (inference alive) and `/healthz` (every stream running)
//! for probes, `/api/streams` for dashboards, `/api/config` (the effective
//! configuration, secrets hidden) and `/` as a live status page (with `/api/history`, `/api/events` and
//! `/api/streams/<name>/snapshot.jpg`). GET and HEAD only; no request body is
//! ever read.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::publish::snapshot::{SnapshotError, Snapshots};
use crate::publish::tracker::Tracker;
use crate::publish::{events, page};

/// Most connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;
/// Time a client gets to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// What the handlers read.
pub struct App {
    tracker: Arc<Tracker>,
    registry: Registry,
    snapshots: Snapshots,
    /// The running configuration as `/api/config` shows it (secrets hidden).
    config: watch::Receiver<serde_json::Value>,
}

impl App {
    /// The endpoints over `tracker`, with metrics from [`crate::publish::metrics::registry`]
    /// and `/api/config` from `config` (the daemon updates it on reload).
    pub fn new(tracker: Arc<Tracker>, config: watch::Receiver<serde_json::Value>) -> Arc<App> {
        let mut registry = crate::publish::metrics::registry(tracker.clone());
        let snapshots = Snapshots::new(tracker.hub().clone(), &mut registry);
        Arc::new(App {
            tracker,
            registry,
            snapshots,
            config,
        })
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
    tracing::info!(address = %local, "HTTP: status page at http://{local}/ (also /metrics /livez /healthz /api/streams /api/config)");
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
                            async move { Ok::<_, Infallible>(route(&app, &req).await) }
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
/// A reply whose body may stream (`/api/events`).
pub type AnyReply = Response<BoxBody<Bytes, Infallible>>;

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

/// Every endpoint, as the 404 lists them.
const ENDPOINTS: [&str; 11] = [
    "/metrics",
    "/livez",
    "/healthz",
    "/api/config",
    "/api/streams",
    "/api/streams/<name>/snapshot.jpg",
    "/api/streams/<name>/events/<t_ms>.jpg",
    "/api/history",
    "/api/events",
    "/clips/<stream>/<day>/<file>",
    "/",
];

/// Answers one request: the streaming and waiting endpoints here, the rest in [`handle`].
pub async fn route<B>(app: &App, req: &Request<B>) -> AnyReply {
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    let path = req.uri().path();
    if get && path == "/api/events" {
        let mut r = Response::new(events::open(&app.tracker).boxed());
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return r;
    }
    if let (true, Some(rel)) = (get, path.strip_prefix("/clips/")) {
        let mut r = clip_file(rel).await;
        if req.method() == Method::HEAD {
            *r.body_mut() = Full::new(Bytes::new());
        }
        return r.map(|b| b.boxed());
    }
    let image = match (get, snapshot_stream(path), event_snapshot(path)) {
        (false, ..) | (_, None, None) => None,
        (true, Some(stream), _) => Some(snapshot(app, &stream).await),
        (true, None, Some((stream, t_ms))) => Some(event_image(app, &stream, t_ms).await),
    };
    if let Some(mut r) = image {
        if req.method() == Method::HEAD {
            *r.body_mut() = Full::new(Bytes::new());
        }
        return r.map(|b| b.boxed());
    }
    handle(app, req).map(|b| b.boxed())
}

/// The stream named by `/api/streams/<name>/snapshot.jpg` (percent-decoded).
fn snapshot_stream(path: &str) -> Option<String> {
    let name = path
        .strip_prefix("/api/streams/")?
        .strip_suffix("/snapshot.jpg")?;
    stream_name(name)
}

/// A stream name from a path: one segment, or two for a region (`hall/court-1`);
/// each segment percent-decoded, non-empty, without an encoded `/`.
fn stream_name(raw: &str) -> Option<String> {
    let parts: Vec<String> = raw
        .split('/')
        .map(|p| percent_decode(p).filter(|p| !p.is_empty() && !p.contains('/')))
        .collect::<Option<_>>()?;
    (parts.len() <= 2).then(|| parts.join("/"))
}

/// The stream and time of `/api/streams/<name>/events/<t_ms>.jpg`.
fn event_snapshot(path: &str) -> Option<(String, u64)> {
    let rest = path.strip_prefix("/api/streams/")?;
    let (name, file) = rest.rsplit_once("/events/")?;
    let t_ms = file.strip_suffix(".jpg")?.parse().ok()?;
    let name = stream_name(name)?;
    Some((name, t_ms))
}

/// `/api/streams/<name>/events/<t_ms>.jpg`: the frame kept at that label change.
async fn event_image(app: &App, stream: &str, t_ms: u64) -> Reply {
    let Some(frame) = app.tracker.event_frame(stream, t_ms) else {
        let error = format!(
            "no frame kept for a label change of {stream:?} at {t_ms} \
             (frames are kept only while the page is open)"
        );
        return json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "error": error }),
        );
    };
    match app.snapshots.encode_counted(stream, frame).await {
        Ok(jpeg) => reply(StatusCode::OK, "image/jpeg", jpeg),
        Err(e) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &serde_json::json!({"error": e.to_string()}),
        ),
    }
}

/// `/clips/<stream>/<day>/<file>`: a finished evidence clip or snapshot (with `[record]`).
async fn clip_file(rel: &str) -> Reply {
    let not_found = |error: String| {
        json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({ "error": error }),
        )
    };
    let Some((path, kind)) = crate::record::served_file(rel) else {
        return not_found(format!(
            "no clip {rel:?} (recording off, or not a clip's name)"
        ));
    };
    let read = tokio::task::spawn_blocking(move || std::fs::read(path)).await;
    match read {
        Ok(Ok(bytes)) => reply(StatusCode::OK, kind, bytes),
        Ok(Err(e)) => not_found(format!("no clip {rel:?}: {e}")),
        Err(e) => not_found(format!("no clip {rel:?}: {e}")),
    }
}

/// Decodes `%XX` escapes; None when malformed or not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `/api/streams/<name>/snapshot.jpg`: the latest frame the model saw, as a JPEG.
async fn snapshot(app: &App, stream: &str) -> Reply {
    match app.snapshots.get(stream).await {
        Ok(jpeg) => reply(StatusCode::OK, "image/jpeg", jpeg.bytes),
        Err(e) => {
            let status = match e {
                SnapshotError::UnknownStream(_) => StatusCode::NOT_FOUND,
                SnapshotError::NoFrame(_) => StatusCode::SERVICE_UNAVAILABLE,
                SnapshotError::Encode { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            };
            json(status, &serde_json::json!({"error": e.to_string()}))
        }
    }
}

/// `/healthz` or `/livez`: 200 when `h` is ok, else 503, with the reasons.
fn health(h: &crate::publish::tracker::Health) -> Reply {
    let status = if h.ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json(status, &h.to_json())
}

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
        "/healthz" => health(&app.tracker.health()),
        "/livez" => health(&app.tracker.liveness()),
        "/api/config" => json(StatusCode::OK, &app.config.borrow()),
        "/api/streams" => json(StatusCode::OK, &app.tracker.streams_json()),
        "/api/history" => json(StatusCode::OK, &app.tracker.history_json()),
        "/" => reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            page::render(&app.tracker.report(), &app.tracker.health()),
        ),
        "/app.js" => reply(
            StatusCode::OK,
            "text/javascript; charset=utf-8",
            page::APP_JS,
        ),
        "/style.css" => reply(StatusCode::OK, "text/css; charset=utf-8", page::STYLE_CSS),
        _ => json(
            StatusCode::NOT_FOUND,
            &serde_json::json!({
                "error": "not found",
                "endpoints": ENDPOINTS,
            }),
        ),
    };
    if head {
        *r.body_mut() = Full::new(Bytes::new());
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_paths_name_one_stream() {
        assert_eq!(
            snapshot_stream("/api/streams/cam1/snapshot.jpg").as_deref(),
            Some("cam1")
        );
        assert_eq!(
            snapshot_stream("/api/streams/front%20door/snapshot.jpg").as_deref(),
            Some("front door")
        );
        assert_eq!(snapshot_stream("/api/streams//snapshot.jpg"), None);
        assert_eq!(snapshot_stream("/api/streams/a%2Fb/snapshot.jpg"), None);
        assert_eq!(snapshot_stream("/api/streams/a%zz/snapshot.jpg"), None);
        assert_eq!(snapshot_stream("/api/streams/cam1"), None);
        assert_eq!(
            event_snapshot("/api/streams/a%20b/events/1796224312852.jpg"),
            Some(("a b".to_string(), 1796224312852))
        );
        assert_eq!(event_snapshot("/api/streams/a/events/x.jpg"), None);
        // A region: `<stream>/<region>`, one level deep.
        assert_eq!(
            snapshot_stream("/api/streams/hall/court%201/snapshot.jpg").as_deref(),
            Some("hall/court 1")
        );
        assert_eq!(snapshot_stream("/api/streams/a/b/c/snapshot.jpg"), None);
        assert_eq!(snapshot_stream("/api/streams/a//snapshot.jpg"), None);
        assert_eq!(
            event_snapshot("/api/streams/hall/c-1/events/5.jpg"),
            Some(("hall/c-1".to_string(), 5))
        );
        assert_eq!(event_snapshot("/api/streams/a/snapshot.jpg"), None);
    }
}
