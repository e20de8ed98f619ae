//! The daemon driven in process through its library entry, `daemon::serve`: start on
//! bound listeners, a subscriber's hello and first prediction, a reload that adds a
//! stream, and a shutdown that ends `serve` and removes the socket.

use std::path::{Path, PathBuf};
use std::time::Duration;

use actiond::config::Config;
use actiond::daemon::{self, Listeners};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::unix::OwnedReadHalf;
use tokio::net::UnixStream;

/// How long the first prediction may take (model load and pipeline start included).
const FIRST: Duration = Duration::from_secs(30);

/// A configuration of the shipped default model, a socket in `dir` and `streams` test patterns.
fn config(dir: &Path, streams: &[(&str, &str)]) -> Config {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default/model.onnx");
    assert!(model.is_file(), "{} is missing", model.display());
    let mut text = format!(
        "[model]\npath = \"{}\"\n\n[smoothing]\nwindow = 4\nstride = 2\n\n\
         [output]\nsocket = \"{}\"\n\n",
        model.display(),
        dir.join("p.sock").display()
    );
    for (name, pattern) in streams {
        text += &format!("[[stream]]\nname = \"{name}\"\nuri = \"test:{pattern}\"\n\n");
    }
    Config::parse(&text, &dir.join("actiond.toml")).expect("a valid configuration")
}

/// The next message that `want` accepts, within `limit`; panics naming what came instead.
async fn next_matching(
    lines: &mut Lines<BufReader<OwnedReadHalf>>,
    limit: Duration,
    what: &str,
    want: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(limit, async {
        while let Some(line) = lines.next_line().await.expect("reading the socket") {
            let msg: serde_json::Value = serde_json::from_str(&line).expect("one JSON per line");
            if want(&msg) {
                return Some(msg);
            }
            seen.push(line);
        }
        None
    })
    .await;
    match found {
        Ok(Some(msg)) => msg,
        _ => panic!("no {what} within {limit:?}; got {seen:#?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_subscribe_reload_and_stop_in_process() {
    let dir = tempfile::Builder::new()
        .prefix("actiond-t")
        .tempdir()
        .unwrap();
    let cfg = config(dir.path(), &[("a", "ball")]);
    let socket: PathBuf = cfg.output.socket.clone();
    let listeners = Listeners::bind(&cfg).await.expect("binding");
    let (control, requests) = daemon::control();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(daemon::serve(cfg, listeners, requests, async {
        let _ = stopped.await;
    }));

    // The socket is bound before serve runs: a subscriber can connect at once.
    let (read, _write) = UnixStream::connect(&socket).await.unwrap().into_split();
    let mut lines = BufReader::new(read).lines();
    let hello = next_matching(&mut lines, FIRST, "hello", |m| m["type"] == "hello").await;
    assert_eq!(hello["streams"], serde_json::json!(["a"]), "{hello}");
    let p = next_matching(&mut lines, FIRST, "prediction of a", |m| {
        m["type"] == "prediction" && m["stream"] == "a"
    })
    .await;
    assert_eq!(p["frames"], 4, "{p}");

    // Reload with a second stream: the summary says so, subscribers hear of it.
    let summary = control
        .reload(config(dir.path(), &[("a", "ball"), ("b", "smpte")]))
        .await
        .expect("the daemon answers");
    assert!(summary.contains("added [\"b\"]"), "{summary}");
    let limit = Duration::from_secs(15);
    let hello = next_matching(&mut lines, limit, "new hello", |m| m["type"] == "hello").await;
    assert_eq!(hello["streams"], serde_json::json!(["a", "b"]), "{hello}");
    next_matching(&mut lines, limit, "b running", |m| {
        m["type"] == "status" && m["stream"] == "b" && m["state"] == "running"
    })
    .await;

    // Shutdown: serve finishes, the subscriber's connection ends, the socket is gone.
    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(15), serving)
        .await
        .expect("serve finishes within 15 s of the shutdown")
        .expect("serve did not panic");
    result.expect("serve returns Ok");
    assert!(!socket.exists(), "socket {} left behind", socket.display());
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while lines.next_line().await.ok().flatten().is_some() {}
    })
    .await;
    assert!(rest.is_ok(), "the subscriber's connection stayed open");
    assert!(
        control.reload_from_file().await.is_none(),
        "a stopped daemon answered"
    );
}
