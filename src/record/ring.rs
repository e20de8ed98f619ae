//! A bounded ring of encoded packets: always starts at a key frame and holds at
//! least `keep` of stream time before the newest packet (one key-frame interval
//! more at most), never more than `max_bytes`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What the ring needs to know of a packet.
pub trait Packet {
    /// Size in bytes.
    fn bytes(&self) -> usize;
    /// Whether decoding can start at this packet.
    fn is_key(&self) -> bool;
}

/// The ring of packets, each with its arrival time.
pub struct Ring<P> {
    packets: VecDeque<(Instant, P)>,
    keep: Duration,
    max_bytes: usize,
    bytes: usize,
}

impl<P: Packet + Clone> Ring<P> {
    /// A ring keeping `keep` before the newest packet, in at most `max_bytes`.
    pub fn new(keep: Duration, max_bytes: usize) -> Self {
        Ring {
            packets: VecDeque::new(),
            keep,
            max_bytes,
            bytes: 0,
        }
    }

    #[cfg(test)]
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    #[cfg(test)]
    /// Packets held.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    #[cfg(test)]
    /// Whether no packet is held.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Adds `packet`, arrived `at`, and drops what is no longer needed.
    pub fn push(&mut self, at: Instant, packet: P) {
        if self.packets.is_empty() && !packet.is_key() {
            return; // a ring starts at a key frame
        }
        self.bytes += packet.bytes();
        self.packets.push_back((at, packet));
        let horizon = at.checked_sub(self.keep).unwrap_or(at);
        // Drop the oldest group while the next key frame is old enough to start from.
        while let Some(next) = self.next_key() {
            let old_enough = self.packets[next].0 <= horizon;
            if !(old_enough || self.bytes > self.max_bytes) {
                break;
            }
            self.drop_front(next);
        }
        if self.bytes > self.max_bytes {
            // One group is larger than the limit: keep nothing rather than a broken start.
            self.drop_front(self.packets.len());
        }
    }

    /// Index of the second key frame (the start of the second group), if any.
    fn next_key(&self) -> Option<usize> {
        self.packets
            .iter()
            .skip(1)
            .position(|(_, p)| p.is_key())
            .map(|i| i + 1)
    }

    fn drop_front(&mut self, n: usize) {
        for (_, p) in self.packets.drain(..n) {
            self.bytes -= p.bytes();
        }
    }

    /// The packets from the last key frame at or before `from` (else the first)
    /// to the newest, in order.
    pub fn since(&self, from: Instant) -> Vec<P> {
        let start = self
            .packets
            .iter()
            .enumerate()
            .filter(|(_, (t, p))| p.is_key() && *t <= from)
            .map(|(i, _)| i)
            .last()
            .unwrap_or(0);
        self.packets
            .iter()
            .skip(start)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// Forgets every packet (the stream restarted; what follows may not continue it).
    pub fn clear(&mut self) {
        self.packets.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct P(usize, bool, u32);

    impl Packet for P {
        fn bytes(&self) -> usize {
            self.0
        }
        fn is_key(&self) -> bool {
            self.1
        }
    }

    /// 10 packets a second, a key frame every `gop`.
    fn fill(ring: &mut Ring<P>, t0: Instant, n: u32, gop: u32) {
        for i in 0..n {
            ring.push(
                t0 + Duration::from_millis(100 * i as u64),
                P(10, i % gop == 0, i),
            );
        }
    }

    #[test]
    fn starts_at_a_key_frame_and_keeps_the_pre_time() {
        let t0 = Instant::now();
        let mut ring = Ring::new(Duration::from_secs(2), 1 << 20);
        ring.push(t0, P(10, false, 99)); // before any key frame: dropped
        assert!(ring.is_empty());
        fill(&mut ring, t0, 100, 10); // 10 s, a key frame every second
        let all = ring.since(t0);
        assert!(all[0].1, "starts at a key frame");
        // Newest at 9.9 s: keeps from the key frame at or before 7.9 s (7.0 s).
        assert_eq!(all[0].2, 70);
        assert_eq!(ring.len(), 30);
        assert_eq!(ring.bytes(), 300);
        let from = ring.since(t0 + Duration::from_millis(8500));
        assert_eq!(from[0].2, 80);
        assert_eq!(from.last().unwrap().2, 99);
    }

    #[test]
    fn bytes_are_bounded() {
        let t0 = Instant::now();
        let mut ring = Ring::new(Duration::from_secs(60), 250);
        fill(&mut ring, t0, 100, 10);
        assert!(ring.bytes() <= 250, "{}", ring.bytes());
        assert!(ring.since(t0)[0].1);
        // A group larger than the limit: nothing kept rather than a broken start.
        let mut ring = Ring::new(Duration::from_secs(60), 50);
        fill(&mut ring, t0, 9, 100);
        assert!(ring.is_empty());
    }
}
