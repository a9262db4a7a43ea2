//! The audio layer: resampling, G.711, WAV files, the playback core and its sinks, in-memory
//! sources, half-duplex, and the real cpal microphone and speaker run without a sound card
//! (through ALSA's `file` plugin, and a private PulseAudio server paced in real time).

#[path = "audio/support.rs"]
mod support;

#[path = "audio/resample.rs"]
mod resample;

#[path = "audio/g711.rs"]
mod g711;

#[path = "audio/wav.rs"]
mod wav;

#[path = "audio/playback.rs"]
mod playback;

#[path = "audio/sources.rs"]
mod sources;

#[cfg(feature = "aec")]
#[path = "audio/aec.rs"]
mod aec;

#[cfg(feature = "audio")]
#[path = "audio/child.rs"]
mod child;

#[cfg(feature = "audio")]
#[path = "audio/alsa_file.rs"]
mod alsa_file;

#[cfg(feature = "audio")]
#[path = "audio/pulse.rs"]
mod pulse;
