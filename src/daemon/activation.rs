//! systemd socket activation: adopting the listening Unix socket systemd passes
//! (`LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`; descriptors from fd 3), as
//! `sd_listen_fds(3)` describes.

use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixListener;

/// The first descriptor systemd passes.
pub const FIRST_FD: RawFd = 3;
/// The `FileDescriptorName=` of the predictions socket in `actiond.socket`.
pub const SOCKET_NAME: &str = "predictions";

/// Why a passed socket cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// `LISTEN_FDS` is not a count.
    #[error("LISTEN_FDS={0:?} is not a number of file descriptors")]
    BadCount(String),
    /// Several descriptors and none named for the predictions socket.
    #[error("systemd passed {0} sockets and none is named `{SOCKET_NAME}` (FileDescriptorName=)")]
    Ambiguous(usize),
    /// The descriptor is not a listening Unix stream socket.
    #[error("file descriptor {0} passed by systemd is not a listening Unix stream socket (actiond.socket needs ListenStream=/path)")]
    NotUnixListener(RawFd),
    /// A system call on the descriptor failed.
    #[error("file descriptor {fd} passed by systemd: {what}: {source}")]
    Io {
        /// The descriptor.
        fd: RawFd,
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
}

/// The descriptor meant for this process, from the environment's values: `None`
/// when nothing was passed or it was passed to another process (`LISTEN_PID`).
pub fn chosen_fd(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    names: Option<&str>,
    pid: u32,
) -> Result<Option<RawFd>, ActivationError> {
    if listen_pid.and_then(|p| p.trim().parse::<u32>().ok()) != Some(pid) {
        return Ok(None);
    }
    let Some(count) = listen_fds else {
        return Ok(None);
    };
    let count: usize = count
        .trim()
        .parse()
        .map_err(|_| ActivationError::BadCount(count.to_string()))?;
    match count {
        0 => Ok(None),
        1 => Ok(Some(FIRST_FD)),
        n => names
            .unwrap_or("")
            .split(':')
            .take(n)
            .position(|name| name == SOCKET_NAME)
            .map(|i| Some(FIRST_FD + i as RawFd))
            .ok_or(ActivationError::Ambiguous(n)),
    }
}

/// Takes the listening Unix socket systemd passed to this process, if any
/// (non-blocking, close-on-exec so pipeline helpers do not inherit it).
pub fn take_listener() -> Result<Option<UnixListener>, ActivationError> {
    let var = |name| std::env::var(name).ok();
    let fd = chosen_fd(
        var("LISTEN_PID").as_deref(),
        var("LISTEN_FDS").as_deref(),
        var("LISTEN_FDNAMES").as_deref(),
        std::process::id(),
    )?;
    let Some(fd) = fd else { return Ok(None) };
    check_unix_listener(fd)?;
    // SAFETY: by the sd_listen_fds protocol (LISTEN_PID is this process) the descriptor
    // is open and handed to this process to own; it is checked to be a socket above and
    // is taken exactly once (LISTEN_FDS is read only here, when binding).
    let listener = unsafe { UnixListener::from_raw_fd(fd) };
    let io = |what| move |source| ActivationError::Io { fd, what, source };
    listener
        .set_nonblocking(true)
        .map_err(io("making it non-blocking"))?;
    // SAFETY: fcntl on a descriptor this process owns; no memory is passed.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        return Err(io("setting close-on-exec")(std::io::Error::last_os_error()));
    }
    Ok(Some(listener))
}

/// Fails unless `fd` is a listening socket of family AF_UNIX and type SOCK_STREAM.
fn check_unix_listener(fd: RawFd) -> Result<(), ActivationError> {
    let family = sockopt(fd, libc::SO_DOMAIN)?;
    let kind = sockopt(fd, libc::SO_TYPE)?;
    let listening = sockopt(fd, libc::SO_ACCEPTCONN)?;
    if family != libc::AF_UNIX || kind != libc::SOCK_STREAM || listening == 0 {
        return Err(ActivationError::NotUnixListener(fd));
    }
    Ok(())
}

/// An integer `SOL_SOCKET` option of `fd`.
fn sockopt(fd: RawFd, option: libc::c_int) -> Result<libc::c_int, ActivationError> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len point to live locals of the sizes getsockopt expects.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        let source = std::io::Error::last_os_error();
        if source.raw_os_error() == Some(libc::ENOTSOCK) {
            return Err(ActivationError::NotUnixListener(fd));
        }
        let what = "inspecting the socket";
        return Err(ActivationError::Io { fd, what, source });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_passed_or_passed_to_another_process_is_none() {
        assert_eq!(chosen_fd(None, None, None, 10).unwrap(), None);
        assert_eq!(chosen_fd(Some("11"), Some("1"), None, 10).unwrap(), None);
        assert_eq!(chosen_fd(Some("x"), Some("1"), None, 10).unwrap(), None);
        assert_eq!(chosen_fd(Some("10"), Some("0"), None, 10).unwrap(), None);
    }

    #[test]
    fn one_descriptor_is_fd_3_and_several_are_chosen_by_name() {
        assert_eq!(chosen_fd(Some("10"), Some("1"), None, 10).unwrap(), Some(3));
        let names = Some("http:predictions");
        assert_eq!(
            chosen_fd(Some("10"), Some("2"), names, 10).unwrap(),
            Some(4)
        );
        let e = chosen_fd(Some("10"), Some("2"), Some("a:b"), 10).unwrap_err();
        assert!(e.to_string().contains("none is named `predictions`"), "{e}");
        let e = chosen_fd(Some("10"), Some("many"), None, 10).unwrap_err();
        assert!(matches!(e, ActivationError::BadCount(_)), "{e}");
    }

    #[test]
    fn a_non_socket_descriptor_is_refused() {
        let file = tempfile::tempfile().unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        let e = check_unix_listener(fd).unwrap_err();
        assert!(
            matches!(e, ActivationError::NotUnixListener(f) if f == fd),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let listener = UnixListener::bind(dir.path().join("s")).unwrap();
        check_unix_listener(std::os::fd::AsRawFd::as_raw_fd(&listener)).unwrap();
    }
}
