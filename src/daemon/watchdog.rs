//! The systemd watchdog: pings while inference makes progress.

use std::sync::Arc;
use std::time::Duration;

use crate::hub::FrameHub;
use crate::sys::notify::{watchdog_interval, Notifier};

/// Pings systemd's watchdog while inference makes progress; stops pinging (so systemd
/// restarts the daemon) when the worker has been stuck longer than `stall_s`.
pub async fn run(notifier: Notifier, hub: Arc<FrameHub>, stall_s: f64) {
    let Some(interval) = watchdog_interval() else {
        return;
    };
    if !notifier.enabled() {
        return;
    }
    let stall = Duration::from_secs_f64(stall_s);
    let mut warned = false;
    let mut tick = tokio::time::interval(interval / 2);
    loop {
        tick.tick().await;
        let age = hub.progress_age();
        if age <= stall {
            warned = false;
            notifier.send("WATCHDOG=1");
        } else if !warned {
            warned = true;
            tracing::error!(
                "inference has made no progress for {:.0} s; no more watchdog pings, systemd will restart the daemon",
                age.as_secs_f64()
            );
            notifier.send("STATUS=inference stalled");
        }
    }
}
