//! Reading a WAV file as session input frames.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use super::header::describe_format;
use crate::audio::capture::CaptureEncoder;
use crate::audio::pcm::mix_to_mono;
use crate::audio::{AudioError, AudioSource};
use crate::protocol::AudioFormat;

/// Frames read from the file per step.
const READ_FRAMES: usize = 4096;

/// What a WAV file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// Bits per sample.
    pub bits_per_sample: u16,
    /// Floating-point samples (otherwise signed integers; 8-bit files are unsigned on disk).
    pub float: bool,
    /// Frames in the file.
    pub frames: u64,
}

impl WavInfo {
    /// How long the file plays.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.frames * 1_000_000_000 / u64::from(self.sample_rate.max(1)))
    }
}

/// Reads a WAV file (PCM integer 8/16/24/32-bit or 32-bit float, any rate, any channels) and
/// yields it as frames of the session input format: mixed to mono, resampled, encoded.
///
/// Not paced: frames come as fast as they are asked for, which is what the file mode wants
/// (send everything, then commit).
pub struct WavSource {
    path: PathBuf,
    reader: hound::WavReader<BufReader<File>>,
    info: WavInfo,
    encoder: CaptureEncoder,
    interleaved: Vec<f32>,
    mono: Vec<f32>,
    ended: bool,
}

impl std::fmt::Debug for WavSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSource")
            .field("path", &self.path)
            .field("info", &self.info)
            .field("encoder", &self.encoder)
            .finish_non_exhaustive()
    }
}

impl WavSource {
    /// Opens `path` for frames of `frame_ms` milliseconds of `format`.
    pub fn open(
        path: impl AsRef<Path>,
        format: AudioFormat,
        frame_ms: u32,
    ) -> Result<Self, AudioError> {
        let path = path.as_ref().to_path_buf();
        let reader = hound::WavReader::open(&path).map_err(|e| open_error(&path, e))?;
        let spec = reader.spec();
        let float = spec.sample_format == hound::SampleFormat::Float;
        let supported = if float {
            spec.bits_per_sample == 32
        } else {
            matches!(spec.bits_per_sample, 8 | 16 | 24 | 32)
        };
        if !supported || spec.channels == 0 || spec.sample_rate == 0 {
            let found = describe_format(&path).unwrap_or_else(|| {
                format!(
                    "{}-bit {}, {} channels, {} Hz",
                    spec.bits_per_sample,
                    if float { "float" } else { "integer" },
                    spec.channels,
                    spec.sample_rate
                )
            });
            return Err(AudioError::UnsupportedWav { path, found });
        }
        let info = WavInfo {
            sample_rate: spec.sample_rate,
            channels: spec.channels,
            bits_per_sample: spec.bits_per_sample,
            float,
            frames: u64::from(reader.duration()),
        };
        let encoder = CaptureEncoder::new(spec.sample_rate, format, frame_ms)?;
        Ok(Self {
            path,
            reader,
            info,
            encoder,
            interleaved: Vec::with_capacity(READ_FRAMES * usize::from(spec.channels)),
            mono: Vec::with_capacity(READ_FRAMES),
            ended: false,
        })
    }

    /// What the file holds.
    pub fn info(&self) -> WavInfo {
        self.info
    }

    /// Reads the next block into the encoder; at the end, finishes it.
    fn read_block(&mut self) -> Result<(), AudioError> {
        let channels = usize::from(self.info.channels);
        let wanted = READ_FRAMES * channels;
        self.interleaved.clear();
        let result = if self.info.float {
            read_samples::<f32>(&mut self.reader, wanted, &mut self.interleaved, |s| s)
        } else {
            let scale = 1.0 / (1u64 << (self.info.bits_per_sample - 1)) as f32;
            read_samples::<i32>(&mut self.reader, wanted, &mut self.interleaved, |s| {
                s as f32 * scale
            })
        };
        let at_end = match result {
            Ok(()) => self.interleaved.len() < wanted,
            Err(hound::Error::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                tracing::warn!(path = %self.path.display(), "WAV file is shorter than its header says; using the audio that is there");
                true
            }
            Err(hound::Error::IoError(source)) => {
                return Err(AudioError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
            Err(e) => {
                return Err(AudioError::InvalidWav {
                    path: self.path.clone(),
                    detail: e.to_string(),
                });
            }
        };
        // A truncated last frame (fewer samples than channels) is dropped by the mix.
        self.mono.clear();
        mix_to_mono(&self.interleaved, channels, &mut self.mono);
        self.encoder.push(&self.mono);
        if at_end {
            self.encoder.finish();
            self.ended = true;
        }
        Ok(())
    }
}

/// Appends up to `wanted` samples of type `S`, converted by `convert`, stopping at an error.
fn read_samples<S: hound::Sample>(
    reader: &mut hound::WavReader<BufReader<File>>,
    wanted: usize,
    out: &mut Vec<f32>,
    convert: impl Fn(S) -> f32,
) -> Result<(), hound::Error> {
    for sample in reader.samples::<S>().take(wanted) {
        out.push(convert(sample?));
    }
    Ok(())
}

fn open_error(path: &Path, error: hound::Error) -> AudioError {
    match error {
        hound::Error::IoError(source) => AudioError::Io {
            path: path.to_path_buf(),
            source,
        },
        hound::Error::Unsupported => AudioError::UnsupportedWav {
            path: path.to_path_buf(),
            found: describe_format(path).unwrap_or_else(|| "an unknown encoding".into()),
        },
        other => AudioError::InvalidWav {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    }
}

#[async_trait]
impl AudioSource for WavSource {
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, AudioError> {
        loop {
            if let Some(frame) = self.encoder.next_frame() {
                return Ok(Some(frame));
            }
            if self.ended {
                return Ok(None);
            }
            self.read_block()?;
        }
    }
}
