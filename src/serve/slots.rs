//! The session limit: a slot per live call, shared by every channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use super::metrics::{Channel, Metrics};

/// Counts live sessions against `max_sessions`, and refuses new ones while draining.
pub(crate) struct Slots {
    max: usize,
    active: AtomicUsize,
    draining: AtomicBool,
    changed: Notify,
    metrics: Arc<Metrics>,
}

/// One live session; dropping it frees the slot.
pub(crate) struct Slot {
    slots: Arc<Slots>,
    channel: Channel,
}

impl Slots {
    pub(crate) fn new(max: usize, metrics: Arc<Metrics>) -> Arc<Slots> {
        Arc::new(Slots {
            max,
            active: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            changed: Notify::new(),
            metrics,
        })
    }

    /// Whether a new session would be accepted now (for webhooks that answer before the
    /// session starts).
    pub(crate) fn has_room(&self) -> bool {
        !self.is_draining() && self.active.load(Ordering::Acquire) < self.max
    }

    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Takes a slot for a `channel` session, or `None` at the limit or while draining.
    pub(crate) fn try_acquire(self: &Arc<Self>, channel: Channel) -> Option<Slot> {
        if self.is_draining() {
            return None;
        }
        self.active
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()?;
        self.metrics.session_started(channel);
        Some(Slot {
            slots: self.clone(),
            channel,
        })
    }

    pub(crate) fn active(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Refuses new sessions from now on.
    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Waits until no session is live, or `timeout` passes; returns whether none is.
    pub(crate) async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.changed.notified();
            if self.active() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return self.active() == 0;
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.active.fetch_sub(1, Ordering::AcqRel);
        self.slots.metrics.session_ended(self.channel);
        self.slots.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_stop_at_the_limit_and_while_draining() {
        let slots = Slots::new(2, Arc::new(Metrics::default()));
        let a = slots.try_acquire(Channel::Twilio).expect("first");
        let _b = slots.try_acquire(Channel::Sip).expect("second");
        assert!(slots.try_acquire(Channel::Browser).is_none());
        assert!(!slots.has_room());
        drop(a);
        assert!(slots.has_room());
        slots.start_draining();
        assert!(slots.try_acquire(Channel::Twilio).is_none());
        assert!(!slots.wait_idle(Duration::from_millis(20)).await);
    }
}
