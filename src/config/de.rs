//! Leaf deserializers for `#[serde(deserialize_with)]`, with the config's own
//! messages: `expected an integer, got a float`, `must be at least 1, got 0`.
//!
//! serde's stock messages echo the value (`invalid type: string "…"`), which may
//! be a password; these never echo a value that is not a number or a name from
//! a fixed set. toml attaches the span of the value being read to every error
//! raised here, so each message lands on the right line and column.

use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A TOML value as a leaf sees it; arrays keep their elements as `T`.
pub(super) enum Leaf<T = IgnoredAny> {
    /// `true` or `false`.
    Bool(bool),
    /// Any integer (TOML allows up to 64 bits; more is reported as out of range).
    Int(i128),
    /// A float, possibly `nan` or `inf`.
    Float(f64),
    /// A string.
    Str(String),
    /// An array, its elements read as `T`.
    Array(Vec<T>),
    /// A table (`"a table"`) or a datetime (`"a datetime"`).
    Other(&'static str),
}

impl<T> Leaf<T> {
    /// "an integer", "a string", … for messages.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Leaf::Bool(_) => "a boolean",
            Leaf::Int(_) => "an integer",
            Leaf::Float(_) => "a float",
            Leaf::Str(_) => "a string",
            Leaf::Array(_) => "an array",
            Leaf::Other(kind) => kind,
        }
    }

    /// The message `expected {what}, got {kind}`.
    pub(super) fn expected(&self, what: &str) -> String {
        format!("expected {what}, got {}", self.kind())
    }

    /// The string, or an `expected {what}` message.
    pub(super) fn into_str(self, what: &str) -> Result<String, String> {
        match self {
            Leaf::Str(s) => Ok(s),
            other => Err(other.expected(what)),
        }
    }
}

/// Reads one value as a [`Leaf`] and passes it through `check`, whose message
/// becomes the error. The check runs inside toml's call for this value, so the
/// error carries this value's span (also for an element of an array).
pub(super) fn read<'de, D, T, R, F>(d: D, check: F) -> Result<R, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
    F: FnOnce(Leaf<T>) -> Result<R, String>,
{
    d.deserialize_any(LeafVisitor(check, PhantomData))
}

/// Accepts every TOML value, says which kind it is, and checks it.
struct LeafVisitor<T, F>(F, PhantomData<T>);

impl<T, F> LeafVisitor<T, F> {
    /// Runs the check on `leaf`.
    fn check<R, E: de::Error>(self, leaf: Leaf<T>) -> Result<R, E>
    where
        F: FnOnce(Leaf<T>) -> Result<R, String>,
    {
        (self.0)(leaf).map_err(E::custom)
    }
}

impl<'de, T, R, F> Visitor<'de> for LeafVisitor<T, F>
where
    T: Deserialize<'de>,
    F: FnOnce(Leaf<T>) -> Result<R, String>,
{
    type Value = R;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<R, E> {
        self.check(Leaf::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<R, E> {
        self.check(Leaf::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<R, E> {
        self.check(Leaf::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<R, E> {
        self.check(Leaf::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<R, E> {
        match i128::try_from(v) {
            Ok(n) => self.check(Leaf::Int(n)),
            Err(_) => Err(E::custom(format!("integer `{v}` is out of range"))),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<R, E> {
        self.check(Leaf::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<R, E> {
        self.check(Leaf::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<R, E> {
        self.check(Leaf::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<R, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        self.check(Leaf::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<R, A::Error> {
        // toml hands a datetime over as a one-entry map with a private key.
        let key: Option<String> = map.next_key()?;
        self.check(match key {
            Some(k) if k.starts_with("$__toml_private") => Leaf::Other("a datetime"),
            _ => Leaf::Other("a table"),
        })
    }
}

/// Reads a scalar [`Leaf`] and checks it (see [`read`]).
pub(super) fn scalar<'de, D, R>(
    d: D,
    check: impl FnOnce(Leaf) -> Result<R, String>,
) -> Result<R, D::Error>
where
    D: Deserializer<'de>,
{
    read::<D, IgnoredAny, R, _>(d, check)
}
/// `true` or `false`.
pub(super) fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    scalar(d, |leaf| match leaf {
        Leaf::Bool(b) => Ok(b),
        other => Err(other.expected("a boolean (true or false)")),
    })
}

/// Any string.
pub(super) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    scalar(d, |leaf| leaf.into_str("a string"))
}

/// A string that is not empty or only whitespace.
pub(super) fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    scalar(d, |leaf| {
        let s = leaf.into_str("a string")?;
        if s.trim().is_empty() {
            Err("must not be empty".into())
        } else {
            Ok(s)
        }
    })
}

/// [`non_empty`], for an optional key.
pub(super) fn some_non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    non_empty(d).map(Some)
}

/// A path, written as a non-empty string (resolved against the config's directory later).
pub(super) fn path<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    non_empty(d).map(PathBuf::from)
}

/// [`path`], for an optional key.
pub(super) fn some_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    path(d).map(Some)
}

/// An integer in `MIN..=MAX`, as `T` (which must hold that range).
pub(super) fn int<'de, D, T, const MIN: i128, const MAX: i128>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i128>,
{
    scalar(d, |leaf| {
        let n = match leaf {
            Leaf::Int(n) => n,
            other => return Err(other.expected("an integer")),
        };
        if n < MIN {
            Err(format!("must be at least {MIN}, got {n}"))
        } else if n > MAX {
            Err(format!("must be at most {MAX}, got {n}"))
        } else {
            T::try_from(n).map_err(|_| format!("integer `{n}` is out of range"))
        }
    })
}

/// An integer of at least `MIN`, as `usize`.
pub(super) fn count<'de, D: Deserializer<'de>, const MIN: i128>(d: D) -> Result<usize, D::Error> {
    int::<D, usize, MIN, { usize::MAX as i128 }>(d)
}

/// A finite number (integers are accepted) in `min..=max`; `min` itself is
/// allowed only when `min_inclusive`.
fn number<'de, D: Deserializer<'de>>(
    d: D,
    min: f64,
    min_inclusive: bool,
    max: f64,
) -> Result<f64, D::Error> {
    scalar(d, |leaf| {
        let x = match leaf {
            Leaf::Int(n) => n as f64,
            Leaf::Float(x) => x,
            other => return Err(other.expected("a number")),
        };
        if !x.is_finite() {
            Err(format!("must be a finite number, got {x}"))
        } else if min_inclusive && x < min {
            Err(format!("must be at least {min}, got {x}"))
        } else if !min_inclusive && x <= min {
            Err(format!("must be greater than {min}, got {x}"))
        } else if x > max {
            Err(format!("must be at most {max}, got {x}"))
        } else {
            Ok(x)
        }
    })
}

/// A finite number greater than 0 (seconds).
pub(super) fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    number(d, 0.0, false, f64::MAX)
}

/// A finite number in `0..=1`.
pub(super) fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    number(d, 0.0, true, 1.0).map(|x| x as f32)
}

/// Frames per second: a finite number in `0..=1000`.
pub(super) fn fps<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    number(d, 0.0, true, 1000.0)
}

/// A name from a fixed set, written in TOML as a string.
pub(super) trait Named: Copy + 'static {
    /// What the name is called in messages ("provider", "method").
    const WHAT: &'static str;
    /// Every value, in the order listed in messages.
    const ALL: &'static [Self];
    /// The TOML name.
    fn as_str(self) -> &'static str;
}

/// Reads a [`Named`] value: `unknown {what} `x`; expected one of: a, b`.
pub(super) fn named<'de, D: Deserializer<'de>, T: Named>(d: D) -> Result<T, D::Error> {
    scalar(d, |leaf| {
        let s = leaf.into_str("a string")?;
        T::ALL
            .iter()
            .copied()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = T::ALL.iter().map(|v| v.as_str()).collect();
                format!(
                    "unknown {} `{s}`; expected one of: {}",
                    T::WHAT,
                    names.join(", ")
                )
            })
    })
}

/// Declares a [`Named`] enum's TOML names: `as_str`, `Display`, `Deserialize`.
macro_rules! named_enum {
    ($ty:ident, $what:literal, [$($variant:ident = $name:literal),+ $(,)?]) => {
        impl $ty {
            /// The TOML name of this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }

        impl $crate::config::de::Named for $ty {
            const WHAT: &'static str = $what;
            const ALL: &'static [Self] = &[$($ty::$variant),+];
            fn as_str(self) -> &'static str {
                $ty::as_str(self)
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::config::de::named(d)
            }
        }
    };
}
pub(super) use named_enum;

/// Field names of the struct `T` deserializes as (serde's own list, as given to
/// `deserialize_struct`): the keys a table may hold.
pub(super) fn keys<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    /// A deserializer that only records the field list it is asked for.
    struct Probe<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}
