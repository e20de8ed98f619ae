//! A real RTSP camera for tests: `gstreamer-rtsp-server` serving H.264 from
//! `videotestsrc` at `rtsp://127.0.0.1:PORT/test`, with its own GLib main
//! loop on its own thread. It can be stopped (clients are dropped, sessions
//! torn down, the port closed) and started again on the same port.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use gstreamer_rtsp_server as rtsp_server;
use rtsp_server::glib;
use rtsp_server::prelude::*;

/// The default media: a live 320×240 15 fps ball, H.264, a key frame a second.
pub const DEFAULT_LAUNCH: &str = "( videotestsrc is-live=true pattern=ball \
    ! video/x-raw,width=320,height=240,framerate=15/1 \
    ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 \
    ! rtph264pay name=pay0 pt=96 )";

/// The mount point.
pub const MOUNT: &str = "/test";

struct Running {
    ctx: glib::MainContext,
    main_loop: glib::MainLoop,
    thread: JoinHandle<()>,
}

/// Credentials a server asks for, and how.
#[derive(Clone, Debug)]
pub struct Auth {
    pub user: String,
    pub password: String,
    /// RTSP digest authentication instead of basic.
    pub digest: bool,
}

pub struct RtspServer {
    launch: String,
    port: u16,
    auth: Option<Auth>,
    running: Option<Running>,
}

impl RtspServer {
    /// Serves [`DEFAULT_LAUNCH`] on a free port.
    pub fn start() -> RtspServer {
        Self::start_with(DEFAULT_LAUNCH, 0)
    }

    /// Serves `launch` (a gst-launch description with a payloader named
    /// `pay0`) on `port` (0: a free one).
    pub fn start_with(launch: &str, port: u16) -> RtspServer {
        Self::start_full(launch, port, None)
    }

    /// Serves [`DEFAULT_LAUNCH`] on a free port to clients with `auth`'s credentials only.
    pub fn start_with_auth(auth: Auth) -> RtspServer {
        Self::start_full(DEFAULT_LAUNCH, 0, Some(auth))
    }

    fn start_full(launch: &str, port: u16, auth: Option<Auth>) -> RtspServer {
        super::gst_init();
        let mut server = RtspServer {
            launch: launch.to_owned(),
            port,
            auth,
            running: None,
        };
        server.restart();
        server
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `rtsp://127.0.0.1:PORT/test`.
    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}{MOUNT}", self.port)
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Starts serving again on the same port (after [`RtspServer::stop`]);
    /// does nothing if running. Retries the bind for a few seconds.
    pub fn restart(&mut self) {
        if self.running.is_some() {
            return;
        }
        let mut last_err = String::new();
        for _ in 0..50 {
            match spawn_server(&self.launch, self.port, self.auth.clone()) {
                Ok((port, running)) => {
                    self.port = port;
                    self.running = Some(running);
                    return;
                }
                Err(e) => last_err = e,
            }
            if self.port == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("RTSP server on port {}: {last_err}", self.port);
    }

    /// Stops serving: closes client connections, removes sessions (their
    /// pipelines stop) and closes the listening socket. Blocks until done.
    pub fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            // Quit from inside the loop: a quit() before run() would be lost.
            let main_loop = running.main_loop.clone();
            running.ctx.invoke(move || main_loop.quit());
            running.thread.join().expect("RTSP server thread panicked");
        }
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a server thread; returns its bound port once it listens.
fn spawn_server(launch: &str, port: u16, auth: Option<Auth>) -> Result<(u16, Running), String> {
    let launch = launch.to_owned();
    let (tx, rx) = mpsc::channel::<ServeResult>();
    let thread = std::thread::Builder::new()
        .name(format!("rtsp-server-{port}"))
        .spawn(move || {
            let ctx = glib::MainContext::new();
            let result = ctx.with_thread_default(|| serve(&ctx, &launch, port, auth.as_ref(), &tx));
            if let Err(e) = result {
                let _ = tx.send(Err(format!("push thread-default context: {e}")));
            }
        })
        .map_err(|e| e.to_string())?;
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok((port, ctx, main_loop))) => Ok((
            port,
            Running {
                ctx,
                main_loop,
                thread,
            },
        )),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(e) => Err(format!("RTSP server thread did not start: {e}")),
    }
}

type ServeResult = Result<(u16, glib::MainContext, glib::MainLoop), String>;

/// Destroys a source attached to `ctx` (SourceId::remove only looks in the
/// global default context).
fn remove_source(ctx: &glib::MainContext, id: glib::SourceId) {
    if let Some(source) = ctx.find_source_by_id(&id) {
        source.destroy();
    }
}

/// Makes `server` ask for `auth`'s credentials and lets only that user play `factory`.
fn require_auth(
    server: &rtsp_server::RTSPServer,
    factory: &rtsp_server::RTSPMediaFactory,
    auth: &Auth,
) {
    let rtsp_auth = rtsp_server::RTSPAuth::new();
    let token = rtsp_server::RTSPToken::builder()
        .field(rtsp_server::RTSP_TOKEN_MEDIA_FACTORY_ROLE, "camera-user")
        .build();
    if auth.digest {
        rtsp_auth.set_supported_methods(rtsp_server::gst_rtsp::RTSPAuthMethod::Digest);
        rtsp_auth.add_digest(&auth.user, &auth.password, &token);
    } else {
        let basic = rtsp_server::RTSPAuth::make_basic(&auth.user, &auth.password);
        rtsp_auth.add_basic(basic.as_str(), &token);
    }
    server.set_auth(Some(&rtsp_auth));
    let role = rtsp_server::gst::Structure::builder("camera-user")
        .field(rtsp_server::RTSP_PERM_MEDIA_FACTORY_ACCESS, true)
        .field(rtsp_server::RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, true)
        .build();
    factory.add_role_from_structure(&role);
}

fn serve(
    ctx: &glib::MainContext,
    launch: &str,
    port: u16,
    auth: Option<&Auth>,
    tx: &mpsc::Sender<ServeResult>,
) {
    let server = rtsp_server::RTSPServer::new();
    server.set_address("127.0.0.1");
    server.set_service(&port.to_string());
    let factory = rtsp_server::RTSPMediaFactory::new();
    factory.set_launch(launch);
    factory.set_shared(true);
    if let Some(auth) = auth {
        require_auth(&server, &factory, auth);
    }
    server
        .mount_points()
        .expect("server has mount points")
        .add_factory(MOUNT, factory);
    let source = match server.attach(Some(ctx)) {
        Ok(id) => id,
        Err(e) => {
            let _ = tx.send(Err(format!("attach (bind 127.0.0.1:{port}): {e}")));
            return;
        }
    };
    let bound = server.bound_port();
    if bound <= 0 {
        let _ = tx.send(Err(format!("bound_port() = {bound}")));
        remove_source(ctx, source);
        return;
    }
    let main_loop = glib::MainLoop::new(Some(ctx), false);
    if tx
        .send(Ok((bound as u16, ctx.clone(), main_loop.clone())))
        .is_err()
    {
        remove_source(ctx, source);
        return;
    }
    main_loop.run();

    // Stop: no new connections, drop every client and session.
    remove_source(ctx, source);
    server.client_filter(Some(&mut |_, _| rtsp_server::RTSPFilterResult::Remove));
    if let Some(pool) = server.session_pool() {
        pool.filter(Some(&mut |_, _| rtsp_server::RTSPFilterResult::Remove));
    }
    // Let the context run what the closes queued.
    let deadline = std::time::Instant::now() + Duration::from_millis(500);
    while std::time::Instant::now() < deadline {
        if !ctx.iteration(false) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
