//! MJPEG-over-HTTP cameras for tests: ffmpeg's own HTTP server (`-f mpjpeg -listen 1`,
//! one client, like a cheap camera) and a tiny multipart server of the tests' own for
//! the cases ffmpeg cannot produce (a CRLF before the first boundary, parts without
//! `Content-Length`, basic and digest authentication, fixed answers such as a 404).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

/// Frames per second both servers send.
pub const FPS: u32 = 15;

/// `n` JPEG frames (320×240, a moving ball), encoded with GStreamer.
pub fn jpeg_frames(n: u32) -> Vec<Vec<u8>> {
    super::gst_init();
    let desc = format!(
        "videotestsrc num-buffers={n} pattern=ball \
         ! video/x-raw,width=320,height=240,framerate={FPS}/1 ! jpegenc ! appsink name=sink sync=false"
    );
    let pipeline = gst::parse::launch(&desc)
        .expect("jpeg pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let sink = pipeline
        .by_name("sink")
        .expect("sink")
        .downcast::<gst_app::AppSink>()
        .expect("appsink");
    pipeline.set_state(gst::State::Playing).expect("playing");
    let mut frames = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        let buf = sample.buffer().expect("buffer");
        frames.push(buf.map_readable().expect("readable").to_vec());
    }
    pipeline.set_state(gst::State::Null).expect("null");
    assert_eq!(frames.len(), n as usize, "encoded too few JPEG frames");
    frames
}

/// ffmpeg serving an MJPEG file as `multipart/x-mixed-replace` on one port, looping.
pub struct FfmpegMjpeg {
    port: u16,
    file: PathBuf,
    _dir: tempfile::TempDir,
    child: Option<Child>,
}

impl FfmpegMjpeg {
    /// Serves a few seconds of MJPEG (looped) on a free port.
    pub fn start() -> FfmpegMjpeg {
        let dir = super::tempdir();
        let file = dir.path().join("cam.mjpeg");
        std::fs::write(&file, jpeg_frames(3 * FPS).concat()).expect("writing the MJPEG file");
        let mut server = FfmpegMjpeg {
            port: super::free_port(),
            file,
            _dir: dir,
            child: None,
        };
        server.restart();
        server
    }

    /// `http://127.0.0.1:PORT/cam.mjpg`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/cam.mjpg", self.port)
    }

    /// Kills the server (connections and port closed).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server (again) on the same port, once it listens; a client that
    /// went away ends ffmpeg (it serves one), so this also serves the next client.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("ffmpeg")
            .args([
                "-nostdin",
                "-loglevel",
                "error",
                "-re",
                "-stream_loop",
                "-1",
            ])
            .args(["-f", "mjpeg", "-framerate", &FPS.to_string(), "-i"])
            .arg(&self.file)
            .args(["-c", "copy", "-f", "mpjpeg", "-content_type"])
            .args(["multipart/x-mixed-replace;boundary=ffmpeg", "-listen", "1"])
            .arg(self.url())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg is installed (scripts/setup.sh)");
        self.child = Some(child);
        wait_listening(self.port);
    }

    /// Whether ffmpeg still runs (it exits after its one client leaves).
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for FfmpegMjpeg {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits up to 10 s until something listens on `port`, read from /proc/net/tcp
/// (connecting would take ffmpeg's only client).
fn wait_listening(port: u16) {
    let want = format!(":{port:04X} ");
    for _ in 0..200 {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        // Columns: sl local_address rem_address st (0A = LISTEN).
        let listening = table.lines().any(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && format!("{} ", cols[1]).ends_with(&want) && cols[3] == "0A"
        });
        if listening {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("ffmpeg does not listen on port {port} after 10 s");
}

/// How the tiny multipart server shapes its stream.
#[derive(Clone, Debug, Default)]
pub struct Multipart {
    /// A CRLF before the first boundary (as VLC sends; RFC 2046 allows it).
    pub leading_crlf: bool,
    /// A `Content-Length` header in each part.
    pub content_length: bool,
    /// Basic authentication required: (user, password).
    pub basic_auth: Option<(String, String)>,
    /// Digest authentication (MD5, qop=auth) required: (user, password).
    pub digest_auth: Option<(String, String)>,
}

impl Multipart {
    /// The challenge of a 401 answer, and whether `head` passes this server's check.
    fn check(&self, head: &str) -> Result<(), String> {
        if let Some((user, password)) = &self.basic_auth {
            if !authorized(head, user, password) {
                return Err("Basic realm=\"camera\"".into());
            }
        }
        if let Some((user, password)) = &self.digest_auth {
            if !digest_authorized(head, user, password) {
                return Err(format!(
                    "Digest realm=\"{REALM}\", qop=\"auth\", nonce=\"{NONCE}\", algorithm=MD5"
                ));
            }
        }
        Ok(())
    }
}

/// A tiny multipart/x-mixed-replace server on 127.0.0.1: each client gets the frames,
/// looped at [`FPS`], until the server is dropped.
pub struct MultipartServer {
    port: u16,
    stop: Arc<AtomicBool>,
    clients: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl MultipartServer {
    /// Serves `shape` on a free port.
    pub fn start(shape: Multipart) -> MultipartServer {
        let frames = Arc::new(jpeg_frames(2 * FPS));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let clients = Arc::new(Mutex::new(Vec::new()));
        let (s, c) = (stop.clone(), clients.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                if let Ok(copy) = conn.try_clone() {
                    c.lock().unwrap().push(copy);
                }
                let (frames, shape, s) = (frames.clone(), shape.clone(), s.clone());
                std::thread::spawn(move || serve(conn, &frames, &shape, &s));
            }
        });
        MultipartServer {
            port,
            stop,
            clients,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/video.mjpg`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/video.mjpg", self.port)
    }

    /// `http://USER:PASSWORD@127.0.0.1:PORT/video.mjpg`.
    pub fn url_with(&self, user: &str, password: &str) -> String {
        format!(
            "http://{user}:{password}@127.0.0.1:{}/video.mjpg",
            self.port
        )
    }
}

impl Drop for MultipartServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for c in self.clients.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
        // Wakes the accept loop so it sees the stop flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads the request head (up to the blank line).
fn read_request(conn: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).ok()? == 0 || head.len() > 16 * 1024 {
            return None;
        }
        head.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// Whether the request head carries the right basic credentials.
fn authorized(head: &str, user: &str, password: &str) -> bool {
    let want = format!("basic {}", base64(format!("{user}:{password}").as_bytes()));
    head.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("authorization") && v.trim().eq_ignore_ascii_case(&want)
        })
    })
}

fn serve(mut conn: TcpStream, frames: &[Vec<u8>], shape: &Multipart, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    // A client may ask again on the same connection with credentials after a 401.
    loop {
        let Some(head) = read_request(&mut conn) else {
            let _ = conn.shutdown(Shutdown::Both);
            return;
        };
        match shape.check(&head) {
            Err(challenge) => {
                let answer = format!(
                    "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {challenge}\r\n\
                     Content-Length: 0\r\n\r\n"
                );
                if conn.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            }
            Ok(()) => break,
        }
    }
    let mut out = b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\n\
                    Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
        .to_vec();
    if shape.leading_crlf {
        out.extend_from_slice(b"\r\n");
    }
    if conn.write_all(&out).is_err() {
        return;
    }
    let period = Duration::from_secs_f64(1.0 / FPS as f64);
    for frame in frames.iter().cycle() {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let mut part = b"--frame\r\nContent-Type: image/jpeg\r\n".to_vec();
        if shape.content_length {
            part.extend_from_slice(format!("Content-Length: {}\r\n", frame.len()).as_bytes());
        }
        part.extend_from_slice(b"\r\n");
        part.extend_from_slice(frame);
        part.extend_from_slice(b"\r\n");
        if conn.write_all(&part).is_err() {
            let _ = conn.shutdown(Shutdown::Both);
            return;
        }
        std::thread::sleep(period);
    }
}

const REALM: &str = "camera";
const NONCE: &str = "5f2b8a9c0d1e4f60";

/// The value of the request head's `Authorization` header, if any.
fn authorization(head: &str) -> Option<&str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("authorization")
            .then_some(v.trim())
    })
}

/// The `key=value` / `key="value"` parameters of a Digest `Authorization` header.
fn digest_params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value.trim();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_owned();
        rest = &rest[eq + 1..];
        let val = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            let v = &quoted[..end];
            rest = quoted.get(end + 1..).unwrap_or("");
            v
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let v = &rest[..end];
            rest = &rest[end..];
            v
        };
        out.push((key, val.trim().to_owned()));
    }
    out
}

/// Whether the request head answers this server's digest challenge for user and password
/// (RFC 7616 with MD5, `qop=auth` or none).
fn digest_authorized(head: &str, user: &str, password: &str) -> bool {
    let Some(value) = authorization(head) else {
        return false;
    };
    let Some(params) = value
        .strip_prefix("Digest ")
        .or_else(|| value.strip_prefix("digest "))
    else {
        return false;
    };
    let params = digest_params(params);
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    if get("username") != user || get("realm") != REALM || get("nonce") != NONCE {
        return false;
    }
    let ha1 = md5_hex(format!("{user}:{REALM}:{password}").as_bytes());
    let ha2 = md5_hex(format!("GET:{}", get("uri")).as_bytes());
    let want = match get("qop") {
        "" => md5_hex(format!("{ha1}:{NONCE}:{ha2}").as_bytes()),
        qop => {
            md5_hex(format!("{ha1}:{NONCE}:{}:{}:{qop}:{ha2}", get("nc"), get("cnonce")).as_bytes())
        }
    };
    get("response").eq_ignore_ascii_case(&want)
}

/// MD5 of `data` in lower-case hex (RFC 1321; enough for a digest-auth test server).
pub fn md5_hex(data: &[u8]) -> String {
    const S: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut h: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    for chunk in msg.chunks(64) {
        let m: Vec<u32> = chunk
            .chunks(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = h;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[(i / 16) * 4 + i % 4]));
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter()
        .flat_map(|w| w.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A tiny HTTP server answering every request with one fixed response (a file, a web
/// page, a 404), then closing the connection.
pub struct FixedServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FixedServer {
    /// Answers `status` (e.g. `"200 OK"`) with `body` as `content_type`, on a free port.
    pub fn start(status: &str, content_type: &str, body: Vec<u8>) -> FixedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let mut response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        response.extend_from_slice(&body);
        let response = Arc::new(response);
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(mut conn) = conn else { continue };
                let response = response.clone();
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                    if read_request(&mut conn).is_some() {
                        let _ = conn.write_all(&response);
                    }
                    let _ = conn.shutdown(Shutdown::Both);
                });
            }
        });
        FixedServer {
            port,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/NAME`.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
