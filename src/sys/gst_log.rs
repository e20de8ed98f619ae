//! GStreamer's own debug messages, through tracing (target `gstreamer`), to the journal
//! with a priority and the stream they came from. Only when `RUST_LOG` names the
//! `gstreamer` target (`RUST_LOG=info,gstreamer=warn`): the daemon's own messages
//! already say what failed, once per retry, and a plain `RUST_LOG=info` should not add
//! GStreamer's chatter.

use std::sync::Once;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;

/// Parents walked up from the logging object to its pipeline, at most.
const MAX_DEPTH: usize = 32;

/// Routes GStreamer's log into tracing, once per process, when `RUST_LOG` names the
/// `gstreamer` target and the log filter lets it through: GStreamer is asked for the levels the filter would show
/// (`GST_DEBUG`, when set, still chooses categories and levels itself). Otherwise
/// GStreamer logs as it always does (to stderr with `GST_DEBUG`).
pub fn route() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let named = std::env::var("RUST_LOG").is_ok_and(|f| f.contains("gstreamer"));
        let Some(threshold) = threshold().filter(|_| named) else {
            return;
        };
        gst::log::remove_default_log_function();
        if std::env::var_os("GST_DEBUG").is_none() {
            gst::log::set_default_threshold(threshold);
        }
        gst::log::add_log_function(log);
    });
}

/// The GStreamer level whose messages the log filter shows for target `gstreamer`
/// (as [`log`] maps them), or `None` when it shows none.
fn threshold() -> Option<gst::DebugLevel> {
    use tracing::Level;
    let on = |level| match level {
        Level::TRACE => tracing::enabled!(target: "gstreamer", Level::TRACE),
        Level::DEBUG => tracing::enabled!(target: "gstreamer", Level::DEBUG),
        Level::WARN => tracing::enabled!(target: "gstreamer", Level::WARN),
        _ => tracing::enabled!(target: "gstreamer", Level::ERROR),
    };
    [
        (Level::TRACE, gst::DebugLevel::Log),
        (Level::DEBUG, gst::DebugLevel::Info),
        (Level::WARN, gst::DebugLevel::Fixme),
        (Level::ERROR, gst::DebugLevel::Error),
    ]
    .into_iter()
    .find(|(level, _)| on(*level))
    .map(|(_, gst_level)| gst_level)
}

fn log(
    category: gst::DebugCategory,
    level: gst::DebugLevel,
    file: &glib::GStr,
    _function: &glib::GStr,
    line: u32,
    object: Option<&gst::log::LoggedObject>,
    message: &gst::DebugMessage,
) {
    let Some(text) = message.get() else { return };
    let stream = object
        .and_then(|o| stream_of(o.as_ptr()))
        .unwrap_or_default();
    let element = object.map(ToString::to_string).unwrap_or_default();
    let category = category.name();
    let at = format!("{}:{line}", file.as_str());
    match level {
        gst::DebugLevel::Error => {
            tracing::error!(target: "gstreamer", stream, element, category, at, "GStreamer: {text}")
        }
        gst::DebugLevel::Warning | gst::DebugLevel::Fixme => {
            tracing::warn!(target: "gstreamer", stream, element, category, at, "GStreamer: {text}")
        }
        gst::DebugLevel::Info => {
            tracing::debug!(target: "gstreamer", stream, element, category, at, "{text}")
        }
        _ => tracing::trace!(target: "gstreamer", stream, element, category, at, "{text}"),
    }
}

/// The stream whose pipeline (`stream-<name>`) holds `object`, if any.
///
/// Reads the objects' `parent` and `name` fields without taking their locks, as
/// GStreamer's own default log function does: a log function may run while the
/// object's lock is held, and taking it again would deadlock.
fn stream_of(object: *mut glib::gobject_ffi::GObject) -> Option<String> {
    use glib::translate::IntoGlib;
    let mut ptr = object;
    // SAFETY: `ptr` is the live object the message is about; each step checks that it
    // is a GstObject before reading GstObject fields, and stops at a null parent.
    unsafe {
        let object_type = gst::Object::static_type().into_glib();
        for _ in 0..MAX_DEPTH {
            if glib::gobject_ffi::g_type_check_instance_is_a(ptr.cast(), object_type) == 0 {
                return None;
            }
            let obj = ptr.cast::<gst::ffi::GstObject>();
            let parent = (*obj).parent;
            if parent.is_null() {
                let name = (*obj).name;
                if name.is_null() {
                    return None;
                }
                let name = std::ffi::CStr::from_ptr(name).to_str().ok()?;
                return name.strip_prefix("stream-").map(str::to_owned);
            }
            ptr = parent.cast();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_element_deep_in_a_stream_pipeline_names_the_stream() {
        gst::init().unwrap();
        let pipeline = gst::Pipeline::with_name("stream-hall.cam-1");
        let bin = gst::Bin::with_name("source");
        let element = gst::ElementFactory::make("identity").build().unwrap();
        bin.add(&element).unwrap();
        pipeline.add(&bin).unwrap();
        let pad = element.static_pad("src").unwrap();
        let names = |o: &gst::Object| stream_of(o.as_ptr().cast());
        assert_eq!(names(element.upcast_ref()), Some("hall.cam-1".into()));
        assert_eq!(names(pad.upcast_ref()), Some("hall.cam-1".into()));
        let alone = gst::ElementFactory::make("identity").build().unwrap();
        assert_eq!(names(alone.upcast_ref()), None, "not in a stream pipeline");
    }
}
