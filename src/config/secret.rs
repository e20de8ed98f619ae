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
}
