//! An RTSP camera nobody here wrote: VLC (`cvlc`) serving a media file, looped, at
//! `rtsp://127.0.0.1:PORT/cam`. VLC refuses to run as root, so as root it runs as
//! `nobody` (through `setpriv`, which execs: the child is VLC itself) from a copy of
//! the media that user can read. It can be killed and started again on the same port.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A VLC process serving one file over RTSP.
pub struct VlcCamera {
    /// Keeps the readable copy of the media alive.
    _dir: tempfile::TempDir,
    media: PathBuf,
    port: u16,
    child: Option<Child>,
    log: PathBuf,
}

/// True when `cvlc` is on the PATH (`--version` cannot tell: VLC refuses to run as root).
pub fn available() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("cvlc").is_file()))
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    l.local_addr().expect("local address").port()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and no memory effects.
    unsafe { libc::geteuid() == 0 }
}

impl VlcCamera {
    /// Serves `media` (looped) on a free port; panics unless VLC listens within 20 s.
    pub fn start(media: &Path) -> VlcCamera {
        let dir = tempfile::Builder::new()
            .prefix("actiond-vlc")
            .tempdir()
            .expect("temporary directory");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod the media directory");
        let copy = dir.path().join(media.file_name().expect("a file name"));
        std::fs::copy(media, &copy).expect("copy the media");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644))
            .expect("chmod the media");
        let log = dir.path().join("vlc.log");
        let mut cam = VlcCamera {
            _dir: dir,
            media: copy,
            port: free_port(),
            child: None,
            log,
        };
        cam.restart();
        cam
    }

    /// `rtsp://127.0.0.1:PORT/cam`.
    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/cam", self.port)
    }

    /// The port it serves on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts VLC (again) on the same port and waits until it accepts connections.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            return;
        }
        let sout = format!("#rtp{{sdp={}}}", self.url());
        let mut cmd = if is_root() {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "cvlc"]);
            c
        } else {
            Command::new("cvlc")
        };
        let log = std::fs::File::create(&self.log).expect("VLC log file");
        cmd.arg(&self.media)
            .args(["--loop", "--no-audio", "--sout", &sout])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log);
        self.child = Some(cmd.spawn().expect("start cvlc"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("cvlc exited ({status}): {}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "VLC does not listen on port {} after 20 s: {}",
                self.port,
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills VLC (SIGKILL: connections drop, the port closes) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What VLC wrote so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for VlcCamera {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Encodes `frames` frames of a moving ball (320×240, 15 fps) as H.265 in MP4 at
/// `dir/name.mp4`; `None` when no H.265 encoder is installed.
pub fn encode_h265(dir: &Path, name: &str, frames: u32) -> Option<PathBuf> {
    use gstreamer as gst;
    use gstreamer::prelude::*;
    super::gst_init();
    gst::ElementFactory::find("x265enc")?;
    let path = dir.join(format!("{name}.mp4"));
    let desc = format!(
        "videotestsrc num-buffers={frames} pattern=ball \
         ! video/x-raw,width=320,height=240,framerate=15/1 \
         ! x265enc speed-preset=ultrafast key-int-max=15 \
         ! h265parse ! mp4mux ! filesink name=out"
    );
    super::media::launch_to_file(&desc, &path);
    Some(path)
}
