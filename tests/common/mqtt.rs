//! A real Mosquitto broker started by the test on a free loopback port, and a
//! real client (`mosquitto_sub`) reading what the daemon publishes.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A free TCP port on 127.0.0.1 (bound, read back and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Panics with a hint when the Mosquitto binaries are missing.
pub fn require_mosquitto() {
    for bin in ["mosquitto", "mosquitto_sub"] {
        let found = Command::new(bin)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        assert!(
            found,
            "`{bin}` is not installed: run scripts/setup.sh (Debian packages mosquitto, mosquitto-clients)"
        );
    }
}

/// A `mosquitto` process listening on 127.0.0.1:`port`, without persistence:
/// a restart forgets every retained message.
pub struct Broker {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    /// Extra lines for mosquitto.conf (e.g. a password file).
    extra: String,
}

impl Broker {
    /// Starts a broker on a free port.
    pub fn start() -> Broker {
        Self::start_with(free_port(), "")
    }

    /// Starts a broker on `port` with `extra` configuration lines.
    pub fn start_with(port: u16, extra: &str) -> Broker {
        require_mosquitto();
        let mut b = Broker {
            child: None,
            port,
            dir: super::tempdir(),
            extra: extra.to_string(),
        };
        b.restart();
        b
    }

    /// The broker URL for the daemon's config.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("mosquitto.log")
    }

    /// The broker's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// (Re)starts the process on the same port; waits until it accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        let conf = self.dir.path().join("mosquitto.conf");
        let allow_anonymous = if self.extra.contains("password_file") {
            "false"
        } else {
            "true"
        };
        std::fs::write(
            &conf,
            format!(
                // `user root`: started as root, mosquitto would switch to its own user
                // and could not read the test's key files (no effect for other users).
                "listener {} 127.0.0.1\nallow_anonymous {allow_anonymous}\npersistence false\nuser root\n{}\n",
                self.port, self.extra
            ),
        )
        .unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!(
                        "mosquitto exited ({status}) on port {}\n{}",
                        self.port,
                        self.log()
                    );
                }
            }
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen on {} within 10 s\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the process (SIGTERM, then SIGKILL) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// A `mosquitto_sub` on `topic` (e.g. `prefix/#`).
    pub fn subscribe(&self, topic: &str) -> MqttSub {
        self.subscribe_as(topic, &[])
    }

    /// A `mosquitto_sub` on `filter` that is known to be subscribed when this
    /// returns: probes published on `probe` (a topic `filter` matches) until one
    /// comes back. The probes stay in the subscriber's history.
    pub fn subscribe_ready(&self, filter: &str, probe: &str) -> MqttSub {
        let mut sub = self.subscribe(filter);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let sent = Command::new("mosquitto_pub")
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-q", "1", "-t", probe, "-m", "probe"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run mosquitto_pub");
            assert!(sent.success(), "mosquitto_pub to port {} failed", self.port);
            if sub
                .next_matching(Duration::from_millis(500), |m| m.topic == probe)
                .is_some()
            {
                return sub;
            }
        }
        panic!(
            "mosquitto_sub on {filter} never received a probe on {probe}\n{}",
            self.log()
        );
    }

    /// A `mosquitto_sub` with extra arguments (e.g. `-u user -P pass`).
    pub fn subscribe_as(&self, topic: &str, args: &[&str]) -> MqttSub {
        MqttSub::start(self.port, topic, args)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("--- mosquitto log (port {}) ---\n{}", self.port, self.log());
        }
    }
}

/// One message as `mosquitto_sub` printed it.
#[derive(Clone, Debug)]
pub struct MqttMsg {
    pub topic: String,
    pub retained: bool,
    pub payload: String,
}

impl MqttMsg {
    /// The payload as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.payload).unwrap_or_else(|e| {
            panic!(
                "payload on {} is not JSON ({e}): {}",
                self.topic, self.payload
            )
        })
    }
}

/// A running `mosquitto_sub -v` whose lines arrive on a channel.
pub struct MqttSub {
    child: Child,
    rx: Receiver<MqttMsg>,
    pub history: Vec<MqttMsg>,
}

impl MqttSub {
    fn start(port: u16, topic: &str, args: &[&str]) -> MqttSub {
        let mut child = Command::new("mosquitto_sub")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-q",
                "1",
                "-t",
                topic,
            ])
            // topic, retained flag (0/1), payload: one line per message.
            .args(["-F", "%t %r %p"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mosquitto_sub");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                let mut parts = line.splitn(3, ' ');
                let topic = parts.next().unwrap_or("").to_string();
                let retained = parts.next() == Some("1");
                let payload = parts.next().unwrap_or("").to_string();
                if tx
                    .send(MqttMsg {
                        topic,
                        retained,
                        payload,
                    })
                    .is_err()
                {
                    return;
                }
            }
        });
        MqttSub {
            child,
            rx,
            history: Vec::new(),
        }
    }

    /// The next message on a topic for which `pred` holds, within `timeout`.
    pub fn next_matching(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&MqttMsg) -> bool,
    ) -> Option<MqttMsg> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(m) => {
                    self.history.push(m.clone());
                    if pred(&m) {
                        return Some(m);
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return None
                }
            }
        }
    }

    /// The next message on exactly `topic`; panics after `timeout`.
    pub fn expect(&mut self, topic: &str, timeout: Duration) -> MqttMsg {
        self.next_matching(timeout, |m| m.topic == topic)
            .unwrap_or_else(|| panic!("nothing on {topic} within {timeout:?}\n{}", self.summary()))
    }

    /// Everything that arrives within `d`.
    pub fn collect_for(&mut self, d: Duration) -> Vec<MqttMsg> {
        let start = self.history.len();
        let _ = self.next_matching(d, |_| false);
        self.history[start..].to_vec()
    }

    /// The last messages, for panic messages.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "mosquitto_sub saw {} messages; last ones:",
            self.history.len()
        );
        for m in self.history.iter().rev().take(8).rev() {
            let p: String = m.payload.chars().take(160).collect();
            s.push_str(&format!("\n  {} retained={} {p}", m.topic, m.retained));
        }
        s
    }
}

impl Drop for MqttSub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
