//! The microphone and the speaker opened together, and how they share the room: echo
//! cancellation (the default), half-duplex, or neither (headphones).

use super::{DeviceOptions, MicSource, SpeakerSink};
use crate::audio::half_duplex::{DEFAULT_TAIL, half_duplex_default};
use crate::audio::{Aec3Canceller, AudioError, AudioSink, AudioSource, HalfDuplexSource};
use crate::protocol::AudioFormat;

/// How to open the microphone and speaker for a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplexOptions {
    /// The microphone.
    pub input: DeviceOptions,
    /// The speaker.
    pub output: DeviceOptions,
    /// Milliseconds of audio per microphone frame.
    pub frame_ms: u32,
    /// Remove the speaker's sound from the microphone signal, so the user can talk over the
    /// assistant on open speakers (default: on).
    pub echo_cancellation: bool,
    /// Hold the microphone back while the assistant is audible. `None` (the default): off with
    /// echo cancellation, otherwise on with the default speaker (probably a loudspeaker).
    pub half_duplex: Option<bool>,
}

impl Default for DuplexOptions {
    fn default() -> Self {
        Self {
            input: DeviceOptions::default(),
            output: DeviceOptions::default(),
            frame_ms: crate::audio::DEFAULT_FRAME_MS,
            echo_cancellation: true,
            half_duplex: None,
        }
    }
}

/// An open microphone and speaker, wired for a conversation: hand
/// [`source`](Self::source) and [`sink`](Self::sink) to the agent builder.
///
/// ```no_run
/// use realtime_agent::audio::{DeviceAudio, DuplexOptions};
/// use realtime_agent::protocol::AudioFormat;
///
/// let audio = DeviceAudio::open(&DuplexOptions::default(), AudioFormat::Pcm16, AudioFormat::Pcm16)?;
/// println!("{}", audio.describe()); // echo cancellation on, half-duplex off
/// let (source, sink) = audio.into_parts();
/// # let _ = (source, sink);
/// # Ok::<(), realtime_agent::audio::AudioError>(())
/// ```
pub struct DeviceAudio {
    /// The microphone, with the echo canceller or the half-duplex gate in front as chosen.
    pub source: Box<dyn AudioSource>,
    /// The speaker.
    pub sink: SpeakerSink,
    microphone: String,
    echo_cancellation: bool,
    half_duplex: bool,
}

impl std::fmt::Debug for DeviceAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAudio")
            .field("sink", &self.sink)
            .field("echo_cancellation", &self.echo_cancellation)
            .field("half_duplex", &self.half_duplex)
            .finish_non_exhaustive()
    }
}

impl DeviceAudio {
    /// Opens the speaker (for audio in `output_format`) and the microphone (for frames of
    /// `input_format`), and puts the echo canceller or the half-duplex gate between them.
    pub fn open(
        options: &DuplexOptions,
        input_format: AudioFormat,
        output_format: AudioFormat,
    ) -> Result<Self, AudioError> {
        let mut sink = SpeakerSink::open(&options.output, output_format)?;
        let mut mic = MicSource::open(&options.input, input_format, options.frame_ms)?;
        let microphone = mic.device().to_owned();
        let echo_cancellation = options.echo_cancellation;
        if echo_cancellation {
            mic.set_echo_canceller(Box::new(Aec3Canceller::new()), sink.far_end());
        }
        let half_duplex = options
            .half_duplex
            .unwrap_or_else(|| half_duplex_default(echo_cancellation, sink.is_default_device()));
        let source: Box<dyn AudioSource> = match sink.monitor() {
            Some(monitor) if half_duplex => Box::new(HalfDuplexSource::new(
                mic,
                input_format,
                monitor,
                DEFAULT_TAIL,
            )),
            _ => Box::new(mic),
        };
        Ok(Self {
            source,
            sink,
            microphone,
            echo_cancellation,
            half_duplex,
        })
    }

    /// The microphone's device name.
    pub fn microphone(&self) -> &str {
        &self.microphone
    }

    /// Whether the echo canceller is in the capture path.
    pub fn echo_cancellation(&self) -> bool {
        self.echo_cancellation
    }

    /// Whether the microphone is held back while the assistant is audible.
    pub fn half_duplex(&self) -> bool {
        self.half_duplex
    }

    /// What is in force, for a start-up line: `echo cancellation on, half-duplex off`.
    pub fn describe(&self) -> String {
        let on = |b: bool| if b { "on" } else { "off" };
        format!(
            "echo cancellation {}, half-duplex {}",
            on(self.echo_cancellation),
            on(self.half_duplex)
        )
    }

    /// The source and the sink, for the agent builder.
    pub fn into_parts(self) -> (Box<dyn AudioSource>, SpeakerSink) {
        (self.source, self.sink)
    }
}
