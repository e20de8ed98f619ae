//! Values that may hold credentials, with a `Debug` that hides them, so that
//! the config structs can derive `Debug`.

use std::fmt;
use std::ops::Deref;

use super::source::redact_uri;

/// Text that may hold URIs with `user:password@` (a stream `uri`, a pipeline):
/// `Debug` shows it through [`redact_uri`]; it derefs to the text as written.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Redacted(String);

impl Deref for Redacted {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Redacted {
    fn from(text: String) -> Self {
        Redacted(text)
    }
}

impl From<&str> for Redacted {
    fn from(text: &str) -> Self {
        Redacted(text.to_string())
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_uri(&self.0), f)
    }
}

/// A password (or a name written with secret references): `Debug` shows `***`;
/// [`Secret::expose`] gives the value, [`Secret::shown`] what may be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    /// The value itself.
    value: String,
    /// The text as written, when it held `${…}` references.
    reference: Option<String>,
}

impl Secret {
    /// Wraps `password`, written inline.
    pub fn new(password: impl Into<String>) -> Self {
        Secret {
            value: password.into(),
            reference: None,
        }
    }

    /// Wraps `value`, resolved from `written` (which holds `${…}` references).
    pub fn referenced(value: impl Into<String>, written: impl Into<String>) -> Self {
        Secret {
            value: value.into(),
            reference: Some(written.into()),
        }
    }

    /// The password itself.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// The text as written, when it held references.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// What may be printed: the references as written, else `***`.
    pub fn shown(&self) -> &str {
        self.reference().unwrap_or("***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Resolved values shorter than this are not scrubbed: they would mask ordinary text.
const MIN_SCRUBBED: usize = 4;

/// Runs `f` on the values resolved from `${…}` references so far (one list per
/// process; per thread in unit tests, which run side by side).
fn with_resolved<R>(f: impl FnOnce(&mut Vec<String>) -> R) -> R {
    #[cfg(not(test))]
    {
        static RESOLVED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        f(&mut RESOLVED.lock().unwrap_or_else(|p| p.into_inner()))
    }
    #[cfg(test)]
    {
        thread_local!(static RESOLVED: std::cell::RefCell<Vec<String>> = const {
            std::cell::RefCell::new(Vec::new())
        });
        RESOLVED.with(|r| f(&mut r.borrow_mut()))
    }
}

/// Remembers `value`, resolved from a reference, so that [`scrub`] hides it.
pub(super) fn remember(value: &str) {
    if value.chars().count() < MIN_SCRUBBED {
        return;
    }
    with_resolved(|r| {
        if !r.iter().any(|v| v == value) {
            r.push(value.to_string());
            r.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    });
}

/// `text` with every value resolved from a `${…}` reference replaced by `***`:
/// what reaches logs and messages never holds one, even where GStreamer echoes a
/// URI or a pipeline. Values shorter than 4 characters are left alone.
pub fn scrub(text: &str) -> String {
    with_resolved(|r| {
        r.iter()
            .fold(text.to_string(), |t, v| t.replace(v.as_str(), "***"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_credentials_but_deref_keeps_them() {
        let uri = Redacted::from("rtsp://bob:hunter2@cam/x");
        assert_eq!(format!("{uri:?}"), "\"rtsp://***@cam/x\"");
        assert_eq!(&*uri, "rtsp://bob:hunter2@cam/x");
        let pw = Secret::new("hunter2");
        assert_eq!(format!("{pw:?}"), "\"***\"");
        assert_eq!(pw.expose(), "hunter2");
        assert_eq!(pw.shown(), "***");
        let pw = Secret::referenced("hunter2", "${credential:mqtt}");
        assert_eq!(format!("{pw:?}"), "\"***\"");
        assert_eq!((pw.expose(), pw.shown()), ("hunter2", "${credential:mqtt}"));
    }

    #[test]
    fn scrub_hides_remembered_values_of_four_characters_or_more() {
        remember("tok-hunter2");
        remember("abc");
        let text = "rtsp://cam/x?token=tok-hunter2 abc";
        assert_eq!(scrub(text), "rtsp://cam/x?token=*** abc");
        assert_eq!(
            format!("{:?}", Redacted::from("rtspsrc user-pw=tok-hunter2")),
            "\"rtspsrc user-pw=***\""
        );
    }
}
