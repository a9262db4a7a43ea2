//! When and how often to reconnect after the connection drops.

use std::time::Duration;

/// Reconnection after a dropped connection: exponential backoff with jitter, bounded attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    /// Attempts before giving up; 0 never reconnects.
    pub max_attempts: u32,
    /// The wait before the first attempt.
    pub initial_delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
    /// Random spread of each wait, as a fraction (0.2 = ±20%), so that many clients dropped at
    /// once do not come back at once.
    pub jitter: f64,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            max_attempts: 6,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            jitter: 0.2,
        }
    }
}

impl ReconnectPolicy {
    /// Never reconnect.
    pub fn never() -> Self {
        ReconnectPolicy {
            max_attempts: 0,
            ..ReconnectPolicy::default()
        }
    }

    /// The wait before attempt `attempt` (1-based): `initial × 2^(attempt-1)`, capped, ± jitter,
    /// and never less than `at_least` (a server's `Retry-After`).
    pub fn delay(&self, attempt: u32, at_least: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let base = self
            .initial_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        let spread = (fastrand::f64() * 2.0 - 1.0) * self.jitter.clamp(0.0, 1.0);
        let jittered = base.mul_f64((1.0 + spread).max(0.0));
        jittered.max(at_least.unwrap_or(Duration::ZERO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_honours_retry_after() {
        let policy = ReconnectPolicy {
            jitter: 0.0,
            ..ReconnectPolicy::default()
        };
        assert_eq!(policy.delay(1, None), Duration::from_millis(250));
        assert_eq!(policy.delay(3, None), Duration::from_secs(1));
        assert_eq!(policy.delay(30, None), Duration::from_secs(10));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        let jittered = ReconnectPolicy::default().delay(2, None);
        assert!(jittered >= Duration::from_millis(400) && jittered <= Duration::from_millis(600));
    }
}
