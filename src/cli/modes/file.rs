//! `agent --input in.wav [--output out.wav] [--prompt "…"]`: one recorded turn and its answer.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;

use crate::audio::{AudioError, AudioSource, SUPPORTED_WAV, WavSink, WavSource};
use crate::config::{TurnDetectionKind, TurnDetectionSection};
use crate::protocol::{AudioFormat, ClientEvent, Item, Modality};

use super::super::driver::{FileProgress, Mode};
use super::super::exit::{ExitCode, Failure};
use super::super::render::Renderer;
use super::super::session::{self, Context};

/// Frame length for files: larger than a microphone's, since nothing waits for real time.
const FILE_FRAME_MS: u32 = 100;

/// Streams `input`, commits it as one turn, waits for the whole answer (tools included), writes
/// the spoken reply to `output`, and prints both transcripts.
pub(crate) async fn run(
    mut context: Context,
    input: &Path,
    output: Option<&Path>,
    prompt: Option<String>,
) -> Result<(), Failure> {
    // One manual turn: the agent commits and asks for the answer when the file ends.
    context.config.turn_detection = Some(TurnDetectionSection {
        kind: TurnDetectionKind::None,
        ..TurnDetectionSection::default()
    });
    if output.is_some() {
        context.config.agent.output_modalities = Some(vec![Modality::Audio]);
    }
    let session_config = context.config.session();
    let input_format = session_config.input_audio_format.unwrap_or_default();
    let output_format = session_config.output_audio_format.unwrap_or_default();

    let wav = WavSource::open(input, input_format, FILE_FRAME_MS).map_err(wav_failure)?;
    let info = wav.info();
    let label = input.file_name().map_or_else(
        || input.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let progress = FileProgress {
        label: label.clone(),
        total: info.duration(),
        sent_ms: Arc::new(AtomicU64::new(0)),
        ended: Arc::new(AtomicBool::new(false)),
        transcription: context.config.input_transcription().is_some(),
    };
    let source = ProgressSource {
        inner: wav,
        format: input_format,
        progress: progress.clone(),
    };
    let sink = match output {
        Some(path) => Some(WavSink::create(path, output_format).map_err(|error| {
            Failure::new(ExitCode::File, format!("cannot write the reply: {error}"))
        })?),
        None => None,
    };

    let mut builder = session::builder(&context)?
        .audio_source(source)
        .audio_events(false);
    if let Some(sink) = sink {
        builder = builder.audio_sink(sink);
    }
    let mut renderer = Renderer::terminal(true);
    renderer.note(&format!(
        "sending {label}: {:.1} s, {} Hz, {} channel{}",
        info.duration().as_secs_f64(),
        info.sample_rate,
        info.channels,
        if info.channels == 1 { "" } else { "s" }
    ));
    // The prompt goes in before the audio's turn is committed, so the model reads it first.
    let first = prompt
        .map(|text| vec![ClientEvent::item_create(Item::user_text(text))])
        .unwrap_or_default();
    let (_, mut renderer) =
        session::converse(&context, builder, Mode::File(progress), renderer, first).await?;
    if let Some(path) = output {
        match hound::WavReader::open(path) {
            Ok(reader) => {
                let seconds =
                    f64::from(reader.duration()) / f64::from(reader.spec().sample_rate.max(1));
                renderer.note(&format!(
                    "wrote the reply to {} ({seconds:.1} s of audio)",
                    path.display()
                ));
            }
            Err(error) => {
                return Err(Failure::new(
                    ExitCode::File,
                    format!("the reply {} was not written: {error}", path.display()),
                ));
            }
        }
    }
    Ok(())
}

/// A WAV input problem, with what is supported.
fn wav_failure(error: AudioError) -> Failure {
    let message = match &error {
        AudioError::InvalidWav { .. } => format!("{error}; supported: {SUPPORTED_WAV}"),
        _ => error.to_string(),
    };
    Failure::new(ExitCode::File, message)
}

/// Counts what the agent has read from the file, for the progress bar.
struct ProgressSource {
    inner: WavSource,
    format: AudioFormat,
    progress: FileProgress,
}

#[async_trait]
impl AudioSource for ProgressSource {
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, AudioError> {
        let frame = self.inner.next_frame().await?;
        match &frame {
            Some(frame) => {
                self.progress
                    .sent_ms
                    .fetch_add(self.format.ms_for_bytes(frame.len()), Ordering::AcqRel);
            }
            None => self.progress.ended.store(true, Ordering::Release),
        }
        Ok(frame)
    }
}
