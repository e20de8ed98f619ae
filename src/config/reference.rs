//! Secret references in config values: `${NAME}` (an environment variable),
//! `${file:/path}` (a file's contents) and `${credential:name}` (a systemd
//! credential, `$CREDENTIALS_DIRECTORY/name`); `$${` is a literal `${`.
//!
//! `{` cannot appear unescaped in a URI (RFC 3986), so `${` never collides with
//! a real camera URI. Errors name the reference as written, never its value.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Where references are looked up: the environment (also for
/// `$CREDENTIALS_DIRECTORY`) and the directory relative `${file:…}` paths start from.
pub(super) struct Resolver<'a> {
    /// Reads one environment variable.
    env: &'a dyn Fn(&str) -> Option<OsString>,
    /// The config file's directory.
    base: &'a Path,
}

/// A value with its references replaced.
#[derive(Debug, PartialEq)]
pub(super) struct Resolved {
    /// The text with every reference replaced and `$${` turned into `${`.
    pub(super) value: String,
    /// True when the text held at least one reference.
    pub(super) referenced: bool,
}

impl<'a> Resolver<'a> {
    /// A resolver reading `env`, with relative file paths under `base`.
    pub(super) fn new(env: &'a dyn Fn(&str) -> Option<OsString>, base: &'a Path) -> Self {
        Resolver { env, base }
    }

    /// Replaces every reference in `text`; the error message never holds a resolved value.
    pub(super) fn resolve(&self, text: &str) -> Result<Resolved, String> {
        let mut value = String::with_capacity(text.len());
        let mut referenced = false;
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            value.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(after) = tail.strip_prefix("$${") {
                value.push_str("${");
                rest = after;
            } else if let Some(after) = tail.strip_prefix("${") {
                let end = after.find('}').ok_or_else(|| {
                    "a `${` without its closing `}`; write `$${` for a literal `${`".to_string()
                })?;
                let reference = &after[..end];
                let resolved = self.lookup(reference)?;
                super::secret::remember(&resolved);
                value.push_str(&resolved);
                referenced = true;
                rest = &after[end + 1..];
            } else {
                value.push('$');
                rest = &tail[1..];
            }
        }
        value.push_str(rest);
        Ok(Resolved { value, referenced })
    }

    /// The value of one reference (the text between `${` and `}`).
    fn lookup(&self, reference: &str) -> Result<String, String> {
        let shown = format!("`${{{reference}}}`");
        let fail = |why: String| format!("{shown}: {why}");
        match reference.split_once(':') {
            None => self.env_var(reference).map_err(fail),
            Some(("file", path)) if !path.is_empty() => {
                read(&super::source::resolve(self.base, Path::new(path))).map_err(fail)
            }
            Some(("credential", name)) if valid_credential(name) => {
                self.credential(name).map_err(fail)
            }
            Some(("credential", _)) => Err(fail(
                "a credential name is 1 to 255 characters without `/`".into(),
            )),
            Some((kind, _)) => Err(fail(format!(
                "unknown reference kind `{kind}`; use ${{NAME}} (environment), ${{file:/path}} \
                 or ${{credential:name}}, and `$${{` for a literal `${{`"
            ))),
        }
    }

    /// `${NAME}`: an environment variable.
    fn env_var(&self, name: &str) -> Result<String, String> {
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(
                "not an environment variable name (letters, digits and `_`); \
                 use ${file:/path} or ${credential:name} for files"
                    .into(),
            );
        }
        let value =
            (self.env)(name).ok_or_else(|| format!("environment variable {name} is not set"))?;
        value
            .into_string()
            .map_err(|_| format!("environment variable {name} is not valid UTF-8"))
    }

    /// `${credential:name}`: `$CREDENTIALS_DIRECTORY/name`.
    fn credential(&self, name: &str) -> Result<String, String> {
        let dir = (self.env)("CREDENTIALS_DIRECTORY").ok_or_else(|| {
            format!(
                "$CREDENTIALS_DIRECTORY is not set; give the service `LoadCredential={name}:/path` \
                 (or `SetCredential=`), or use ${{file:/path}} outside systemd"
            )
        })?;
        read(&PathBuf::from(dir).join(name))
    }
}

/// A systemd credential name: 1..=255 bytes, no `/`, not `.` or `..`.
fn valid_credential(name: &str) -> bool {
    (1..=255).contains(&name.len()) && !name.contains('/') && name != "." && name != ".."
}

/// A file's contents as UTF-8, without one trailing newline.
fn read(path: &Path) -> Result<String, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut text =
        String::from_utf8(text).map_err(|_| format!("{} is not valid UTF-8", path.display()))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment: (name, value) pairs.
    type Env<'a> = [(&'a str, &'a str)];

    /// Resolves `text` with `vars` as the whole environment.
    fn resolve(text: &str, vars: &[(&str, &str)], base: &Path) -> Result<Resolved, String> {
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        };
        Resolver::new(&env, base).resolve(text)
    }

    #[test]
    fn plain_text_is_kept_and_dollars_alone_are_literal() {
        for text in ["rtsp://u:p$w@cam/x", "a$b$", "$", "test:ball", ""] {
            let r = resolve(text, &[], Path::new("/")).unwrap();
            assert_eq!((r.value.as_str(), r.referenced), (text, false));
        }
        let r = resolve("a$${B}c$${", &[("B", "no")], Path::new("/")).unwrap();
        assert_eq!((r.value.as_str(), r.referenced), ("a${B}c${", false));
    }

    #[test]
    fn each_kind_resolves() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
        std::fs::create_dir(dir.path().join("creds")).unwrap();
        std::fs::write(dir.path().join("creds/cam1"), "c r\r\n").unwrap();
        let creds = dir.path().join("creds");
        let vars = [
            ("CAM_USER", "admin"),
            ("CREDENTIALS_DIRECTORY", creds.to_str().unwrap()),
        ];
        let text = "rtsp://${CAM_USER}:${file:pw}@h/${credential:cam1}?$${x}";
        let r = resolve(text, &vars, dir.path()).unwrap();
        assert_eq!(r.value, "rtsp://admin:s3cret@h/c r?${x}");
        assert!(r.referenced);
        let abs = format!("${{file:{}}}", dir.path().join("pw").display());
        assert_eq!(resolve(&abs, &[], Path::new("/")).unwrap().value, "s3cret");
    }

    #[test]
    fn errors_name_the_reference_and_never_a_value() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bin"), [0xff, 0xfe]).unwrap();
        let creds = dir.path().to_str().unwrap();
        let cases: [(&str, &Env, &str); 9] = [
            (
                "${NOPE}",
                &[],
                "`${NOPE}`: environment variable NOPE is not set",
            ),
            ("${file:missing}", &[], "`${file:missing}`: cannot read"),
            ("${file:bin}", &[], "is not valid UTF-8"),
            (
                "${credential:cam1}",
                &[],
                "$CREDENTIALS_DIRECTORY is not set",
            ),
            (
                "${credential:cam1}",
                &[("CREDENTIALS_DIRECTORY", creds)],
                "cannot read",
            ),
            ("${credential:a/b}", &[], "without `/`"),
            ("${vault:x}", &[], "unknown reference kind `vault`"),
            ("${2X}", &[], "not an environment variable name"),
            ("rtsp://u:hunter2${@h", &[], "without its closing `}`"),
        ];
        for (text, vars, fragment) in cases {
            let err = resolve(text, vars, dir.path()).unwrap_err();
            assert!(err.contains(fragment), "{text}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
