//! A loopback TCP proxy that can freeze traffic without closing anything: it
//! accepts on 127.0.0.1:PORT, connects each client to `upstream`, and copies
//! bytes both ways with two threads per connection. While frozen, no byte
//! moves in either direction and no socket is closed (new connections are
//! still accepted, and frozen too) — what a network that silently drops
//! everything looks like to both ends. While refusing, each new connection is
//! closed as soon as it is accepted (a server that is down), and live ones go on.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

struct Shared {
    frozen: AtomicBool,
    /// New connections are closed at once.
    refusing: AtomicBool,
    /// Pumps between deciding to write and having written.
    busy: AtomicUsize,
    stop: AtomicBool,
    /// Bytes copied, both directions together.
    bytes: AtomicU64,
    /// Connections accepted so far.
    accepted: AtomicU64,
    /// Every socket the proxy opened, to shut them down on drop.
    sockets: Mutex<Vec<TcpStream>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

pub struct TcpProxy {
    port: u16,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// Proxies a free loopback port to `upstream`.
    pub fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            frozen: AtomicBool::new(false),
            refusing: AtomicBool::new(false),
            busy: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            bytes: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            sockets: Mutex::new(Vec::new()),
            threads: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        let accept = std::thread::Builder::new()
            .name("proxy-accept".into())
            .spawn(move || accept_loop(listener, upstream, s))
            .unwrap();
        TcpProxy {
            port,
            shared,
            accept: Some(accept),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops every byte in both directions; nothing is closed. When it returns,
    /// no byte moves any more (a write already under way is waited for).
    pub fn freeze(&self) {
        self.shared.frozen.store(true, Ordering::SeqCst);
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while self.shared.busy.load(Ordering::SeqCst) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Lets traffic flow again.
    pub fn thaw(&self) {
        self.shared.frozen.store(false, Ordering::SeqCst);
    }

    /// While `on`, each new connection is closed as soon as it is accepted.
    pub fn refuse(&self, on: bool) {
        self.shared.refusing.store(on, Ordering::SeqCst);
    }

    /// Bytes copied so far (both directions).
    pub fn bytes(&self) -> u64 {
        self.shared.bytes.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for s in self.shared.sockets.lock().unwrap().iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        let threads = std::mem::take(&mut *self.shared.threads.lock().unwrap());
        for t in threads {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let client = match listener.accept() {
            Ok((c, _)) => c,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            Err(_) => continue,
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        if shared.refusing.load(Ordering::SeqCst) {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let _ = client.set_nonblocking(false);
        let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(2)) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        {
            let mut socks = shared.sockets.lock().unwrap();
            socks.push(client.try_clone().unwrap());
            socks.push(server.try_clone().unwrap());
        }
        let pairs = [
            (client.try_clone().unwrap(), server.try_clone().unwrap()),
            (server, client),
        ];
        for (from, to) in pairs {
            let s = shared.clone();
            let t = std::thread::Builder::new()
                .name("proxy-pump".into())
                .spawn(move || pump(from, to, &s))
                .unwrap();
            shared.threads.lock().unwrap().push(t);
        }
    }
}

/// Copies `from` → `to` until either side closes or the proxy stops; while
/// frozen, reads nothing (so the sender's buffers fill) and writes nothing.
fn pump(mut from: TcpStream, mut to: TcpStream, shared: &Shared) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = [0u8; 16 * 1024];
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        if shared.frozen.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                // Frozen meanwhile? Then hold the bytes until it thaws. (busy is
                // raised before frozen is read, and freeze() raises frozen before
                // it reads busy: one of the two always sees the other.)
                loop {
                    shared.busy.fetch_add(1, Ordering::SeqCst);
                    if !shared.frozen.load(Ordering::SeqCst) {
                        break;
                    }
                    shared.busy.fetch_sub(1, Ordering::SeqCst);
                    if shared.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                let ok = to.write_all(&buf[..n]).is_ok();
                if ok {
                    shared.bytes.fetch_add(n as u64, Ordering::SeqCst);
                }
                shared.busy.fetch_sub(1, Ordering::SeqCst);
                if !ok {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
