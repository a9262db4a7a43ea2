//! Writing the model's audio to a WAV file.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use crate::audio::playback::{self, PlaybackMonitor, PlaybackQueue, PlaybackRenderer};
use crate::audio::{AudioError, AudioSink, FarEnd, Played};
use crate::protocol::AudioFormat;

/// The rate of the file: the PCM16 session rate.
const FILE_RATE: u32 = 24_000;

/// Frames written per step.
const WRITE_FRAMES: usize = 4096;

/// Writes the model's audio as a 24 kHz mono PCM16 WAV file, whatever the session output format
/// (G.711 is decoded and resampled). Items follow each other in the file.
///
/// Everything written counts as played at once: [`AudioSink::stop`] returns `None` unless a
/// resampled item's last milliseconds were still held back. The header is completed by
/// [`AudioSink::close`] (or on drop, where an error can only be logged).
pub struct WavSink {
    path: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    queue: PlaybackQueue,
    renderer: PlaybackRenderer,
    block: Vec<i16>,
}

impl std::fmt::Debug for WavSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("path", &self.path)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl WavSink {
    /// Creates (or truncates) `path` for audio arriving in `format`.
    pub fn create(path: impl AsRef<Path>, format: AudioFormat) -> Result<Self, AudioError> {
        let path = path.as_ref().to_path_buf();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: FILE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(&path, spec).map_err(|e| write_error(&path, e))?;
        let (queue, renderer) =
            playback::playback_channel(format, FILE_RATE, playback::DEFAULT_CAPACITY)?;
        Ok(Self {
            path,
            writer: Some(writer),
            queue,
            renderer,
            block: vec![0; WRITE_FRAMES],
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes everything queued to the file.
    fn drain(&mut self) -> Result<(), AudioError> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(AudioError::Closed);
        };
        while self.renderer.queued() > 0 {
            let frames = self.renderer.render_heard(&mut self.block);
            for &sample in &self.block[..frames] {
                writer
                    .write_sample(sample)
                    .map_err(|e| write_error(&self.path, e))?;
            }
        }
        Ok(())
    }

    fn finalize(&mut self) -> Result<(), AudioError> {
        match self.writer.take() {
            Some(writer) => writer.finalize().map_err(|e| write_error(&self.path, e)),
            None => Ok(()),
        }
    }
}

fn write_error(path: &Path, error: hound::Error) -> AudioError {
    match error {
        hound::Error::IoError(source) => AudioError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => AudioError::Other(format!("{}: {other}", path.display())),
    }
}

impl AudioSink for WavSink {
    fn play(&mut self, item_id: &str, audio: &[u8]) -> Result<(), AudioError> {
        let queued = self.queue.play(item_id, audio);
        self.drain()?;
        queued
    }

    fn finish_item(&mut self, item_id: &str) -> Result<(), AudioError> {
        let queued = self.queue.finish_item(item_id);
        self.drain()?;
        queued
    }

    fn stop(&mut self) -> Option<Played> {
        self.queue.stop()
    }

    fn is_playing(&self) -> bool {
        self.queue.is_playing()
    }

    fn monitor(&self) -> Option<PlaybackMonitor> {
        Some(self.queue.monitor())
    }

    fn far_end(&mut self) -> Option<FarEnd> {
        self.queue.take_far_end()
    }

    fn close(&mut self) -> Result<(), AudioError> {
        if self.writer.is_none() {
            return Ok(());
        }
        if let Some(item) = self.queue.current_item() {
            self.queue.finish_item(&item)?;
        }
        self.drain()?;
        self.finalize()
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        if let Err(error) = self.close() {
            tracing::warn!(%error, "could not finish the WAV file");
        }
    }
}
