//! The spanned TOML layer: the parsed `toml::de::DeTable` with dotted key paths,
//! for the checks serde cannot make (unknown keys in document order, cross-field
//! rules), and errors that carry file, line and column.

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::ConfigError;

/// The text being parsed, for turning byte offsets into line and column.
pub(super) struct Ctx<'a> {
    /// Where the text came from, as shown in messages.
    file: &'a Path,
    /// The whole TOML document.
    text: &'a str,
    /// Byte offset at which each line starts.
    line_starts: Vec<usize>,
}

impl<'a> Ctx<'a> {
    /// Prepares `text` (read from `file`) for position look-ups.
    pub(super) fn new(file: &'a Path, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Ctx {
            file,
            text,
            line_starts,
        }
    }

    /// The 1-based line and column (in characters) of byte `offset`.
    pub(super) fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        (line, column)
    }

    /// An [`ConfigError::Invalid`] at the start of `span`.
    pub(super) fn error(
        &self,
        span: &Range<usize>,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        let (line, column) = self.position(span.start);
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            line,
            column,
            key: key.into(),
            message: message.into(),
        }
    }

    /// Converts a TOML syntax error into a positioned [`ConfigError`].
    pub(super) fn syntax_error(&self, err: &toml::de::Error) -> ConfigError {
        let span = err.span().unwrap_or(0..0);
        let mut message = err.message().trim().replace('\n', "; ");
        if message == "duplicate key" {
            // Only a key is echoed: values may hold credentials.
            if let Some(key) = self.text.get(span.clone()).filter(|k| !k.contains('\n')) {
                message = format!("duplicate key `{key}`");
            }
        }
        self.error(&span, "syntax", message)
    }

    /// Converts an error from deserializing `root` into a positioned [`ConfigError`]
    /// naming the key whose value it is about.
    pub(super) fn serde_error(&self, root: &DeTable<'_>, err: &toml::de::Error) -> ConfigError {
        let span = err.span().unwrap_or(0..0);
        let key = path_of(root, "", &span).unwrap_or_default();
        let message = err.message();
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|m| m.strip_suffix('`'))
        {
            let message = format!("missing required key `{field}`");
            return self.error(&span, join(&key, field), message);
        }
        // serde's own wording echoes the value (`invalid type: string "…"`), which
        // may be a password: keep only what was expected.
        let message = match message.split_once(", expected ") {
            Some((head, expected)) if head.starts_with("invalid ") => {
                format!("expected {expected}")
            }
            _ => message.to_string(),
        };
        let key = if key.is_empty() { "config".into() } else { key };
        self.error(&span, key, message)
    }
}

/// The dotted path of the deepest value in `table` (under `parent`) whose span is `span`.
fn path_of(table: &DeTable<'_>, parent: &str, span: &Range<usize>) -> Option<String> {
    table
        .iter()
        .find_map(|(k, v)| value_path(v, join(parent, k.get_ref()), span))
}

/// [`path_of`] for one value at `key`: a match inside it first, then the value itself.
fn value_path(v: &Spanned<DeValue<'_>>, key: String, span: &Range<usize>) -> Option<String> {
    let inner = match v.get_ref() {
        DeValue::Table(t) => path_of(t, &key, span),
        DeValue::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| value_path(item, format!("{key}[{i}]"), span)),
        _ => None,
    };
    inner.or_else(|| (v.span() == *span).then_some(key))
}

/// Appends `key` to the dotted path `parent`.
fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// "an integer", "a string", … for messages.
fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// One value in the document, with its dotted key path and span.
#[derive(Clone)]
pub(super) struct Value<'a> {
    /// Positions and file name for errors.
    ctx: &'a Ctx<'a>,
    /// Dotted key path, e.g. `stream[1].sample_fps`.
    pub(super) key: String,
    /// Byte span of the value (for tables from a header: the header).
    pub(super) span: Range<usize>,
    /// The value itself.
    value: &'a DeValue<'a>,
}

impl<'a> Value<'a> {
    /// An error about this value, pointing at it.
    pub(super) fn error(&self, message: impl Into<String>) -> ConfigError {
        self.ctx.error(&self.span, self.key.clone(), message)
    }

    /// An error saying this value has the wrong type.
    pub(super) fn type_error(&self, expected: &str) -> ConfigError {
        self.error(format!(
            "expected {expected}, got {}",
            type_name(self.value)
        ))
    }

    /// The elements of an array, keyed `key[i]`.
    pub(super) fn array(&self) -> Result<Vec<Value<'a>>, ConfigError> {
        match self.value {
            DeValue::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, item)| Value {
                    ctx: self.ctx,
                    key: format!("{}[{i}]", self.key),
                    span: item.span(),
                    value: item.get_ref(),
                })
                .collect()),
            _ => Err(self.type_error("an array")),
        }
    }

    /// The value as a table, if it is one (its keys already checked).
    pub(super) fn entries(&self) -> Option<Table<'a>> {
        match self.value {
            DeValue::Table(map) => Some(Table {
                ctx: self.ctx,
                path: self.key.clone(),
                span: self.span.clone(),
                map,
            }),
            _ => None,
        }
    }

    /// The value as a table whose keys must all be in `known`.
    pub(super) fn table(&self, known: &'static [&'static str]) -> Result<Table<'a>, ConfigError> {
        match self.value {
            DeValue::Table(map) => {
                Table::new(self.ctx, self.key.clone(), self.span.clone(), map, known)
            }
            _ => Err(self.type_error("a table")),
        }
    }
}

/// A TOML table whose keys have been checked against the expected ones.
pub(super) struct Table<'a> {
    /// Positions and file name for errors.
    ctx: &'a Ctx<'a>,
    /// Dotted key path of the table; empty for the document root.
    path: String,
    /// Span of the table (its header, or the start of the file for the root).
    span: Range<usize>,
    /// The entries.
    map: &'a DeTable<'a>,
}

impl<'a> Table<'a> {
    /// Wraps `map`, rejecting the first (in document order) key not in `known`.
    pub(super) fn new(
        ctx: &'a Ctx<'a>,
        path: String,
        span: Range<usize>,
        map: &'a DeTable<'a>,
        known: &'static [&'static str],
    ) -> Result<Self, ConfigError> {
        let unknown = map
            .iter()
            .filter(|(k, _)| !known.contains(&k.get_ref().as_ref()))
            .min_by_key(|(k, _)| k.span().start);
        if let Some((k, _)) = unknown {
            let name = k.get_ref();
            return Err(ctx.error(
                &k.span(),
                join(&path, name),
                format!(
                    "unknown key `{name}`; expected one of: {}",
                    known.join(", ")
                ),
            ));
        }
        Ok(Table {
            ctx,
            path,
            span,
            map,
        })
    }

    /// The dotted path of `key` in this table.
    pub(super) fn key(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The value at `key`, if present.
    pub(super) fn get(&self, key: &str) -> Option<Value<'a>> {
        self.map.get(key).map(|v| Value {
            ctx: self.ctx,
            key: self.key(key),
            span: v.span(),
            value: v.get_ref(),
        })
    }

    /// An error at this table (its header) about `key`.
    pub(super) fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        self.ctx.error(&self.span, self.key(key), message)
    }

    /// The error for a required `key` that is absent.
    pub(super) fn missing(&self, key: &str) -> ConfigError {
        self.error(key, format!("missing required key `{key}`"))
    }
}
