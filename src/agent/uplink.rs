//! The microphone path: frames from the audio source to `input_audio_buffer.append`, on their
//! own task so that the agent loop and the audio callback never wait for each other.

use std::collections::VecDeque;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::event::{AgentEvent, EventBus};
use super::handle::Command;
use crate::audio::AudioSource;
use crate::protocol::AudioFormat;
use crate::transport::{EventSender, SendError};

/// Frames held while there is no connection, bounded by duration.
struct Held {
    frames: VecDeque<Vec<u8>>,
    bytes: usize,
    limit_bytes: usize,
}

impl Held {
    /// Holds `frame`; returns the bytes of the oldest frames dropped to stay within the limit.
    fn push(&mut self, frame: Vec<u8>) -> usize {
        self.bytes += frame.len();
        self.frames.push_back(frame);
        let mut dropped = 0;
        while self.bytes > self.limit_bytes {
            let Some(oldest) = self.frames.pop_front() else {
                break;
            };
            self.bytes -= oldest.len();
            dropped += oldest.len();
        }
        dropped
    }
}

pub(crate) struct Uplink {
    pub(crate) source: Box<dyn AudioSource>,
    pub(crate) sender: watch::Receiver<Option<EventSender>>,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) bus: EventBus,
    pub(crate) cancel: CancellationToken,
    pub(crate) format: AudioFormat,
    pub(crate) hold_ms: u64,
}

impl Uplink {
    pub(crate) async fn run(mut self) {
        let mut held = Held {
            frames: VecDeque::new(),
            bytes: 0,
            limit_bytes: self
                .format
                .bytes_for_ms(self.hold_ms.min(u32::MAX as u64) as u32),
        };
        let mut lost_bytes = 0usize;
        let mut reported_ms = 0u64;
        // One waiter for the whole run, not a fresh registration per frame.
        let cancelled = self.cancel.clone().cancelled_owned();
        tokio::pin!(cancelled);
        // The connection to send on, replaced when the watch says so (not looked up per frame).
        let mut current = self.sender.borrow_and_update().clone();
        loop {
            let frame = tokio::select! {
                _ = &mut cancelled => return,
                // A new connection: send what was held without waiting for the next frame.
                Ok(()) = self.sender.changed() => {
                    current = self.sender.borrow_and_update().clone();
                    if let Some(sender) = &current {
                        flush_held(&mut held, sender).await;
                    }
                    continue;
                }
                frame = self.source.next_frame() => frame,
            };
            let frame = match frame {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    let _ = self.commands.send(Command::SourceEnded).await;
                    return;
                }
                Err(error) => {
                    self.bus
                        .emit(AgentEvent::AudioError(format!("microphone: {error}")));
                    return;
                }
            };
            match &current {
                Some(sender) => {
                    flush_held(&mut held, sender).await;
                    match sender.try_send_audio(&frame) {
                        Ok(()) => {}
                        Err(SendError::Full) => {
                            // The network is not keeping up: wait for it. The source's own
                            // bounded queue absorbs (and counts) what arrives meanwhile.
                            tracing::warn!("audio send queue full; waiting for the network");
                            if sender.send_audio(&frame).await.is_err() {
                                lost_bytes += held.push(frame);
                            }
                        }
                        Err(_) => lost_bytes += held.push(frame),
                    }
                }
                None => lost_bytes += held.push(frame),
            }
            let total_ms = self.format.ms_for_bytes(lost_bytes) + self.source.dropped_ms();
            // Report in steps of at least 100 ms so a long stall is not an event per frame.
            if total_ms >= reported_ms + 100 {
                reported_ms = total_ms;
                self.bus.emit(AgentEvent::InputAudioDropped { total_ms });
            }
        }
    }
}

/// Sends the held frames, oldest first; what cannot be sent stays held.
async fn flush_held(held: &mut Held, sender: &EventSender) {
    while let Some(old) = held.frames.pop_front() {
        if sender.send_audio(&old).await.is_err() {
            held.frames.push_front(old);
            return;
        }
        held.bytes -= old.len();
    }
}

#[cfg(test)]
mod tests {
    use super::Held;

    #[test]
    fn held_audio_is_bounded_dropping_the_oldest() {
        let mut held = Held {
            frames: Default::default(),
            bytes: 0,
            limit_bytes: 10,
        };
        assert_eq!(held.push(vec![1; 4]), 0);
        assert_eq!(held.push(vec![2; 4]), 0);
        assert_eq!(held.push(vec![3; 4]), 4);
        assert_eq!(held.frames.front().unwrap()[0], 2);
        assert_eq!(held.bytes, 8);
    }
}
