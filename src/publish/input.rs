//! What subscribers send. The socket protocol is one-way (daemon → subscriber):
//! input is read and thrown away so that a client's writes never block it, but
//! only a little is tolerated — a burst of [`INPUT_BURST`] bytes, then
//! [`INPUT_RATE`] bytes per second (a token bucket). A client that sends more
//! (garbage, a misdirected log shipper, a flood) is disconnected with a
//! `goodbye`, so that it cannot make the daemon spend its time reading.
//!
//! The budget is plain arithmetic on byte counts and times, kept apart from the
//! socket so that it can be tested and fuzzed on its own.

/// Bytes a subscriber may send at once.
pub const INPUT_BURST: u64 = 64 * 1024;
/// Bytes per second a subscriber may send in the long run.
pub const INPUT_RATE: u64 = 1024;

/// Tokens are counted in thousandths of a byte so that a refill of a few
/// milliseconds is never rounded away.
const SCALE: u64 = 1000;

/// The verdict on a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within budget: the bytes are discarded.
    Ok,
    /// Over budget: disconnect. `total` is everything the client sent.
    Flood {
        /// Bytes received from this client in all.
        total: u64,
    },
}

/// A subscriber's input budget (a token bucket).
#[derive(Debug, Clone)]
pub struct InputBudget {
    /// Bytes (×[`SCALE`]) the client may still send now.
    tokens: u64,
    /// Time of the last refill, in ms on the caller's clock.
    last_ms: u64,
    /// Bytes received in all.
    total: u64,
    /// Set once the budget is exceeded; every later read is a flood too.
    exceeded: bool,
}

impl InputBudget {
    /// A full budget at time `now_ms` (any monotonic millisecond clock).
    pub fn new(now_ms: u64) -> Self {
        InputBudget {
            tokens: INPUT_BURST * SCALE,
            last_ms: now_ms,
            total: 0,
            exceeded: false,
        }
    }

    /// Accounts for `len` bytes read at `now_ms`. A clock that goes backwards
    /// refills nothing.
    pub fn feed(&mut self, len: usize, now_ms: u64) -> Verdict {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = self.last_ms.max(now_ms);
        // INPUT_RATE bytes/s = INPUT_RATE·SCALE/1000 tokens per ms.
        let refill = elapsed.saturating_mul(INPUT_RATE * SCALE / 1000);
        self.tokens = self.tokens.saturating_add(refill).min(INPUT_BURST * SCALE);
        let len = len as u64;
        self.total = self.total.saturating_add(len);
        let cost = len.saturating_mul(SCALE);
        if self.exceeded || cost > self.tokens {
            self.exceeded = true;
            self.tokens = 0;
            return Verdict::Flood { total: self.total };
        }
        self.tokens -= cost;
        Verdict::Ok
    }

    /// Bytes received in all.
    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_and_one_byte_more_is_not() {
        let mut b = InputBudget::new(0);
        assert_eq!(b.feed(INPUT_BURST as usize, 0), Verdict::Ok);
        assert_eq!(
            b.feed(1, 0),
            Verdict::Flood {
                total: INPUT_BURST + 1
            }
        );
        // Once exceeded, always exceeded.
        assert!(matches!(b.feed(0, 1_000_000), Verdict::Flood { .. }));
    }

    #[test]
    fn keepalives_at_the_rate_last_forever() {
        let mut b = InputBudget::new(0);
        // A newline every 10 ms for a simulated 3 hours: 100 B/s < 1 KiB/s.
        for i in 0..1_080_000u64 {
            assert_eq!(b.feed(1, i * 10), Verdict::Ok, "at step {i}");
        }
        assert_eq!(b.total(), 1_080_000);
    }

    #[test]
    fn a_steady_flood_is_caught_within_the_burst_plus_the_rate() {
        let mut b = InputBudget::new(0);
        let mut sent = 0u64;
        let mut t = 0u64;
        loop {
            t += 1;
            sent += 4096;
            if let Verdict::Flood { total } = b.feed(4096, t) {
                assert_eq!(total, sent);
                break;
            }
        }
        // 4 MB/s against 1 KiB/s: caught after about the burst.
        assert!(sent <= INPUT_BURST + INPUT_RATE * t / 1000 + 4096, "{sent}");
    }

    #[test]
    fn a_clock_going_backwards_refills_nothing() {
        let mut b = InputBudget::new(1_000_000);
        assert_eq!(b.feed(INPUT_BURST as usize, 1_000_000), Verdict::Ok);
        assert!(matches!(b.feed(1, 0), Verdict::Flood { .. }));
    }
}
