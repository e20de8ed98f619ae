//! The spanned TOML layer: typed access to `toml::de::DeTable` values with
//! dotted key paths, and errors that carry file, line and column.

use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};

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

    /// The value as a string.
    pub(super) fn str(&self) -> Result<&'a str, ConfigError> {
        match self.value {
            DeValue::String(s) => Ok(s.as_ref()),
            _ => Err(self.type_error("a string")),
        }
    }

    /// The value as a string that is not empty or only whitespace.
    pub(super) fn non_empty_str(&self) -> Result<&'a str, ConfigError> {
        let s = self.str()?;
        if s.trim().is_empty() {
            Err(self.error("must not be empty"))
        } else {
            Ok(s)
        }
    }

    /// The value as a boolean.
    pub(super) fn bool(&self) -> Result<bool, ConfigError> {
        match self.value {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(self.type_error("a boolean (true or false)")),
        }
    }

    /// The value as an integer (floats are rejected).
    fn int(&self) -> Result<i128, ConfigError> {
        match self.value {
            DeValue::Integer(i) => i128::from_str_radix(&i.as_str().replace('_', ""), i.radix())
                .map_err(|_| self.error(format!("integer `{i}` is out of range"))),
            _ => Err(self.type_error("an integer")),
        }
    }

    /// The value as an integer in `min..=max`.
    fn int_in(&self, min: i128, max: i128) -> Result<i128, ConfigError> {
        let n = self.int()?;
        if n < min {
            Err(self.error(format!("must be at least {min}, got {n}")))
        } else if n > max {
            Err(self.error(format!("must be at most {max}, got {n}")))
        } else {
            Ok(n)
        }
    }

    /// The value as a `usize` in `min..=max`.
    pub(super) fn usize_in(&self, min: usize, max: usize) -> Result<usize, ConfigError> {
        // Both bounds fit in i128, and the result is within them.
        self.int_in(min as i128, max as i128).map(|n| n as usize)
    }

    /// The value as a `u32`.
    pub(super) fn u32(&self) -> Result<u32, ConfigError> {
        self.int_in(0, u32::MAX.into()).map(|n| n as u32)
    }

    /// The value as a finite number (integers are accepted).
    pub(super) fn f64(&self) -> Result<f64, ConfigError> {
        let x = match self.value {
            DeValue::Integer(_) => self.int()? as f64,
            DeValue::Float(f) => {
                let text = f.as_str().replace('_', "");
                text.parse::<f64>()
                    .ok()
                    .or_else(|| text.contains("nan").then_some(f64::NAN))
                    .ok_or_else(|| self.error(format!("invalid number `{f}`")))?
            }
            _ => return Err(self.type_error("a number")),
        };
        if x.is_finite() {
            Ok(x)
        } else {
            Err(self.error(format!("must be a finite number, got {x}")))
        }
    }

    /// The value as a finite number in `min..=max`, `min` itself allowed
    /// only when `min_inclusive`.
    pub(super) fn f64_in(
        &self,
        min: f64,
        min_inclusive: bool,
        max: f64,
    ) -> Result<f64, ConfigError> {
        let x = self.f64()?;
        if min_inclusive && x < min {
            Err(self.error(format!("must be at least {min}, got {x}")))
        } else if !min_inclusive && x <= min {
            Err(self.error(format!("must be greater than {min}, got {x}")))
        } else if x > max {
            Err(self.error(format!("must be at most {max}, got {x}")))
        } else {
            Ok(x)
        }
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
