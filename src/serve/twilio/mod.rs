//! Phone calls through Twilio Media Streams: the audio passes through this server.
//!
//! `POST /twilio/voice` verifies `X-Twilio-Signature` (403 otherwise) and answers TwiML that
//! connects the call to `/twilio/media` with a one-time token (or a polite `<Reject>` when the
//! server is full). The media socket is refused without a fresh token for the same call; then
//! µ-law 8 kHz passes through both ways with no resampling, marks after each chunk of the answer
//! give the played position, and barge-in sends `clear` before truncating at what was heard.

mod media;
mod messages;
mod signature;
mod sink;
mod voice;

pub(crate) use media::media;
pub use signature::{sign, verify};
pub(crate) use voice::voice;
