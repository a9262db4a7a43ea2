//! `agent`: a voice conversation through the microphone and the speaker.

use super::super::exit::Failure;
use super::super::session::Context;

/// Talks until Ctrl-C. With `push_to_talk`, Enter starts and ends each turn.
#[cfg(feature = "audio")]
pub(crate) async fn run(mut context: Context, push_to_talk: bool) -> Result<(), Failure> {
    use std::sync::atomic::Ordering;

    use async_trait::async_trait;

    use super::super::driver::{Mode, PushToTalk};
    use super::super::render::Renderer;
    use super::super::session;
    use crate::audio::{
        AudioError, AudioSource, DEFAULT_FRAME_MS, DeviceAudio, DeviceOptions, DuplexOptions,
    };
    use crate::config::{TurnDetectionKind, TurnDetectionSection};

    /// Passes microphone frames only while the push-to-talk gate is open.
    struct Gated {
        inner: Box<dyn AudioSource>,
        gate: PushToTalk,
    }

    #[async_trait]
    impl AudioSource for Gated {
        async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, AudioError> {
            loop {
                let frame = self.inner.next_frame().await?;
                if frame.is_none() || self.gate.open.load(Ordering::Acquire) {
                    return Ok(frame);
                }
            }
        }

        fn dropped_ms(&self) -> u64 {
            self.inner.dropped_ms()
        }
    }

    if push_to_talk {
        context.config.turn_detection = Some(TurnDetectionSection {
            kind: TurnDetectionKind::None,
            ..TurnDetectionSection::default()
        });
    }
    let session_config = context.config.session();
    let input_format = session_config.input_audio_format.unwrap_or_default();
    let output_format = session_config.output_audio_format.unwrap_or_default();
    let audio = &context.config.audio;
    let host = match audio.host.unwrap_or_default() {
        crate::config::HostChoice::Auto => crate::audio::AudioHost::Auto,
        crate::config::HostChoice::PulseAudio => crate::audio::AudioHost::PulseAudio,
        crate::config::HostChoice::Alsa => crate::audio::AudioHost::Alsa,
    };
    // One choice for both directions: opened separately, `auto` could put the speaker on one
    // sound system and the microphone on another.
    let chosen = crate::audio::choose_host(host)?;
    let host = chosen.host;
    let devices = DeviceAudio::open(
        &DuplexOptions {
            input: DeviceOptions {
                host,
                device: audio.input_device.clone(),
                ..DeviceOptions::default()
            },
            output: DeviceOptions {
                host,
                device: audio.output_device.clone(),
                ..DeviceOptions::default()
            },
            frame_ms: audio.frame_ms.unwrap_or(DEFAULT_FRAME_MS),
            echo_cancellation: audio.echo_cancellation.unwrap_or(true),
            half_duplex: audio.half_duplex,
        },
        input_format,
        output_format,
    )?;
    let in_force = devices.describe();
    let half_duplex = devices.half_duplex();
    let speaker_name = devices.sink.device().to_owned();
    let mic_name = devices.microphone().to_owned();
    let (mut source, speaker) = devices.into_parts();
    let gate = push_to_talk.then(PushToTalk::default);
    if let Some(gate) = &gate {
        source = Box::new(Gated {
            inner: source,
            gate: gate.clone(),
        });
    }
    let builder = session::builder(&context)?
        .audio_source(source)
        .audio_sink(speaker)
        .audio_events(false);
    let mut renderer = Renderer::terminal(true);
    renderer.note(&format!(
        "audio: {chosen}; speaker `{speaker_name}`, microphone `{mic_name}`; {in_force}"
    ));
    if context.sim.is_some() {
        renderer.note(
            "the simulated model hears when you speak (by loudness) but cannot understand \
             speech: it answers how long you spoke. Type a line, e.g. \"what time is it\", to \
             see it call a tool",
        );
    }
    renderer.note(match (&gate, half_duplex) {
        (Some(_), _) => "press Enter to start talking and Enter again to send; Ctrl-C ends",
        (None, true) => {
            "speak when ready (the microphone pauses while the assistant talks; with headphones \
             set [audio] half_duplex = false to interrupt by voice); type a line to send text; \
             Ctrl-C ends"
        }
        (None, false) => "speak when ready, or type a line to send text; Ctrl-C ends",
    });
    session::converse(
        &context,
        builder,
        Mode::Voice { push_to_talk: gate },
        renderer,
        Vec::new(),
    )
    .await?;
    Ok(())
}

/// Without the `audio` feature there is no microphone or speaker.
#[cfg(not(feature = "audio"))]
pub(crate) async fn run(context: Context, push_to_talk: bool) -> Result<(), Failure> {
    let _ = (context, push_to_talk);
    Err(Failure::new(
        super::super::exit::ExitCode::AudioDevice,
        "this agent was built without audio support (the `audio` feature): use `--text` for a \
         text-only session, or `--input FILE.wav` to send a recording",
    ))
}
