//! RTSP cameras: which lower transport each attempt asks `rtspsrc` for (`"auto"` finds
//! its way and keeps what worked) and what `rtspsrc`'s errors mean to a user.

use std::borrow::Cow;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;

use crate::config::{RtspTransport, SourceKind, StreamConfig};

/// The lower transport of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// RTP interleaved in the RTSP (TCP) connection.
    Tcp,
    /// RTP over UDP (unicast, or multicast when the camera offers it).
    Udp,
}

impl Transport {
    /// `rtspsrc`'s `protocols` value that allows this transport only.
    pub fn protocols(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp-mcast+udp",
        }
    }

    /// How status reasons name it.
    pub fn describe(self) -> &'static str {
        match self {
            Transport::Tcp => "RTP over TCP",
            Transport::Udp => "RTP over UDP",
        }
    }

    /// The other transport.
    pub fn other(self) -> Self {
        match self {
            Transport::Tcp => Transport::Udp,
            Transport::Udp => Transport::Tcp,
        }
    }

    /// The config value that asks for this transport only.
    pub fn strict(self) -> RtspTransport {
        match self {
            Transport::Tcp => RtspTransport::Tcp,
            Transport::Udp => RtspTransport::Udp,
        }
    }
}

/// Which transport an RTSP stream's next attempt uses, and whether it may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportChoice {
    /// `"auto"`: switch when the camera or the network refuses the current one.
    auto: bool,
    /// The transport of the next (or current) attempt; after frames flowed, the one that worked.
    current: Transport,
}

impl TransportChoice {
    /// The choice for `stream`, if it is an RTSP camera: TCP first unless `"udp"` is asked for.
    pub fn of(stream: &StreamConfig) -> Option<Self> {
        matches!(stream.source, SourceKind::Rtsp(_)).then(|| Self::new(stream.rtsp_transport))
    }

    /// The choice for the `rtsp_transport` setting `mode`.
    pub fn new(mode: RtspTransport) -> Self {
        let current = match mode {
            RtspTransport::Udp => Transport::Udp,
            RtspTransport::Tcp | RtspTransport::Auto => Transport::Tcp,
        };
        TransportChoice {
            auto: mode == RtspTransport::Auto,
            current,
        }
    }

    /// The transport the next attempt asks for.
    pub fn current(&self) -> Transport {
        self.current
    }

    /// After an attempt with the current transport failed with `cause`: the transport
    /// switched to, if `"auto"` and `cause` says the current one cannot work. What
    /// worked stays otherwise (a camera that is away keeps its transport).
    pub fn after(&mut self, cause: Cause) -> Option<Transport> {
        let refused = match cause {
            Cause::TransportRefused => true,
            Cause::NoUdpPackets => self.current == Transport::Udp,
            _ => false,
        };
        if !(self.auto && refused) {
            return None;
        }
        self.current = self.current.other();
        Some(self.current)
    }
}

/// Why an RTSP camera failed, as a user can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The camera answered SETUP with an error for the only transport asked for.
    TransportRefused,
    /// UDP was set up but no RTP packet arrived (a firewall or NAT drops them).
    NoUdpPackets,
    /// RTSP 401: credentials missing or wrong.
    Unauthorized,
    /// RTSP 404: no stream at this path.
    NotFound,
    /// The TCP connection to the camera failed (refused or unreachable).
    ConnectFailed,
    /// The camera accepted the connection but did not answer in time.
    NoAnswer,
}

impl Cause {
    /// What happened and what to do, led by the cause; `tried` is the attempt's transport,
    /// `switched` the one the next attempt uses if it changes, `answer` `rtspsrc`'s
    /// `tcp-timeout`.
    pub fn explain(
        self,
        tried: Transport,
        switched: Option<Transport>,
        answer: Duration,
    ) -> String {
        let then = |fix: &str| match switched {
            Some(t) => format!("; trying {} next", t.describe()),
            None => format!("; {fix}"),
        };
        match self {
            Cause::TransportRefused => format!(
                "transport refused: the camera refused {}{}",
                tried.describe(),
                then("allow the other with rtsp_transport = \"auto\"")
            ),
            Cause::NoUdpPackets => format!(
                "no RTP packets over UDP arrived (a firewall or NAT drops them){}",
                then("use rtsp_transport = \"tcp\" or \"auto\"")
            ),
            Cause::Unauthorized => "unauthorized (RTSP 401): the camera wants a user and \
                password; put them in the URI as rtsp://user:password@host/…"
                .into(),
            Cause::NotFound => "no such stream (RTSP 404 Not Found): the camera has no \
                stream at this path; check the URI's path"
                .into(),
            Cause::ConnectFailed => "cannot connect to the camera (connection refused or \
                host unreachable): check the host, the port and that the camera is on"
                .into(),
            Cause::NoAnswer => format!(
                "no answer from the camera within {:.0} s: it accepted the connection but \
                 did not answer the RTSP request",
                answer.as_secs_f64()
            ),
        }
    }
}

/// How long `rtspsrc` waits for each RTSP answer: half the stall timeout (at least 1 s,
/// at most 20 s, `rtspsrc`'s own default), so a silent camera is named before it stalls.
pub fn answer_timeout(stall: Duration) -> Duration {
    (stall / 2).clamp(Duration::from_secs(1), Duration::from_secs(20))
}

/// The cause of an error `rtspsrc` posted, from its domain and code and the debug
/// text naming the function that failed; `None` for anything else.
pub fn diagnose(error: &glib::Error, debug: Option<&str>) -> Option<Cause> {
    let debug = debug.unwrap_or_default();
    if !(debug.contains("gst_rtspsrc_") || debug.contains("gst_rtsp_src_")) {
        return None;
    }
    if debug.contains("gst_rtspsrc_setup_streams_start")
        && (error.matches(gst::StreamError::CodecNotFound)
            || error.matches(gst::CoreError::MissingPlugin))
    {
        return Some(Cause::TransportRefused);
    }
    match error.kind::<gst::ResourceError>()? {
        gst::ResourceError::NotAuthorized => Some(Cause::Unauthorized),
        gst::ResourceError::NotFound => Some(Cause::NotFound),
        _ if debug.contains("Could not receive any UDP packets") => Some(Cause::NoUdpPackets),
        gst::ResourceError::OpenReadWrite | gst::ResourceError::OpenRead
            if debug.contains("Failed to connect") || debug.contains("Could not connect") =>
        {
            Some(Cause::ConnectFailed)
        }
        _ if debug.contains("Timeout while waiting for server response") => Some(Cause::NoAnswer),
        _ => None,
    }
}

/// `stream` as this attempt builds it: an RTSP camera asks for `transport` only.
pub fn with_transport(
    stream: &StreamConfig,
    transport: Option<Transport>,
) -> Cow<'_, StreamConfig> {
    match transport {
        Some(t) if stream.rtsp_transport != t.strict() => {
            let mut s = stream.clone();
            s.rtsp_transport = t.strict();
            Cow::Owned(s)
        }
        _ => Cow::Borrowed(stream),
    }
}

/// Configures an `rtspsrc` for `stream`: its transport, jitter buffer and answer timeout.
pub fn configure(source: &gst::Element, stream: &RtspSettings) {
    source.set_property_from_str("protocols", stream.protocols);
    source.set_property("latency", stream.latency_ms);
    source.set_property("drop-on-latency", true);
    source.set_property("tcp-timeout", stream.answer.as_micros() as u64);
}

/// What [`configure`] sets on an `rtspsrc`.
#[derive(Debug, Clone, Copy)]
pub struct RtspSettings {
    /// `rtspsrc`'s `protocols`.
    pub protocols: &'static str,
    /// Jitter buffer in milliseconds.
    pub latency_ms: u32,
    /// `tcp-timeout`: longest wait for an RTSP answer.
    pub answer: Duration,
}

impl RtspSettings {
    /// The settings of `stream`.
    pub fn of(stream: &StreamConfig) -> Self {
        RtspSettings {
            protocols: match stream.rtsp_transport {
                RtspTransport::Tcp => Transport::Tcp.protocols(),
                RtspTransport::Udp => Transport::Udp.protocols(),
                // Only without a supervisor (offline tools): rtspsrc tries UDP, then TCP.
                RtspTransport::Auto => "tcp+udp-mcast+udp",
            },
            latency_ms: stream.latency_ms,
            answer: answer_timeout(Duration::from_secs_f64(stream.stall_timeout_s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETUP: &str = "../gst/rtsp/gstrtspsrc.c(7894): gst_rtspsrc_setup_streams_start (): \
        /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0";

    fn err<T: glib::error::ErrorDomain>(code: T) -> glib::Error {
        glib::Error::new(code, "text")
    }

    #[test]
    fn rtspsrc_errors_are_diagnosed_by_code_and_function() {
        let codec = err(gst::StreamError::CodecNotFound);
        assert_eq!(diagnose(&codec, Some(SETUP)), Some(Cause::TransportRefused));
        let plugin = err(gst::CoreError::MissingPlugin);
        assert_eq!(
            diagnose(&plugin, Some(SETUP)),
            Some(Cause::TransportRefused)
        );
        // The same code from elsewhere (a decoder) is not about transport.
        assert_eq!(diagnose(&codec, Some("gstdecodebin2.c: no decoder")), None);
        let recv = "gstrtspsrc.c(6682): gst_rtsp_src_receive_response (): x:\n";
        let read = err(gst::ResourceError::Read);
        assert_eq!(
            diagnose(
                &read,
                Some(&format!(
                    "{recv}Could not receive message. (Timeout while waiting for server response)"
                ))
            ),
            Some(Cause::NoAnswer)
        );
        assert_eq!(
            diagnose(
                &read,
                Some("gstrtspsrc.c(1): gst_rtspsrc_loop_udp (): x:\nCould not receive any UDP packets for 5.0000 seconds")
            ),
            Some(Cause::NoUdpPackets)
        );
        let open = err(gst::ResourceError::OpenReadWrite);
        let connect = "gstrtspsrc.c(8336): gst_rtspsrc_retrieve_sdp (): x:\nFailed to connect. (Generic error)";
        assert_eq!(diagnose(&open, Some(connect)), Some(Cause::ConnectFailed));
        let lost = "gstrtspsrc.c(6038): gst_rtspsrc_loop_udp (): x:\nCould not connect to server. (Generic error)";
        assert_eq!(diagnose(&open, Some(lost)), Some(Cause::ConnectFailed));
        let sdp = "gstrtspsrc.c(1): gst_rtspsrc_send (): x: Not Found (404)";
        let nf = err(gst::ResourceError::NotFound);
        assert_eq!(diagnose(&nf, Some(sdp)), Some(Cause::NotFound));
        let na = err(gst::ResourceError::NotAuthorized);
        assert_eq!(diagnose(&na, Some(sdp)), Some(Cause::Unauthorized));
        assert_eq!(diagnose(&na, None), None);
    }

    #[test]
    fn auto_switches_on_refusal_and_strict_never_does() {
        let mut auto = TransportChoice::new(RtspTransport::Auto);
        assert_eq!(auto.current(), Transport::Tcp);
        assert_eq!(auto.after(Cause::NoUdpPackets), None);
        assert_eq!(auto.after(Cause::TransportRefused), Some(Transport::Udp));
        assert_eq!(auto.after(Cause::ConnectFailed), None);
        assert_eq!(auto.current(), Transport::Udp);
        assert_eq!(auto.after(Cause::NoUdpPackets), Some(Transport::Tcp));
        for mode in [RtspTransport::Tcp, RtspTransport::Udp] {
            let mut strict = TransportChoice::new(mode);
            assert_eq!(strict.after(Cause::TransportRefused), None);
            assert_eq!(strict.after(Cause::NoUdpPackets), None);
            assert_eq!(strict.current().strict(), mode);
        }
    }

    #[test]
    fn answer_timeout_is_half_the_stall_within_bounds() {
        assert_eq!(
            answer_timeout(Duration::from_secs(10)),
            Duration::from_secs(5)
        );
        assert_eq!(
            answer_timeout(Duration::from_millis(500)),
            Duration::from_secs(1)
        );
        assert_eq!(
            answer_timeout(Duration::from_secs(600)),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn reasons_lead_with_the_cause() {
        let t = Duration::from_secs(5);
        let why = Cause::TransportRefused.explain(Transport::Tcp, Some(Transport::Udp), t);
        assert_eq!(
            why,
            "transport refused: the camera refused RTP over TCP; trying RTP over UDP next"
        );
        assert!(Cause::NoAnswer
            .explain(Transport::Tcp, None, t)
            .starts_with("no answer from the camera within 5 s"));
        assert!(Cause::NotFound
            .explain(Transport::Tcp, None, t)
            .starts_with("no such stream"));
    }
}
