//! Reading just enough of an encoded H.264 / H.265 access unit to tell whether any
//! later picture can refer to it (a non-reference picture can be left undecoded
//! without changing any other decoded picture).

/// The codec of an encoded video stream, as far as skipping is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// H.264 / AVC.
    H264,
    /// H.265 / HEVC.
    H265,
}

/// How NAL units are delimited inside a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Annex B start codes (`00 00 01`).
    ByteStream,
    /// Each NAL unit preceded by its length in this many big-endian bytes (1, 2 or 4).
    Length(usize),
}

/// The parameters of one encoded stream needed to judge its access units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// The codec.
    pub codec: Codec,
    /// How NAL units are delimited.
    pub framing: Framing,
    /// H.265: the highest `sps_max_sub_layers_minus1` seen in any SPS (None: none seen yet).
    pub max_sub_layer: Option<u8>,
}

impl Format {
    /// The format for `codec`, its caps' `stream-format` and `codec_data` (avcC / hvcC).
    pub fn from_caps(codec: Codec, stream_format: &str, codec_data: Option<&[u8]>) -> Option<Self> {
        let framing = match (codec, stream_format) {
            (_, "byte-stream") => Framing::ByteStream,
            (Codec::H264, "avc" | "avc3") => Framing::Length(avcc_length_size(codec_data?)?),
            (Codec::H265, "hvc1" | "hev1") => Framing::Length(hvcc_length_size(codec_data?)?),
            _ => return None,
        };
        let mut format = Format {
            codec,
            framing,
            max_sub_layer: None,
        };
        if let (Codec::H265, Some(data)) = (codec, codec_data) {
            for nal in hvcc_nal_units(data) {
                format.note_parameter_set(nal);
            }
        }
        Some(format)
    }

    /// Takes the sub-layer count from an H.265 SPS NAL unit (ignores anything else).
    fn note_parameter_set(&mut self, nal: &[u8]) {
        if self.codec == Codec::H265 && nal.len() >= 3 && (nal[0] >> 1) & 0x3f == 33 {
            let layers = (nal[2] >> 1) & 0x07;
            self.max_sub_layer = Some(self.max_sub_layer.map_or(layers, |m| m.max(layers)));
        }
    }

    /// True when the access unit in `au` holds a picture no other picture refers to:
    /// every slice NAL unit is a non-reference one (H.264: `nal_ref_idc` 0; H.265: a
    /// sub-layer non-reference type in the highest sub-layer). False when unsure.
    /// Parameter sets in the buffer are noted first (H.265 sub-layer counts).
    pub fn is_non_reference(&mut self, au: &[u8]) -> bool {
        let mut slices = 0usize;
        let mut referenced = false;
        let framing = self.framing;
        // Parameter sets come before the slices, so the walk may stop at the first
        // reference slice: most frames are decided by their first slice.
        let complete = for_each_nal(au, framing, |nal| {
            self.note_parameter_set(nal);
            match self.slice_is_reference(nal) {
                Some(true) => referenced = true,
                Some(false) => slices += 1,
                None => {}
            }
            !referenced
        });
        complete && slices > 0 && !referenced
    }

    /// For a slice NAL unit: whether other pictures may refer to it; None for other units.
    fn slice_is_reference(&self, nal: &[u8]) -> Option<bool> {
        match self.codec {
            Codec::H264 => {
                let head = *nal.first()?;
                let kind = head & 0x1f;
                (1..=5).contains(&kind).then_some(head & 0x60 != 0)
            }
            Codec::H265 => {
                if nal.len() < 2 {
                    return None;
                }
                let kind = (nal[0] >> 1) & 0x3f;
                if kind > 31 {
                    return None; // not a VCL unit
                }
                let temporal_id = (nal[1] & 0x07).checked_sub(1)?;
                // TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N and the reserved _N types: even below 16.
                let sub_layer_non_ref = kind < 16 && kind.is_multiple_of(2);
                let top = self.max_sub_layer.is_some_and(|m| temporal_id >= m);
                Some(!(sub_layer_non_ref && top))
            }
        }
    }
}

/// Calls `f` with each NAL unit of `buf` until it returns false; false when the
/// buffer does not parse (as far as it was read).
fn for_each_nal(buf: &[u8], framing: Framing, mut f: impl FnMut(&[u8]) -> bool) -> bool {
    match framing {
        Framing::Length(size) => {
            let mut rest = buf;
            while !rest.is_empty() {
                if rest.len() < size {
                    return false;
                }
                let len = rest[..size]
                    .iter()
                    .fold(0usize, |n, &b| (n << 8) | usize::from(b));
                let Some(nal) = rest.get(size..size + len) else {
                    return false;
                };
                if !nal.is_empty() && !f(nal) {
                    return true;
                }
                rest = &rest[size + len..];
            }
            true
        }
        Framing::ByteStream => {
            let mut next = start_code_after(buf, 0);
            let parsed = next.is_some();
            while let Some(begin) = next {
                next = start_code_after(buf, begin);
                let end = next.map_or(buf.len(), |n| n - 3);
                // A four-byte start code leaves a zero at the end of the previous unit.
                let nal = trim_trailing_zeros(&buf[begin..end.max(begin)]);
                if !nal.is_empty() && !f(nal) {
                    break;
                }
            }
            parsed
        }
    }
}

/// The offset just after the first `00 00 01` at or after `from` in `buf` (no
/// allocation: called per frame, and stopped early by most).
fn start_code_after(buf: &[u8], mut from: usize) -> Option<usize> {
    while from + 3 <= buf.len() {
        let one = from + 2 + buf[from + 2..].iter().position(|&b| b == 1)?;
        if buf[one - 2] == 0 && buf[one - 1] == 0 {
            return Some(one + 1);
        }
        from = one - 1;
    }
    None
}

fn trim_trailing_zeros(nal: &[u8]) -> &[u8] {
    let end = nal.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    &nal[..end]
}

/// The NAL length size of an `avcC` record.
fn avcc_length_size(data: &[u8]) -> Option<usize> {
    Some(usize::from(*data.get(4)? & 0x03) + 1)
}

/// The NAL length size of an `hvcC` record.
fn hvcc_length_size(data: &[u8]) -> Option<usize> {
    Some(usize::from(*data.get(21)? & 0x03) + 1)
}

/// The parameter-set NAL units stored in an `hvcC` record.
fn hvcc_nal_units(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let Some(&arrays) = data.get(22) else {
        return out;
    };
    let mut at = 23;
    for _ in 0..arrays {
        let Some(n) = data.get(at + 1..at + 3) else {
            return out;
        };
        let count = usize::from(u16::from_be_bytes([n[0], n[1]]));
        at += 3;
        for _ in 0..count {
            let Some(l) = data.get(at..at + 2) else {
                return out;
            };
            let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
            let Some(nal) = data.get(at + 2..at + 2 + len) else {
                return out;
            };
            out.push(nal);
            at += 2 + len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h264(framing: Framing) -> Format {
        Format {
            codec: Codec::H264,
            framing,
            max_sub_layer: None,
        }
    }

    fn length_prefixed(nals: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for n in nals {
            out.extend((n.len() as u32).to_be_bytes());
            out.extend(*n);
        }
        out
    }

    #[test]
    fn h264_b_slices_without_nal_ref_idc_are_non_reference() {
        let mut f = h264(Framing::Length(4));
        // SEI (6), then a non-reference slice (ref_idc 0, type 1).
        assert!(f.is_non_reference(&length_prefixed(&[&[0x06, 5, 1], &[0x01, 0x9a]])));
        // A reference slice (ref_idc 2, type 1): a P-frame or a pyramid B-frame.
        assert!(!f.is_non_reference(&length_prefixed(&[&[0x41, 0x9a]])));
        // IDR (type 5, ref_idc 3).
        assert!(!f.is_non_reference(&length_prefixed(&[&[0x65, 0x88]])));
        // Two slices, one referenced: the picture is a reference.
        assert!(!f.is_non_reference(&length_prefixed(&[&[0x01, 0x9a], &[0x21, 0x9a]])));
        // No slice at all, or a truncated buffer: unsure, so kept.
        assert!(!f.is_non_reference(&length_prefixed(&[&[0x09, 0x10]])));
        let mut cut = length_prefixed(&[&[0x01, 0x9a, 0x00]]);
        cut.pop();
        assert!(!f.is_non_reference(&cut));
    }

    #[test]
    fn start_codes_are_found_past_lone_ones_and_extra_zeros() {
        let buf = [1, 0, 1, 0, 0, 0, 1, 0x41, 0, 1, 0, 0, 1, 0x01];
        assert_eq!(start_code_after(&buf, 0), Some(7));
        assert_eq!(start_code_after(&buf, 7), Some(13));
        assert_eq!(start_code_after(&buf, 13), None);
        assert_eq!(start_code_after(&[0, 0], 0), None);
    }

    #[test]
    fn h264_byte_stream_with_three_and_four_byte_start_codes() {
        let mut f = h264(Framing::ByteStream);
        let au = [0, 0, 0, 1, 0x09, 0x10, 0, 0, 1, 0x01, 0x9a, 0x80];
        assert!(f.is_non_reference(&au));
        let au = [0, 0, 0, 1, 0x09, 0x10, 0, 0, 0, 1, 0x61, 0x9a];
        assert!(!f.is_non_reference(&au));
        assert!(!f.is_non_reference(&[1, 2, 3]), "no start code: unsure");
    }

    #[test]
    fn avcc_and_hvcc_give_the_length_size() {
        let avcc = [1, 0x64, 0, 0x1f, 0xff, 0xe1];
        let f = Format::from_caps(Codec::H264, "avc", Some(&avcc)).unwrap();
        assert_eq!(f.framing, Framing::Length(4));
        assert!(Format::from_caps(Codec::H264, "avc", None).is_none());
        assert!(Format::from_caps(Codec::H264, "weird", None).is_none());
        let bs = Format::from_caps(Codec::H265, "byte-stream", None).unwrap();
        assert_eq!((bs.framing, bs.max_sub_layer), (Framing::ByteStream, None));
        // hvcC: 22 header bytes (length size in byte 21), one array holding an SPS
        // whose max_sub_layers_minus1 is 2.
        let mut hvcc = vec![0u8; 22];
        hvcc[21] = 0x03;
        hvcc.extend([1, 0x21, 0, 1, 0, 3, 0x42, 0x01, 0b0000_0101]);
        let f = Format::from_caps(Codec::H265, "hvc1", Some(&hvcc)).unwrap();
        assert_eq!((f.framing, f.max_sub_layer), (Framing::Length(4), Some(2)));
    }

    #[test]
    fn h265_non_reference_only_in_the_highest_sub_layer() {
        let mut f = Format {
            codec: Codec::H265,
            framing: Framing::Length(4),
            max_sub_layer: None,
        };
        let trail_n = [0x00, 0x01, 0xaf]; // TRAIL_N, temporal id 0
        let trail_r = [0x02, 0x01, 0xaf]; // TRAIL_R
        let rasl_n = [0x10, 0x01, 0xaf]; // RASL_N (8)
                                         // No SPS seen: the sub-layer count is unknown, so unsure.
        assert!(!f.is_non_reference(&length_prefixed(&[&trail_n])));
        // An in-band SPS with one sub-layer (max_sub_layers_minus1 = 0).
        let sps = [0x42, 0x01, 0x01];
        assert!(f.is_non_reference(&length_prefixed(&[&sps, &trail_n])));
        assert!(f.is_non_reference(&length_prefixed(&[&rasl_n])));
        assert!(!f.is_non_reference(&length_prefixed(&[&trail_r])));
        assert!(
            !f.is_non_reference(&length_prefixed(&[&[0x26, 0x01, 0xaf]])),
            "IDR"
        );
        // Three sub-layers: a TRAIL_N of layer 0 may be referred to by layer 1.
        f.note_parameter_set(&[0x42, 0x01, 0b0000_0101]);
        assert!(!f.is_non_reference(&length_prefixed(&[&trail_n])));
        assert!(f.is_non_reference(&length_prefixed(&[&[0x00, 0x03, 0xaf]])));
    }
}
