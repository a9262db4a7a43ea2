//! What can go wrong when audio enters or leaves the agent, and whether retrying helps.

use std::fmt;
use std::path::PathBuf;

/// Which way audio flows through a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Capture: a microphone.
    Input,
    /// Playback: a speaker or headphones.
    Output,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Input => "input (microphone)",
            Direction::Output => "output (speaker)",
        })
    }
}

/// The WAV formats [`WavSource`](super::WavSource) reads, for error messages.
pub const SUPPORTED_WAV: &str = "PCM integer 8, 16, 24 or 32-bit, or 32-bit float; \
                                 any sample rate; any number of channels";

/// An error from an audio source or sink.
///
/// Each variant says whether retrying the same operation can help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// There is no audio device for this direction: no sound card, no sound server, or the
    /// device that was asked for by name does not exist. The message lists what exists and how
    /// to run without a device.
    ///
    /// Retrying does not help until a device is connected or the sound server is running.
    #[error("{}", device_missing_message(*.direction, .name.as_deref(), .detail, .available))]
    DeviceMissing {
        /// Capture or playback.
        direction: Direction,
        /// The device name that was asked for, `None` for the default device.
        name: Option<String>,
        /// What the sound system said.
        detail: String,
        /// Names of the devices that do exist for this direction (may be empty).
        available: Vec<String>,
    },

    /// The audio host that was asked for (PulseAudio or ALSA) cannot be used.
    ///
    /// Retrying helps once the sound server is running; otherwise choose another host.
    #[error("audio host `{host}` is not available: {detail}")]
    HostUnavailable {
        /// The host name (`pulseaudio`, `alsa`).
        host: String,
        /// What the sound system said.
        detail: String,
    },

    /// The device exists but is in use by another program.
    ///
    /// Retrying can help once the other program releases it.
    #[error("the audio {direction} device is busy: {detail}")]
    DeviceBusy {
        /// Capture or playback.
        direction: Direction,
        /// What the sound system said.
        detail: String,
    },

    /// The device cannot be opened in any configuration this crate can convert from or to.
    ///
    /// Retrying does not help; choose another device.
    #[error("the audio {direction} device cannot be used: {detail}")]
    UnsupportedDevice {
        /// Capture or playback.
        direction: Direction,
        /// What is unsupported.
        detail: String,
    },

    /// A running device stream failed: the device was unplugged, the sound server went away.
    ///
    /// Retrying (opening the device again) can help.
    #[error("the audio {direction} stream failed: {detail}")]
    Stream {
        /// Capture or playback.
        direction: Direction,
        /// What the sound system said.
        detail: String,
    },

    /// A WAV file is in a format this crate does not read (compressed, 64-bit float, ...).
    ///
    /// Retrying does not help; convert the file, for example with
    /// `sox in.wav -b 16 out.wav`.
    #[error("{path}: unsupported WAV format: {found}; supported: {SUPPORTED_WAV}", path = .path.display())]
    UnsupportedWav {
        /// The file.
        path: PathBuf,
        /// What the file holds, for example `A-law (format tag 0x0006)`.
        found: String,
    },

    /// A file is not a valid WAV file (wrong header, truncated).
    ///
    /// Retrying does not help.
    #[error("{path}: not a valid WAV file: {detail}", path = .path.display())]
    InvalidWav {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },

    /// Reading or writing a file failed.
    ///
    /// Retrying can help when the cause is temporary (a full disk that was cleaned up).
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The playback buffer is full: audio arrived faster than it plays for longer than the
    /// buffer holds. The audio that did not fit was dropped.
    ///
    /// Retrying the same audio does not help; later audio is accepted again once the buffer
    /// drains. Stopping playback empties it.
    #[error("playback buffer full ({capacity_ms} ms): dropped {dropped_ms} ms of audio")]
    PlaybackOverflow {
        /// Milliseconds of audio dropped by this call.
        dropped_ms: u64,
        /// How much audio the buffer holds.
        capacity_ms: u64,
    },

    /// A sample rate, frame length or channel count that cannot work (zero, or beyond what the
    /// resampler supports).
    ///
    /// Retrying does not help; fix the configuration.
    #[error("invalid audio parameter: {0}")]
    InvalidParameter(String),

    /// The bounded queue of an in-memory source is full; the audio pushed was not queued.
    ///
    /// Retrying helps once the agent has read what is queued.
    #[error("the audio queue is full; the audio was not queued")]
    QueueFull,

    /// The other end of an in-memory channel has gone away.
    ///
    /// Retrying does not help.
    #[error("the audio channel is closed")]
    Closed,

    /// Something else went wrong; the message says what.
    ///
    /// Retrying rarely helps.
    #[error("{0}")]
    Other(String),
}

fn device_missing_message(
    direction: Direction,
    name: Option<&str>,
    detail: &str,
    available: &[String],
) -> String {
    let what = match name {
        Some(name) => format!("no audio {direction} device named `{name}`"),
        None => format!("no audio {direction} device"),
    };
    let list = if available.is_empty() {
        String::new()
    } else {
        format!(" (available: {})", available.join(", "))
    };
    let workaround = match direction {
        Direction::Input => {
            "use `--text` for a text-only session, or `--input FILE.wav` to send a recording"
        }
        Direction::Output => {
            "use `--text` for a text-only session, or `--output FILE.wav` to write the reply to a file"
        }
    };
    let detail = detail.trim_end_matches('.');
    format!("{what}: {detail}{list}. Run `agent devices` to list devices, or {workaround}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_missing_points_to_text_and_files() {
        let err = AudioError::DeviceMissing {
            direction: Direction::Input,
            name: None,
            detail: "ALSA: no such device".into(),
            available: vec![],
        };
        assert_eq!(
            err.to_string(),
            "no audio input (microphone) device: ALSA: no such device. Run `agent devices` to \
             list devices, or use `--text` for a text-only session, or `--input FILE.wav` to \
             send a recording"
        );
    }

    #[test]
    fn error_is_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static>() {}
        assert_bounds::<AudioError>();
    }
}
