//! `[[stream.region]]`: a named rectangle of a stream's frame, analyzed, smoothed
//! and published as a stream of its own (`<stream>/<region>`).

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::de::{read, Leaf};

/// `[[stream.region]]`: one region of interest of a stream.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default = "RegionConfig::unnamed", deny_unknown_fields)]
pub struct RegionConfig {
    /// Name within its stream, 1..=64 characters of `[A-Za-z0-9_.-]`.
    #[serde(deserialize_with = "super::validate::stream_name")]
    pub name: String,
    /// The rectangle: `[x, y, width, height]`, all integers (pixels) or all floats (fractions).
    #[serde(deserialize_with = "rect")]
    pub rect: Rect,
    /// The model this region runs (a `[[model]]` name; default: its stream's).
    #[serde(deserialize_with = "super::validate::model_name")]
    pub model: String,
}

impl RegionConfig {
    /// The defaults serde starts from; `name` and `rect` are required by the shape check.
    fn unnamed() -> Self {
        RegionConfig {
            name: String::new(),
            rect: Rect::Fraction([0.0, 0.0, 1.0, 1.0]),
            model: String::new(),
        }
    }

    /// The region's stream name: `<stream>/<region>`.
    pub fn full_name(&self, stream: &str) -> String {
        format!("{stream}/{}", self.name)
    }
}

/// A region's rectangle `[x, y, width, height]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rect {
    /// In pixels of the decoded frame (all integers).
    Pixels([u32; 4]),
    /// In fractions of the frame's width and height (all floats, 0..=1).
    Fraction([f64; 4]),
}

/// The crop of a region in pixels: `left`, `top`, `right`, `bottom` margins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crop {
    /// Pixels cut from the left.
    pub left: u32,
    /// Pixels cut from the top.
    pub top: u32,
    /// Pixels cut from the right.
    pub right: u32,
    /// Pixels cut from the bottom.
    pub bottom: u32,
}

impl Rect {
    /// The margins that crop a `width`×`height` frame to this rectangle, or why it does
    /// not fit (a pixel region larger than the frame). Fractions are rounded to whole
    /// pixels, at least one pixel wide and high.
    pub fn crop(&self, width: u32, height: u32) -> Result<Crop, String> {
        let [x, y, w, h] = match *self {
            Rect::Pixels(r) => r.map(u64::from),
            Rect::Fraction([x, y, w, h]) => {
                let px = |f: f64, n: u32| (f * f64::from(n)).round() as u64;
                let x = px(x, width).min(u64::from(width.max(1) - 1));
                let y = px(y, height).min(u64::from(height.max(1) - 1));
                let w = px(w, width).max(1).min(u64::from(width).saturating_sub(x));
                let h = px(h, height)
                    .max(1)
                    .min(u64::from(height).saturating_sub(y));
                [x, y, w, h]
            }
        };
        let (fw, fh) = (u64::from(width), u64::from(height));
        if w == 0 || h == 0 || x + w > fw || y + h > fh {
            return Err(format!(
                "region [{x}, {y}, {w}, {h}] does not fit the {width}x{height} frame"
            ));
        }
        Ok(Crop {
            left: x as u32,
            top: y as u32,
            right: (fw - x - w) as u32,
            bottom: (fh - y - h) as u32,
        })
    }

    /// As TOML: an array of four integers or four floats.
    pub fn to_toml(&self) -> toml::Value {
        let items = match self {
            Rect::Pixels(r) => r.iter().map(|&n| i64::from(n).into()).collect(),
            Rect::Fraction(r) => r.iter().map(|&f| f.into()).collect(),
        };
        toml::Value::Array(items)
    }
}

/// One element of a `rect` array.
enum Num {
    /// An integer.
    Int(i128),
    /// A float.
    Float(f64),
    /// Anything else (its kind, for the message).
    Other(&'static str),
}

impl Num {
    /// The integer, if it is one.
    fn int(&self) -> Option<i128> {
        match self {
            Num::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The float, if it is one.
    fn float(&self) -> Option<f64> {
        match self {
            Num::Float(f) => Some(*f),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num::Int(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num::Int(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num::Float(v))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Num, E> {
                Ok(Num::Other("a string"))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Num, E> {
                Ok(Num::Other("a boolean"))
            }
        }
        d.deserialize_any(V)
    }
}

/// How a `rect` is written, for messages.
const RECT_FORM: &str = "[x, y, width, height]: four integers (pixels, e.g. [0, 0, 640, 720]) \
                         or four floats (fractions of the frame, e.g. [0.0, 0.0, 0.5, 1.0])";

/// A region's `rect`: four integers (pixels) or four floats in 0..=1 (fractions), of
/// non-zero size, inside the frame (fractions: `x + width <= 1`, `y + height <= 1`).
fn rect<'de, D: Deserializer<'de>>(d: D) -> Result<Rect, D::Error> {
    read(d, |leaf: Leaf<Num>| match leaf {
        Leaf::Array(items) if items.len() == 4 => checked(&items),
        Leaf::Array(items) => Err(format!(
            "expected 4 numbers, got {}; write {RECT_FORM}",
            items.len()
        )),
        other => Err(format!("{}; write {RECT_FORM}", other.expected("an array"))),
    })
}

/// [`rect`]'s checks on its four numbers.
fn checked(items: &[Num]) -> Result<Rect, String> {
    if let Some(kind) = items.iter().find_map(|n| match n {
        Num::Other(kind) => Some(*kind),
        _ => None,
    }) {
        return Err(format!("expected numbers, got {kind}; write {RECT_FORM}"));
    }
    if let Some(ints) = items.iter().map(Num::int).collect::<Option<Vec<_>>>() {
        return pixels(&ints);
    }
    if let Some(floats) = items.iter().map(Num::float).collect::<Option<Vec<_>>>() {
        return fractions(&floats);
    }
    Err(format!(
        "mixes integers and floats; write {RECT_FORM} (1 as a fraction is 1.0)"
    ))
}

/// Four integers: pixels, width and height at least 1.
fn pixels(v: &[i128]) -> Result<Rect, String> {
    let mut r = [0u32; 4];
    for (out, &n) in r.iter_mut().zip(v) {
        *out = u32::try_from(n).map_err(|_| format!("pixel values must be 0 or more, got {n}"))?;
    }
    if r[2] == 0 || r[3] == 0 {
        return Err(format!(
            "zero size: width {} and height {} must be at least 1 pixel",
            r[2], r[3]
        ));
    }
    Ok(Rect::Pixels(r))
}

/// Four floats: fractions of the frame, inside it, of non-zero size.
fn fractions(v: &[f64]) -> Result<Rect, String> {
    let r = [v[0], v[1], v[2], v[3]];
    if let Some(f) = r.iter().find(|f| !(0.0..=1.0).contains(*f)) {
        return Err(format!(
            "fractions must be between 0.0 and 1.0, got {f} (pixels are written as integers)"
        ));
    }
    if r[2] == 0.0 || r[3] == 0.0 {
        return Err(format!(
            "zero size: width {} and height {} must be more than 0.0",
            r[2], r[3]
        ));
    }
    // A little slack for decimal fractions such as 0.7 + 0.3.
    if r[0] + r[2] > 1.0 + 1e-9 || r[1] + r[3] > 1.0 + 1e-9 {
        return Err(format!(
            "outside the frame: x + width = {} and y + height = {} must be at most 1.0",
            r[0] + r[2],
            r[1] + r[3]
        ));
    }
    Ok(Rect::Fraction(r))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_invalid, parse, MINIMAL};
    use super::*;

    /// MINIMAL (6 lines) with `[[stream.region]]` on line 7 and `lines` from line 8.
    fn with_region(lines: &str) -> String {
        format!("{MINIMAL}[[stream.region]]\n{lines}\n")
    }

    #[test]
    fn pixel_and_fraction_regions_parse() {
        let text = format!(
            "{MINIMAL}[[stream.region]]\nname = \"court-1\"\nrect = [0, 0, 320, 480]\n\
             [[stream.region]]\nname = \"court-2\"\nrect = [0.5, 0.0, 0.5, 1.0]\n"
        );
        let c = parse(&text).unwrap();
        let r = &c.streams[0].regions;
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].rect, Rect::Pixels([0, 0, 320, 480]));
        assert_eq!(r[1].rect, Rect::Fraction([0.5, 0.0, 0.5, 1.0]));
        assert_eq!(r[1].full_name("a"), "a/court-2");
        assert!(parse(MINIMAL).unwrap().streams[0].regions.is_empty());
    }

    #[test]
    fn region_errors_name_file_line_and_key() {
        for (lines, key, line, fragment) in [
            (
                "name = \"r\"\nrect = [0.5, 0.0, 0.6, 1.0]",
                "stream[0].region[0].rect",
                9,
                "outside the frame",
            ),
            (
                "name = \"r\"\nrect = [0.0, 0.0, 1.5, 1.0]",
                "stream[0].region[0].rect",
                9,
                "between 0.0 and 1.0",
            ),
            (
                "name = \"r\"\nrect = [0, 0, 0, 10]",
                "stream[0].region[0].rect",
                9,
                "zero size",
            ),
            (
                "name = \"r\"\nrect = [0.0, 0.0, 0.0, 1.0]",
                "stream[0].region[0].rect",
                9,
                "zero size",
            ),
            (
                "name = \"r\"\nrect = [0, 0, 0.5, 1.0]",
                "stream[0].region[0].rect",
                9,
                "mixes integers and floats",
            ),
            (
                "name = \"r\"\nrect = [-1, 0, 5, 5]",
                "stream[0].region[0].rect",
                9,
                "0 or more",
            ),
            (
                "name = \"r\"\nrect = [0, 0, 5]",
                "stream[0].region[0].rect",
                9,
                "expected 4 numbers, got 3",
            ),
            (
                "name = \"r\"\nrect = \"left\"",
                "stream[0].region[0].rect",
                9,
                "expected an array",
            ),
            (
                "name = \"a b\"\nrect = [0, 0, 5, 5]",
                "stream[0].region[0].name",
                8,
                "invalid stream name",
            ),
            (
                "rect = [0, 0, 5, 5]",
                "stream[0].region[0].name",
                7,
                "missing required key `name`",
            ),
            (
                "name = \"r\"",
                "stream[0].region[0].rect",
                7,
                "missing required key `rect`",
            ),
            (
                "name = \"r\"\nrect = [0, 0, 5, 5]\nwidth = 3",
                "stream[0].region[0].width",
                10,
                "unknown key `width`; expected one of: name, rect",
            ),
        ] {
            assert_invalid(&with_region(lines), key, line, fragment);
        }
    }

    #[test]
    fn pixel_regions_of_test_sources_must_fit_640x480() {
        let text = with_region("name = \"r\"\nrect = [600, 0, 100, 100]");
        let (_, message) = assert_invalid(&text, "stream[0].region[0].rect", 9, "");
        assert_eq!(
            message,
            "outside the frame: region [600, 0, 100, 100] does not fit the 640x480 frame \
             (test: sources are 640x480)"
        );
        assert!(parse(&with_region("name = \"r\"\nrect = [540, 0, 100, 100]")).is_ok());
    }

    #[test]
    fn duplicate_region_names_point_at_the_second() {
        let text = format!(
            "{MINIMAL}[[stream.region]]\nname = \"r\"\nrect = [0, 0, 5, 5]\n\
             [[stream.region]]\nname = \"r\"\nrect = [5, 0, 5, 5]\n"
        );
        let (_, message) = assert_invalid(&text, "stream[0].region[1].name", 11, "");
        assert_eq!(
            message,
            "duplicate region name `r`; stream[0].region[0] already uses it"
        );
    }

    #[test]
    fn crops_follow_the_frame() {
        let half = Rect::Fraction([0.5, 0.0, 0.5, 1.0]);
        let c = half.crop(1280, 720).unwrap();
        assert_eq!((c.left, c.top, c.right, c.bottom), (640, 0, 0, 0));
        let c = half.crop(640, 480).unwrap();
        assert_eq!((c.left, c.right), (320, 0));
        let px = Rect::Pixels([100, 50, 200, 100]);
        let c = px.crop(640, 480).unwrap();
        assert_eq!((c.left, c.top, c.right, c.bottom), (100, 50, 340, 330));
        let err = px.crop(256, 144).unwrap_err();
        assert!(err.contains("does not fit the 256x144 frame"), "{err}");
        // A sliver rounds to at least one pixel, never past the frame.
        let c = Rect::Fraction([0.999, 0.0, 0.001, 1.0])
            .crop(100, 10)
            .unwrap();
        assert_eq!((c.left, c.right), (99, 0));
    }

    #[test]
    fn the_reference_config_documents_regions() {
        let text = include_str!("../../config/actiond.toml");
        let on = text
            .replace("# [[stream.region]]\n", "[[stream.region]]\n")
            .replace("# name = \"left\"\n", "name = \"left\"\n")
            .replace("# rect = [0.0", "rect = [0.0");
        let c = parse(&on).unwrap_or_else(|e| panic!("{e}"));
        let keys = super::super::de::keys::<RegionConfig>();
        assert_eq!(keys, ["name", "rect", "model"]);
        assert_eq!(
            c.streams[0].regions[0].rect,
            Rect::Fraction([0.0, 0.0, 0.5, 1.0])
        );
    }
}
