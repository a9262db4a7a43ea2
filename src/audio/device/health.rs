//! What a running stream's error callback reported.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::audio::{AudioError, Direction};

/// What the error callback of a running stream reported, for the side that reads or writes it.
#[derive(Debug, Default)]
pub(crate) struct StreamHealth {
    failure: Mutex<Option<String>>,
    xruns: AtomicU64,
}

impl StreamHealth {
    /// Called from cpal's error callback (not the audio callback: locking is fine here).
    pub(crate) fn report(&self, error: cpal::Error) {
        if error.kind() == cpal::ErrorKind::Xrun {
            // The stream recovers by itself; dropped capture is counted by the ring.
            self.xruns.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%error, "audio buffer under- or overrun");
            return;
        }
        self.fail(error.to_string());
    }

    /// Records that the stream failed (the first failure is the one kept).
    pub(crate) fn fail(&self, detail: String) {
        tracing::warn!(%detail, "audio stream failed");
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        failure.get_or_insert(detail);
    }

    /// The stream's failure, if it has failed.
    pub(crate) fn check(&self, direction: Direction) -> Result<(), AudioError> {
        let failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        match failure.as_ref() {
            Some(detail) => Err(AudioError::Stream {
                direction,
                detail: detail.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Buffer under- or overruns reported so far.
    pub(crate) fn xruns(&self) -> u64 {
        self.xruns.load(Ordering::Relaxed)
    }
}
