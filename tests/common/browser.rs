//! A real headless browser for page tests: Debian's `chromium`, driven through
//! `chromedriver` with a minimal WebDriver client (JSON over HTTP/1.1 on std's
//! TcpStream). Each browser has a fresh profile and is closed on drop.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The browser and the driver installed by scripts/setup.sh.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// See [`CHROMIUM`].
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Skips nothing: panics with the fix when the browser is missing.
pub fn require_browser() {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: run scripts/setup.sh (installs chromium and chromium-driver)"
        );
    }
}

/// The chromedriver process, killed on drop (also when the start fails).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One WebDriver session in a headless chromium.
pub struct Browser {
    _driver: Driver,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

/// Sends one WebDriver command; returns the reply's `value`.
fn command(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let body = read_reply(&mut s)?;
    let reply: Value =
        serde_json::from_str(&body).map_err(|e| format!("not JSON ({e}): {body}"))?;
    match reply["value"].get("error") {
        Some(err) => Err(format!("{err}: {}", reply["value"]["message"])),
        None => Ok(reply["value"].clone()),
    }
}

/// Reads one HTTP reply's body by its Content-Length (chromedriver keeps the
/// connection open whatever the request says).
fn read_reply(s: &mut TcpStream) -> Result<String, String> {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| format!("reply without Content-Length: {head}"))?;
            if raw.len() >= end + 4 + len {
                return Ok(String::from_utf8_lossy(&raw[end + 4..end + 4 + len]).into_owned());
            }
        }
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed mid-reply".into());
        }
        raw.extend_from_slice(&chunk[..n]);
    }
}

impl Browser {
    /// Starts chromedriver and a headless chromium with a fresh profile.
    pub fn start() -> Browser {
        Self::start_sized(1100, 900)
    }

    /// Starts chromedriver and a headless chromium with a `width`×`height` window.
    pub fn start_sized(width: u32, height: u32) -> Browser {
        require_browser();
        let port = super::free_port();
        let driver = Driver(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while command(port, "GET", "/status", None).map_or(true, |v| v["ready"] != true) {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            &format!("--window-size={width},{height}"),
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let session = command(port, "POST", "/session", Some(&caps))
            .unwrap_or_else(|e| panic!("chromium did not start: {e}"));
        Browser {
            _driver: driver,
            port,
            session: session["sessionId"]
                .as_str()
                .expect("sessionId")
                .to_string(),
            _profile: profile,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        command(self.port, method, &path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(&json!({ "url": url })));
    }

    /// Runs `script` (a function body; `return` gives the result) in the page.
    pub fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(&json!({"script": script, "args": []})),
        )
    }

    /// Polls `script` until it returns something truthy; returns that, or panics with `what`.
    pub fn wait_for(&self, script: &str, limit: Duration, what: &str) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let v = self.eval(script);
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!(0) && v != json!("");
            if truthy {
                return v;
            }
            assert!(Instant::now() < deadline, "{what}: last {v}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Saves a PNG screenshot of the viewport at `path`.
    pub fn screenshot(&self, path: &Path) {
        let b64 = self.call("GET", "/screenshot", None);
        let png = base64_decode(b64.as_str().expect("base64 screenshot"));
        assert_eq!(&png[1..4], b"PNG");
        std::fs::write(path, png).expect("write the screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = command(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

/// Decodes standard base64 (padding and whitespace ignored).
pub fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}
