//! Frame bytes → normalized model input.
//!
//! GStreamer delivers each sampled frame already converted and scaled to the
//! model's width × height as packed 8-bit, 3-channel pixels in the model's
//! channel order (RGB or BGR is chosen in the caps, not here). Rows may be
//! padded: `src_stride` bytes per row, at least `3 · width`.
//!
//! [`Normalizer::fill`] writes `x = (pixel / scale − mean[c]) / std[c]` for
//! channel `c` (the `c`-th byte of each pixel, as delivered) into a
//! caller-provided `f32` slice of length `3 · width · height`, in either
//! [`Layout`]. It reads each source byte once, looks its value up in a
//! per-channel table computed at construction, and allocates nothing.

/// Memory layout of one image in the model's input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Planar: all of channel 0, then all of channel 1, then channel 2 (`[C, H, W]`).
    Nchw,
    /// Interleaved: the three channels of each pixel side by side (`[H, W, C]`).
    Nhwc,
    /// Clip, frame-major: `[N, T, C, H, W]` (each frame planar).
    Ntchw,
    /// Clip, channel-major: `[N, C, T, H, W]`.
    Ncthw,
    /// Clip, frames stacked on the channel axis: `[N, T·C, H, W]`.
    NtchwStacked,
}

impl Layout {
    /// The manifest's name of the layout.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Nchw => "NCHW",
            Layout::Nhwc => "NHWC",
            Layout::Ntchw => "NTCHW",
            Layout::Ncthw => "NCTHW",
            Layout::NtchwStacked => "NTCHW_STACKED",
        }
    }

    /// Whether the layout takes a clip of T frames.
    pub fn is_clip(self) -> bool {
        !matches!(self, Layout::Nchw | Layout::Nhwc)
    }

    /// Layout of one preprocessed frame: planar for every clip layout.
    pub fn frame_layout(self) -> Layout {
        match self {
            Layout::Nhwc => Layout::Nhwc,
            _ => Layout::Nchw,
        }
    }
}

/// Why a [`Normalizer`] could not be built or a frame could not be converted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PreprocessError {
    /// `scale` must be finite and greater than zero.
    #[error("preprocessing scale must be finite and > 0, got {0}")]
    InvalidScale(f32),
    /// A `mean` entry is NaN or infinite.
    #[error("preprocessing mean[{channel}] must be finite, got {value}")]
    InvalidMean {
        /// Channel index (0, 1 or 2).
        channel: usize,
        /// The rejected value.
        value: f32,
    },
    /// A `std` entry is zero, NaN or infinite.
    #[error("preprocessing std[{channel}] must be finite and non-zero, got {value}")]
    InvalidStd {
        /// Channel index (0, 1 or 2).
        channel: usize,
        /// The rejected value.
        value: f32,
    },
    /// Width or height is zero.
    #[error("frame size {width}x{height} is empty")]
    EmptyImage {
        /// Requested width in pixels.
        width: usize,
        /// Requested height in pixels.
        height: usize,
    },
    /// The frame is too large for `usize` arithmetic.
    #[error("frame size {width}x{height} with a row stride of {stride} bytes overflows")]
    SizeOverflow {
        /// Requested width in pixels.
        width: usize,
        /// Requested height in pixels.
        height: usize,
        /// Bytes per source row.
        stride: usize,
    },
    /// The source row stride is shorter than one row of pixels.
    #[error(
        "source row stride {stride} bytes is shorter than a row of {width} pixels ({row} bytes)"
    )]
    StrideTooSmall {
        /// Bytes per source row, as given.
        stride: usize,
        /// Width in pixels.
        width: usize,
        /// Bytes one row of pixels needs (`3 · width`).
        row: usize,
    },
    /// The source buffer ends before the last pixel.
    #[error(
        "source buffer has {len} bytes, a {width}x{height} frame with a row stride of {stride} bytes needs {needed}"
    )]
    SourceTooShort {
        /// Bytes in the source buffer.
        len: usize,
        /// Bytes needed: `stride · (height − 1) + 3 · width`.
        needed: usize,
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
        /// Bytes per source row.
        stride: usize,
    },
    /// The destination slice does not hold exactly `3 · width · height` values.
    #[error(
        "destination has {len} values, a {width}x{height} frame needs exactly {expected} (3 x {width} x {height})"
    )]
    DestinationSize {
        /// Values in the destination slice.
        len: usize,
        /// Values needed: `3 · width · height`.
        expected: usize,
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
}

/// Per-channel normalization `x = (pixel / scale − mean[c]) / std[c]` as lookup tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalizer {
    /// `lut[c][v]` is the normalized value of byte `v` in channel `c`, computed in f64.
    lut: [[f32; 256]; 3],
}

impl Normalizer {
    /// Builds the tables; `scale` must be finite and > 0, `mean` finite, `std` finite and non-zero.
    pub fn new(scale: f32, mean: [f32; 3], std: [f32; 3]) -> Result<Self, PreprocessError> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(PreprocessError::InvalidScale(scale));
        }
        for (channel, &value) in mean.iter().enumerate() {
            if !value.is_finite() {
                return Err(PreprocessError::InvalidMean { channel, value });
            }
        }
        for (channel, &value) in std.iter().enumerate() {
            if !value.is_finite() || value == 0.0 {
                return Err(PreprocessError::InvalidStd { channel, value });
            }
        }
        let mut lut = [[0.0f32; 256]; 3];
        for (c, table) in lut.iter_mut().enumerate() {
            let (m, s) = (f64::from(mean[c]), f64::from(std[c]));
            for (v, out) in table.iter_mut().enumerate() {
                *out = ((v as f64 / f64::from(scale) - m) / s) as f32;
            }
        }
        Ok(Self { lut })
    }

    /// The normalized value of byte `value` in channel `channel` (0, 1 or 2; panics otherwise).
    pub fn value(&self, channel: usize, value: u8) -> f32 {
        self.lut[channel][usize::from(value)]
    }

    /// Normalizes one packed 3-channel frame (`src_stride` bytes per row) into `dst` in `layout`.
    ///
    /// `src` needs at least `src_stride · (height − 1) + 3 · width` bytes (the last
    /// row need not be padded); `dst` must hold exactly `3 · width · height` values.
    /// On error `dst` is left untouched.
    pub fn fill(
        &self,
        layout: Layout,
        width: usize,
        height: usize,
        src: &[u8],
        src_stride: usize,
        dst: &mut [f32],
    ) -> Result<(), PreprocessError> {
        let row = check_sizes(width, height, src.len(), src_stride, dst.len())?;
        let [l0, l1, l2] = &self.lut;
        match layout.frame_layout() {
            Layout::Nhwc => {
                for (src_row, dst_row) in src
                    .chunks(src_stride)
                    .zip(dst.chunks_exact_mut(row))
                    .take(height)
                {
                    for (d, s) in dst_row
                        .chunks_exact_mut(3)
                        .zip(src_row[..row].chunks_exact(3))
                    {
                        d[0] = l0[usize::from(s[0])];
                        d[1] = l1[usize::from(s[1])];
                        d[2] = l2[usize::from(s[2])];
                    }
                }
            }
            _ => {
                let plane = width * height;
                let (p0, rest) = dst.split_at_mut(plane);
                let (p1, p2) = rest.split_at_mut(plane);
                let rows = src
                    .chunks(src_stride)
                    .zip(p0.chunks_exact_mut(width))
                    .zip(p1.chunks_exact_mut(width))
                    .zip(p2.chunks_exact_mut(width))
                    .take(height);
                for (((src_row, r0), r1), r2) in rows {
                    let pixels = src_row[..row].chunks_exact(3);
                    for (((s, d0), d1), d2) in pixels
                        .zip(r0.iter_mut())
                        .zip(r1.iter_mut())
                        .zip(r2.iter_mut())
                    {
                        *d0 = l0[usize::from(s[0])];
                        *d1 = l1[usize::from(s[1])];
                        *d2 = l2[usize::from(s[2])];
                    }
                }
            }
        }
        Ok(())
    }
}

/// Validates the sizes given to [`Normalizer::fill`]; returns the bytes in one row of pixels.
fn check_sizes(
    width: usize,
    height: usize,
    src_len: usize,
    stride: usize,
    dst_len: usize,
) -> Result<usize, PreprocessError> {
    if width == 0 || height == 0 {
        return Err(PreprocessError::EmptyImage { width, height });
    }
    let overflow = PreprocessError::SizeOverflow {
        width,
        height,
        stride,
    };
    let row = width.checked_mul(3).ok_or(overflow.clone())?;
    if stride < row {
        return Err(PreprocessError::StrideTooSmall { stride, width, row });
    }
    let needed = stride
        .checked_mul(height - 1)
        .and_then(|n| n.checked_add(row))
        .ok_or(overflow.clone())?;
    if src_len < needed {
        return Err(PreprocessError::SourceTooShort {
            len: src_len,
            needed,
            width,
            height,
            stride,
        });
    }
    let expected = row.checked_mul(height).ok_or(overflow)?;
    if dst_len != expected {
        return Err(PreprocessError::DestinationSize {
            len: dst_len,
            expected,
            width,
            height,
        });
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
    const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
    const TOL: f64 = 1e-6;

    /// The formula, evaluated independently in f64 from the same (f32) parameters.
    fn reference(scale: f32, mean: [f32; 3], std: [f32; 3], c: usize, pixel: u8) -> f64 {
        (f64::from(pixel) / f64::from(scale) - f64::from(mean[c])) / f64::from(std[c])
    }

    fn assert_close(got: &[f32], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "length: got {got:?}, want {want:?}");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (f64::from(g) - w).abs() <= TOL,
                "index {i}: got {g}, want {w} (all: got {got:?}, want {want:?})"
            );
        }
    }

    fn imagenet() -> Normalizer {
        Normalizer::new(255.0, IMAGENET_MEAN, IMAGENET_STD).unwrap()
    }

    /// Reference output for a packed frame, computed pixel by pixel in f64.
    fn reference_frame(
        scale: f32,
        mean: [f32; 3],
        std: [f32; 3],
        layout: Layout,
        (width, height): (usize, usize),
        src: &[u8],
        stride: usize,
    ) -> Vec<f64> {
        let mut out = vec![f64::NAN; 3 * width * height];
        for y in 0..height {
            for x in 0..width {
                for c in 0..3 {
                    let v = reference(scale, mean, std, c, src[y * stride + 3 * x + c]);
                    let i = match layout {
                        _ if layout != Layout::Nhwc => c * width * height + y * width + x,
                        _ => (y * width + x) * 3 + c,
                    };
                    out[i] = v;
                }
            }
        }
        out
    }

    #[test]
    fn imagenet_table_matches_hand_computed_values() {
        let n = imagenet();
        // (0/255 - 0.485) / 0.229, (255/255 - 0.485) / 0.229, (128/255 - 0.456) / 0.224, ...
        let cases: [(usize, u8, f64); 6] = [
            (0, 0, -2.117_903_930_131_004),
            (0, 255, 2.248_908_296_943_231_6),
            (1, 128, 0.205_182_072_829_131_5),
            (1, 0, -2.035_714_285_714_285_6),
            (2, 255, 2.64),
            (2, 51, -0.915_555_555_555_555_6),
        ];
        for (c, v, want) in cases {
            let got = f64::from(n.value(c, v));
            assert!(
                (got - want).abs() <= TOL,
                "channel {c}, byte {v}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn nchw_2x2_imagenet() {
        // Pixels (channel bytes as delivered):
        //   (0,0)=[0,128,255] (1,0)=[255,0,51]
        //   (0,1)=[10,20,30]  (1,1)=[200,100,50]
        let src = [0, 128, 255, 255, 0, 51, 10, 20, 30, 200, 100, 50];
        let mut dst = [f32::NAN; 12];
        imagenet()
            .fill(Layout::Nchw, 2, 2, &src, 6, &mut dst)
            .unwrap();
        let r = |c, p| reference(255.0, IMAGENET_MEAN, IMAGENET_STD, c, p);
        let want = [
            // channel 0 plane, row-major
            r(0, 0),
            r(0, 255),
            r(0, 10),
            r(0, 200),
            // channel 1 plane
            r(1, 128),
            r(1, 0),
            r(1, 20),
            r(1, 100),
            // channel 2 plane
            r(2, 255),
            r(2, 51),
            r(2, 30),
            r(2, 50),
        ];
        assert_close(&dst, &want);
        // A few entries by hand as well.
        assert!((f64::from(dst[0]) - -2.117_903_930_131_004).abs() <= TOL);
        assert!((f64::from(dst[4]) - 0.205_182_072_829_131_5).abs() <= TOL);
        assert!((f64::from(dst[8]) - 2.64).abs() <= TOL);
    }

    #[test]
    fn nhwc_2x2_imagenet() {
        let src = [0, 128, 255, 255, 0, 51, 10, 20, 30, 200, 100, 50];
        let mut dst = [f32::NAN; 12];
        imagenet()
            .fill(Layout::Nhwc, 2, 2, &src, 6, &mut dst)
            .unwrap();
        let r = |c, p| reference(255.0, IMAGENET_MEAN, IMAGENET_STD, c, p);
        let want = [
            r(0, 0),
            r(1, 128),
            r(2, 255),
            r(0, 255),
            r(1, 0),
            r(2, 51),
            r(0, 10),
            r(1, 20),
            r(2, 30),
            r(0, 200),
            r(1, 100),
            r(2, 50),
        ];
        assert_close(&dst, &want);
        assert!((f64::from(dst[0]) - -2.117_903_930_131_004).abs() <= TOL);
        assert!((f64::from(dst[1]) - 0.205_182_072_829_131_5).abs() <= TOL);
        assert!((f64::from(dst[2]) - 2.64).abs() <= TOL);
    }

    /// A 3×2 frame with rows padded to 12 bytes (9 used); padding bytes are 0xEE
    /// and must never appear in the output. The last row is unpadded.
    fn padded_3x2() -> Vec<u8> {
        let mut src = vec![
            1, 2, 3, 4, 5, 6, 7, 8, 9, 0xEE, 0xEE, 0xEE, //
            250, 251, 252, 253, 254, 255, 0, 64, 192,
        ];
        assert_eq!(src.len(), 12 + 9);
        src.shrink_to_fit();
        src
    }

    #[test]
    fn identity_nchw_3x2_padded_stride() {
        let n = Normalizer::new(1.0, [0.0; 3], [1.0; 3]).unwrap();
        let src = padded_3x2();
        let mut dst = [f32::NAN; 18];
        n.fill(Layout::Nchw, 3, 2, &src, 12, &mut dst).unwrap();
        let want: [f32; 18] = [
            1.0, 4.0, 7.0, 250.0, 253.0, 0.0, // channel 0
            2.0, 5.0, 8.0, 251.0, 254.0, 64.0, // channel 1
            3.0, 6.0, 9.0, 252.0, 255.0, 192.0, // channel 2
        ];
        assert_eq!(dst, want);
    }

    #[test]
    fn identity_nhwc_3x2_padded_stride() {
        let n = Normalizer::new(1.0, [0.0; 3], [1.0; 3]).unwrap();
        let src = padded_3x2();
        let mut dst = [f32::NAN; 18];
        n.fill(Layout::Nhwc, 3, 2, &src, 12, &mut dst).unwrap();
        let want: [f32; 18] = [
            1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, //
            250.0, 251.0, 252.0, 253.0, 254.0, 255.0, 0.0, 64.0, 192.0,
        ];
        assert_eq!(dst, want);
    }

    #[test]
    fn imagenet_3x2_padded_stride_both_layouts() {
        let src = padded_3x2();
        for layout in [Layout::Nchw, Layout::Nhwc] {
            let mut dst = [f32::NAN; 18];
            imagenet().fill(layout, 3, 2, &src, 12, &mut dst).unwrap();
            let want =
                reference_frame(255.0, IMAGENET_MEAN, IMAGENET_STD, layout, (3, 2), &src, 12);
            assert_close(&dst, &want);
        }
    }

    #[test]
    fn padded_last_row_is_accepted_too() {
        let mut src = padded_3x2();
        src.extend_from_slice(&[0xEE; 3]);
        let mut a = [0.0f32; 18];
        let mut b = [0.0f32; 18];
        imagenet()
            .fill(Layout::Nchw, 3, 2, &src, 12, &mut a)
            .unwrap();
        imagenet()
            .fill(Layout::Nchw, 3, 2, &src[..21], 12, &mut b)
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bgr_buffer_stays_in_delivered_order() {
        // A pure-red pixel delivered as BGR: bytes [B=0, G=0, R=255]. Channel c is the
        // c-th byte, so channel 0 (B) is 0 and channel 2 (R) is 255; nothing is swapped.
        // Mean/std given in the model's (BGR) order.
        let mean = [0.406, 0.456, 0.485];
        let std = [0.225, 0.224, 0.229];
        let n = Normalizer::new(255.0, mean, std).unwrap();
        let src = [0u8, 0, 255];
        let mut dst = [f32::NAN; 3];
        n.fill(Layout::Nchw, 1, 1, &src, 3, &mut dst).unwrap();
        // (0 - 0.406)/0.225, (0 - 0.456)/0.224, (1 - 0.485)/0.229
        assert_close(
            &dst,
            &[
                -1.804_444_444_444_444_4,
                -2.035_714_285_714_285_6,
                2.248_908_296_943_231_6,
            ],
        );
        let mut nhwc = [f32::NAN; 3];
        n.fill(Layout::Nhwc, 1, 1, &src, 3, &mut nhwc).unwrap();
        assert_eq!(dst, nhwc);
    }

    #[test]
    fn fill_does_not_allocate() {
        let n = imagenet();
        let (w, h, stride) = (224, 224, 3 * 224 + 4);
        let src: Vec<u8> = (0..stride * h).map(|i| (i % 251) as u8).collect();
        let mut dst = vec![0.0f32; 3 * w * h];
        for layout in [Layout::Nchw, Layout::Nhwc] {
            let (r, count) = crate::smooth::alloc_counter::allocations(|| {
                n.fill(layout, w, h, &src, stride, &mut dst)
            });
            r.unwrap();
            assert_eq!(count, 0, "{layout:?}");
            let want = reference_frame(
                255.0,
                IMAGENET_MEAN,
                IMAGENET_STD,
                layout,
                (w, h),
                &src,
                stride,
            );
            assert_close(&dst, &want);
        }
    }

    #[test]
    fn negative_std_is_allowed_and_applied() {
        let n = Normalizer::new(1.0, [1.0, 0.0, 0.0], [-2.0, 1.0, 1.0]).unwrap();
        assert_eq!(n.value(0, 5), -2.0);
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert_eq!(
            Normalizer::new(0.0, IMAGENET_MEAN, IMAGENET_STD),
            Err(PreprocessError::InvalidScale(0.0))
        );
        assert_eq!(
            Normalizer::new(-255.0, IMAGENET_MEAN, IMAGENET_STD),
            Err(PreprocessError::InvalidScale(-255.0))
        );
        assert!(matches!(
            Normalizer::new(f32::NAN, IMAGENET_MEAN, IMAGENET_STD),
            Err(PreprocessError::InvalidScale(_))
        ));
        assert_eq!(
            Normalizer::new(f32::INFINITY, IMAGENET_MEAN, IMAGENET_STD),
            Err(PreprocessError::InvalidScale(f32::INFINITY))
        );
        assert_eq!(
            Normalizer::new(255.0, IMAGENET_MEAN, [0.229, 0.0, 0.225]),
            Err(PreprocessError::InvalidStd {
                channel: 1,
                value: 0.0
            })
        );
        assert!(matches!(
            Normalizer::new(255.0, IMAGENET_MEAN, [0.229, 0.224, f32::NAN]),
            Err(PreprocessError::InvalidStd { channel: 2, .. })
        ));
        assert_eq!(
            Normalizer::new(255.0, IMAGENET_MEAN, [f32::NEG_INFINITY, 1.0, 1.0]),
            Err(PreprocessError::InvalidStd {
                channel: 0,
                value: f32::NEG_INFINITY
            })
        );
        assert!(matches!(
            Normalizer::new(255.0, [0.0, f32::NAN, 0.0], IMAGENET_STD),
            Err(PreprocessError::InvalidMean { channel: 1, .. })
        ));
    }

    #[test]
    fn size_errors_name_the_sizes_and_leave_dst_untouched() {
        let n = imagenet();
        let src = padded_3x2();
        let mut dst = [7.0f32; 18];

        let e = n.fill(Layout::Nchw, 3, 2, &src, 8, &mut dst).unwrap_err();
        assert_eq!(
            e,
            PreprocessError::StrideTooSmall {
                stride: 8,
                width: 3,
                row: 9
            }
        );
        assert_eq!(
            e.to_string(),
            "source row stride 8 bytes is shorter than a row of 3 pixels (9 bytes)"
        );

        let e = n
            .fill(Layout::Nhwc, 3, 2, &src[..20], 12, &mut dst)
            .unwrap_err();
        assert_eq!(
            e,
            PreprocessError::SourceTooShort {
                len: 20,
                needed: 21,
                width: 3,
                height: 2,
                stride: 12
            }
        );
        assert_eq!(
            e.to_string(),
            "source buffer has 20 bytes, a 3x2 frame with a row stride of 12 bytes needs 21"
        );

        let e = n
            .fill(Layout::Nchw, 3, 2, &src, 12, &mut dst[..17])
            .unwrap_err();
        assert_eq!(
            e,
            PreprocessError::DestinationSize {
                len: 17,
                expected: 18,
                width: 3,
                height: 2
            }
        );
        assert_eq!(
            e.to_string(),
            "destination has 17 values, a 3x2 frame needs exactly 18 (3 x 3 x 2)"
        );

        let mut big = [7.0f32; 19];
        assert!(matches!(
            n.fill(Layout::Nchw, 3, 2, &src, 12, &mut big),
            Err(PreprocessError::DestinationSize {
                len: 19,
                expected: 18,
                ..
            })
        ));

        assert_eq!(
            n.fill(Layout::Nchw, 0, 2, &src, 12, &mut dst),
            Err(PreprocessError::EmptyImage {
                width: 0,
                height: 2
            })
        );
        assert_eq!(
            n.fill(Layout::Nhwc, 3, 0, &src, 12, &mut dst),
            Err(PreprocessError::EmptyImage {
                width: 3,
                height: 0
            })
        );

        assert!(matches!(
            n.fill(Layout::Nchw, usize::MAX, 1, &src, usize::MAX, &mut dst),
            Err(PreprocessError::SizeOverflow { .. })
        ));
        assert!(matches!(
            n.fill(Layout::Nchw, 1, usize::MAX, &src, 3, &mut dst),
            Err(PreprocessError::SizeOverflow { .. })
        ));

        assert!(dst.iter().all(|&v| v == 7.0), "dst was written on error");
        assert!(big.iter().all(|&v| v == 7.0), "dst was written on error");
    }
}
