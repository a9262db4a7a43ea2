//! WAV files: [`WavSource`] reads any PCM or float WAV into session frames, [`WavSink`] writes
//! the model's audio as 24 kHz mono PCM16.

mod header;
mod sink;
mod source;

pub use sink::WavSink;
pub use source::{WavInfo, WavSource};
