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

use super::{Message, Publisher, VERSION};

/// A write that takes longer than this disconnects the subscriber.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

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

/// Accepts subscribers until `shutdown` turns true.
pub async fn serve(
    listener: UnixListener,
    publisher: Arc<Publisher>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let (initial, rx) = publisher.subscribe();
                    tasks.spawn(subscriber(stream, initial, rx, shutdown.clone()));
                }
                Err(e) => {
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

async fn write(stream: &mut UnixStream, line: &str) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(line.as_bytes())).await,
        Ok(Ok(()))
    )
}

async fn goodbye(stream: &mut UnixStream, reason: String) {
    tracing::warn!("disconnecting a subscriber: {reason}");
    let line = Message::Goodbye { v: VERSION, reason }.to_line();
    let _ = stream.try_write(line.as_bytes());
}

async fn subscriber(
    mut stream: UnixStream,
    initial: Vec<Arc<str>>,
    mut rx: broadcast::Receiver<Arc<str>>,
    mut shutdown: watch::Receiver<bool>,
) {
    for line in initial {
        if !write(&mut stream, &line).await {
            return;
        }
    }
    let mut scratch = [0u8; 1024];
    loop {
        tokio::select! {
            biased;
            msg = rx.recv() => match msg {
                Ok(line) => {
                    if !write(&mut stream, &line).await {
                        goodbye(&mut stream, "subscriber not reading (write timed out)".into()).await;
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    goodbye(&mut stream, format!("subscriber too slow: {n} messages overflowed its queue")).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            read = stream.read(&mut scratch) => match read {
                Ok(0) | Err(_) => return, // the subscriber hung up
                Ok(_) => {}               // input from subscribers is ignored
            },
            _ = shutdown.changed() => {
                while let Ok(line) = rx.try_recv() {
                    if !write(&mut stream, &line).await {
                        return;
                    }
                }
                let _ = stream.shutdown().await;
                return;
            }
        }
    }
}
