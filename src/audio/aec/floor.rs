//! The playback backlog's floor, window by window: it tells playback that was padded over
//! while the speaker played on (see the [module docs](super)).

use std::collections::VecDeque;

use super::BLOCK;

/// Blocks in one window of the backlog's floor (100 ms: the speaker's 20 ms bursts and the
/// microphone's 25 ms ones meet in every phase within it).
const FLOOR_WINDOW: u64 = 25;

/// Undisturbed windows whose floors make the reference a rise is measured from.
const FLOOR_HISTORY: usize = 5;

/// Windows in a row whose floor must have risen by the padding before it is dropped.
const RISE_WINDOWS: u32 = 2;

/// The backlog's floor, window by window: how much playback signal is left waiting at the
/// lowest point of each [`FLOOR_WINDOW`]. While both streams flow with the same bursts it
/// stays put to the sample. Playback that came late while the speaker played on is padded over
/// when the backlog runs dry, and when the late signal then arrives the floor comes back higher
/// by exactly the padding: the render stream has fallen behind the echo by that much. A floor
/// that rises by the padding (within half a block) for [`RISE_WINDOWS`] is put back by
/// dropping the padding's worth. Any other rise is left alone: a change in how the devices'
/// bursts interleave moves the floor by up to a burst with nothing misaligned, and acting on it
/// would misalign the streams (AEC3 re-finds the echo by itself then).
#[derive(Debug)]
pub(super) struct BacklogFloor {
    /// The lowest backlog seen in this window, in samples.
    low: usize,
    /// Blocks seen in this window.
    blocks: u64,
    /// Whether the backlog was cut in this window (its floor says nothing then).
    cut: bool,
    /// Silence padded in since the last undisturbed window, in samples.
    padded: usize,
    /// The floors of the last undisturbed windows, oldest first, while no padding is pending.
    history: VecDeque<usize>,
    /// Windows in a row risen by the padding since it was padded.
    matched: u32,
    /// Undisturbed windows seen since the padding.
    since_padding: u32,
}

impl BacklogFloor {
    pub(super) fn new() -> Self {
        Self {
            low: usize::MAX,
            blocks: 0,
            cut: false,
            padded: 0,
            history: VecDeque::with_capacity(FLOOR_HISTORY + 1),
            matched: 0,
            since_padding: 0,
        }
    }

    /// `samples` of silence were padded into the render stream.
    pub(super) fn padded(&mut self, samples: usize) {
        self.padded += samples;
        self.matched = 0;
        self.since_padding = 0;
    }

    /// The backlog was cut (a trim, an underrun's padding taken back): what was padded is
    /// accounted for, and this window's floor says nothing.
    pub(super) fn cut(&mut self) {
        self.cut = true;
        self.padded = 0;
        self.matched = 0;
    }

    /// Whether the last window rose by the padding (the next one confirms it).
    pub(super) fn rising(&self) -> bool {
        self.matched > 0
    }

    /// The backlog after one render block; at the end of a window that confirms a padding
    /// the late playback came after, the samples to drop to put the render stream back.
    pub(super) fn observe(&mut self, backlog: usize) -> Option<usize> {
        self.low = self.low.min(backlog);
        self.blocks += 1;
        if self.blocks < FLOOR_WINDOW {
            return None;
        }
        let floor = std::mem::replace(&mut self.low, usize::MAX);
        self.blocks = 0;
        if std::mem::take(&mut self.cut) || floor == 0 {
            // Cut, or ran dry (and padded) in this window.
            return None;
        }
        if self.padded == 0 {
            self.history.push_back(floor);
            if self.history.len() > FLOOR_HISTORY {
                self.history.pop_front();
            }
            return None;
        }
        // The highest recent floor: jitter lowers a window's floor, never raises it.
        let reference = (self.history.len() == FLOOR_HISTORY)
            .then(|| self.history.iter().max().copied())
            .flatten();
        self.since_padding += 1;
        let matches =
            reference.is_some_and(|reference| floor.abs_diff(reference + self.padded) <= BLOCK / 2);
        if matches {
            self.matched += 1;
            if self.matched >= RISE_WINDOWS {
                let behind = std::mem::take(&mut self.padded);
                self.matched = 0;
                return Some(behind);
            }
        } else {
            self.matched = 0;
            if self.since_padding >= RISE_WINDOWS {
                // Not the late-playback signature: the padding stands (a real gap).
                self.padded = 0;
                self.history.clear();
            }
        }
        None
    }
}
