//! The Unix socket server: NDJSON to any number of subscribers, each behind a
//! bounded queue; a subscriber that falls behind is disconnected, never waited for.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, watch};

use super::input::{InputBudget, Verdict, INPUT_BURST, INPUT_RATE};
use super::{Feed, Message, Published, Publisher, VERSION};

/// A write that takes longer than this disconnects the subscriber.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a `goodbye` may wait for room in the socket of a subscriber that is
/// not known to be stuck (too slow, or sending input).
pub const GOODBYE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a subscriber whose write timed out keeps its connection while the
/// daemon tries to finish the cut line and deliver the `goodbye`.
pub const LINGER: Duration = Duration::from_secs(20);
/// Most subscribers at once (each holds a file descriptor, which cameras need too).
pub const MAX_SUBSCRIBERS: usize = 512;

/// Why the socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// Another running daemon serves this path.
    #[error("socket {0} is in use by another running actiond; stop it or choose another [output] socket")]
    InUse(PathBuf),
    /// Something that is not a socket sits at the path.
    #[error("socket path {0} exists and is not a socket; refusing to replace it")]
    NotASocket(PathBuf),
    /// The group named in `socket_group` does not exist.
    #[error("socket group `{0}` not found in /etc/group")]
    NoGroup(String),
    /// A filesystem or bind error.
    #[error("socket {path}: {what}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

fn group_id(name: &str) -> Option<u32> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then(|| f.nth(1)?.parse().ok())?
    })
}

/// Binds the socket: creates the parent folder, replaces a stale socket left by a
/// killed run (but never one a live instance serves), applies mode and group.
pub fn bind(
    path: &Path,
    mode: u32,
    group: Option<&str>,
) -> Result<std::os::unix::net::UnixListener, SocketError> {
    let io = |what: &'static str| {
        let path = path.to_path_buf();
        move |source| SocketError::Io { path, what, source }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io("creating its folder"))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => return Err(SocketError::InUse(path.to_path_buf())),
                Err(_) => {
                    tracing::info!(socket = %path.display(), "removing stale socket from an earlier run");
                    std::fs::remove_file(path).map_err(io("removing the stale socket"))?;
                }
            }
        }
        Ok(_) => return Err(SocketError::NotASocket(path.to_path_buf())),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io("inspecting the path")(e)),
    }
    let listener = std::os::unix::net::UnixListener::bind(path).map_err(io("binding"))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(io("setting its mode"))?;
    if let Some(g) = group {
        let gid = group_id(g).ok_or_else(|| SocketError::NoGroup(g.to_string()))?;
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(io("setting its group"))?;
    }
    listener.set_nonblocking(true).map_err(io("configuring"))?;
    Ok(listener)
}

/// How the server treats its subscribers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A write that waits longer than this (the subscriber stopped reading) ends the subscription.
    pub write_timeout: Duration,
    /// After that, how long the daemon keeps trying to finish the cut line and
    /// deliver the `goodbye` (in case the subscriber reads again) before closing.
    pub linger: Duration,
    /// Connections beyond this many are told so (a `goodbye`) and closed at once.
    pub max_subscribers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            write_timeout: WRITE_TIMEOUT,
            linger: LINGER,
            max_subscribers: MAX_SUBSCRIBERS,
        }
    }
}

/// Accepts subscribers until `shutdown` turns true.
pub async fn serve(
    listener: UnixListener,
    publisher: Arc<Publisher>,
    shutdown: watch::Receiver<bool>,
) {
    serve_with(listener, publisher, shutdown, Limits::default()).await
}

/// [`serve`] with explicit limits.
pub async fn serve_with(
    listener: UnixListener,
    publisher: Arc<Publisher>,
    mut shutdown: watch::Receiver<bool>,
    limits: Limits,
) {
    let mut tasks = tokio::task::JoinSet::new();
    let mut refused = 0u64;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if tasks.len() >= limits.max_subscribers => {
                    refused += 1;
                    if refused.is_power_of_two() {
                        tracing::warn!(
                            "refusing a subscriber: {} are connected, the most allowed ({refused} refused so far)",
                            tasks.len()
                        );
                    }
                    let line = Published::new(Message::Goodbye {
                        v: VERSION,
                        reason: format!("too many subscribers (at most {})", limits.max_subscribers),
                    })
                    .line
                    .clone();
                    let _ = stream.try_write(line.as_bytes());
                }
                Ok((stream, _)) => {
                    let (initial, rx) = publisher.subscribe();
                    tasks.spawn(subscriber(stream, initial, rx, shutdown.clone(), limits));
                }
                Err(e) => {
                    // E.g. out of file descriptors: wait rather than spin.
                    tracing::warn!("accepting a subscriber failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    // Let each subscriber drain what was published before the shutdown, bounded.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
}

/// Writes `bytes` within `limit`. On failure, returns how many of them reached
/// the socket (0: the stream still ends at a line boundary).
async fn write_all(stream: &mut UnixStream, bytes: &[u8], limit: Duration) -> Result<(), usize> {
    let mut written = 0;
    let deadline = tokio::time::Instant::now() + limit;
    while written < bytes.len() {
        match tokio::time::timeout_at(deadline, stream.write(&bytes[written..])).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return Err(written),
            Ok(Ok(n)) => written += n,
        }
    }
    Ok(())
}

/// Ends a subscription with a `goodbye`: first the rest of a line cut off by a
/// timed-out write (so the subscriber never sees half a message), then the
/// notice, waiting at most `limit` for the subscriber to make room.
async fn goodbye(stream: &mut UnixStream, unfinished: &[u8], reason: String, limit: Duration) {
    tracing::warn!("disconnecting a subscriber: {reason}");
    let deadline = tokio::time::Instant::now() + limit;
    let line = Published::new(Message::Goodbye { v: VERSION, reason })
        .line
        .clone();
    for bytes in [unfinished, line.as_bytes()] {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if write_all(stream, bytes, left).await.is_err() {
            return;
        }
    }
    let _ = tokio::time::timeout(GOODBYE_TIMEOUT, stream.shutdown()).await;
}

async fn subscriber(
    mut stream: UnixStream,
    initial: Vec<Arc<Published>>,
    mut rx: Feed,
    mut shutdown: watch::Receiver<bool>,
    limits: Limits,
) {
    for p in initial {
        if write_all(&mut stream, p.line.as_bytes(), limits.write_timeout)
            .await
            .is_err()
        {
            return;
        }
    }
    let started = tokio::time::Instant::now();
    let mut budget = InputBudget::new(0);
    let mut scratch = [0u8; 4096];
    loop {
        tokio::select! {
            biased;
            msg = rx.recv() => match msg {
                Ok(p) => {
                    if let Err(n) = write_all(&mut stream, p.line.as_bytes(), limits.write_timeout).await {
                        // Release this subscriber's hold on the shared queue at once.
                        drop(rx);
                        let reason = format!(
                            "subscriber not reading: a write waited {:.0} s",
                            limits.write_timeout.as_secs_f64()
                        );
                        goodbye(&mut stream, &p.line.as_bytes()[n..], reason, limits.linger).await;
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    drop(rx);
                    let reason = format!("subscriber too slow: {n} messages overflowed its queue");
                    goodbye(&mut stream, &[], reason, limits.linger).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            read = stream.read(&mut scratch) => match read {
                Ok(0) | Err(_) => return, // the subscriber hung up
                Ok(n) => {
                    let now_ms = started.elapsed().as_millis() as u64;
                    if let Verdict::Flood { total } = budget.feed(n, now_ms) {
                        drop(rx);
                        let reason = format!(
                            "subscriber sent {total} bytes; this socket is read-only \
                             (at most {INPUT_BURST} bytes, then {INPUT_RATE} bytes/s, are ignored)"
                        );
                        goodbye(&mut stream, &[], reason, GOODBYE_TIMEOUT).await;
                        return;
                    }
                }
            },
            _ = shutdown.changed() => {
                while let Ok(p) = rx.try_recv() {
                    if write_all(&mut stream, p.line.as_bytes(), limits.write_timeout).await.is_err() {
                        return;
                    }
                }
                let _ = stream.shutdown().await;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::StreamState;
    use tokio::task::JoinHandle;

    fn publisher(buffer: usize) -> Arc<Publisher> {
        let hello = Message::Hello {
            v: VERSION,
            version: "test".into(),
            model: "m".into(),
            labels: vec!["x".into()],
            streams: vec!["s".into()],
            models: vec![],
        };
        Publisher::new(hello, vec!["s".into()], buffer)
    }

    fn status(i: usize, pad: usize) -> Message {
        Message::Status {
            v: VERSION,
            stream: "s".into(),
            state: StreamState::Running,
            reason: format!("{i} {}", "x".repeat(pad)),
        }
    }

    async fn read_all(mut client: UnixStream) -> Vec<serde_json::Value> {
        let mut bytes = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut bytes))
            .await
            .expect("the daemon side closes the connection")
            .unwrap();
        assert_eq!(bytes.last(), Some(&b'\n'), "a cut line at the end");
        bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).expect("whole JSON lines"))
            .collect()
    }

    fn limits() -> Limits {
        Limits {
            write_timeout: Duration::from_millis(300),
            linger: Duration::from_secs(5),
            max_subscribers: 2,
        }
    }

    /// A subscriber task on one end of a socket pair: the other end, the task,
    /// and the shutdown switch (kept so that the task does not see a shutdown).
    fn attach(p: &Publisher) -> (UnixStream, JoinHandle<()>, watch::Sender<bool>) {
        let (server, client) = UnixStream::pair().unwrap();
        let (initial, rx) = p.subscribe();
        let (tx, shutdown) = watch::channel(false);
        let task = tokio::spawn(subscriber(server, initial, rx, shutdown, limits()));
        (client, task, tx)
    }

    /// Reads until the daemon side closes; the last message is a `goodbye` saying `why`.
    async fn ends_with_goodbye(
        client: UnixStream,
        task: JoinHandle<()>,
        why: &str,
    ) -> Vec<serde_json::Value> {
        let msgs = read_all(client).await;
        task.await.unwrap();
        let last = msgs.last().unwrap();
        assert_eq!(last["type"], "goodbye", "{msgs:?}");
        assert!(last["reason"].as_str().unwrap().contains(why), "{last}");
        msgs
    }

    /// The first read of a new connection carries `hello`.
    async fn hello_arrives(c: &mut UnixStream) {
        let mut buf = [0u8; 256];
        let n = c.read(&mut buf).await.unwrap();
        assert!(std::str::from_utf8(&buf[..n]).unwrap().contains("hello"));
    }

    #[tokio::test]
    async fn a_lagging_subscriber_gets_goodbye_then_eof() {
        let p = publisher(16);
        let (client, task, _tx) = attach(&p);
        // The task has not run yet (one-thread runtime): the queue overflows.
        for i in 0..50 {
            p.publish(status(i, 0));
        }
        let msgs = ends_with_goodbye(client, task, "too slow").await;
        assert_eq!(msgs[0]["type"], "hello");
    }

    #[tokio::test]
    async fn a_stuck_subscriber_that_reads_again_gets_whole_lines_and_goodbye() {
        let p = publisher(64);
        let (client, task, _tx) = attach(&p);
        // 40 × 32 KiB: far more than a socket buffer holds.
        for i in 0..40 {
            p.publish(status(i, 32 * 1024));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The write times out (0.3 s); then the subscriber reads again.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let msgs = ends_with_goodbye(client, task, "not reading").await;
        assert_eq!(msgs[0]["type"], "hello");
        assert!(
            msgs.len() < 40,
            "it was not cut off: {} messages",
            msgs.len()
        );
    }

    #[tokio::test]
    async fn input_beyond_the_budget_gets_goodbye() {
        let p = publisher(64);
        let (mut client, task, _tx) = attach(&p);
        let junk = vec![b'x'; INPUT_BURST as usize + 4096];
        let _ = client.write_all(&junk).await;
        ends_with_goodbye(client, task, "read-only").await;
    }

    #[tokio::test]
    async fn subscribers_beyond_the_limit_are_refused_with_goodbye() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let p = publisher(64);
        let (tx, shutdown) = watch::channel(false);
        let server = tokio::spawn(serve_with(listener, p, shutdown, limits()));
        let mut kept = Vec::new();
        for _ in 0..2 {
            let mut c = UnixStream::connect(&path).await.unwrap();
            hello_arrives(&mut c).await;
            kept.push(c);
        }
        let third = UnixStream::connect(&path).await.unwrap();
        let msgs = read_all(third).await;
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert!(msgs[0]["reason"].as_str().unwrap().contains("too many"));
        // One leaves: there is room again.
        drop(kept.pop());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut again = UnixStream::connect(&path).await.unwrap();
        hello_arrives(&mut again).await;
        tx.send(true).unwrap();
        server.await.unwrap();
    }
}
