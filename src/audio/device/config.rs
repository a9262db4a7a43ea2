//! Choosing a stream configuration the device supports and this crate converts, and building
//! the stream with it.

use cpal::traits::DeviceTrait;
use cpal::{
    BufferSize, SampleFormat, StreamConfig, SupportedBufferSize, SupportedStreamConfigRange,
};

use super::device_error;
use crate::audio::{AudioError, Direction};

/// Sample formats in order of preference: exact for PCM16 first, then lossless wider ones.
const FORMAT_PREFERENCE: [SampleFormat; 9] = [
    SampleFormat::I16,
    SampleFormat::F32,
    SampleFormat::I32,
    SampleFormat::I24,
    SampleFormat::F64,
    SampleFormat::U16,
    SampleFormat::U32,
    SampleFormat::U8,
    SampleFormat::I8,
];

/// A stream configuration the device supports and this crate converts from or to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChosenConfig {
    pub(crate) config: StreamConfig,
    pub(crate) format: SampleFormat,
}

/// Chooses the device configuration: the wanted rate (else the default rate), mono (else
/// stereo, else the fewest channels), the preferred sample format, a small buffer when allowed.
///
/// `requested` is the name the user asked for (for error messages), `None` for the default.
pub(crate) fn choose_config(
    device: &cpal::Device,
    direction: Direction,
    requested: Option<&str>,
    wanted_rate: u32,
    buffer_ms: u32,
) -> Result<ChosenConfig, AudioError> {
    let err = |e| device_error(e, direction, requested);
    let default = match direction {
        Direction::Input => device.default_input_config(),
        Direction::Output => device.default_output_config(),
    }
    .map_err(err)?;
    let ranges: Vec<SupportedStreamConfigRange> = match direction {
        Direction::Input => device.supported_input_configs().map(|r| r.collect()),
        Direction::Output => device.supported_output_configs().map(|r| r.collect()),
    }
    .unwrap_or_default();
    let usable = |r: &&SupportedStreamConfigRange| {
        FORMAT_PREFERENCE.contains(&r.sample_format()) && r.channels() > 0
    };
    let rate_for = |r: &SupportedStreamConfigRange| {
        if r.contains_rate(wanted_rate) {
            Some(wanted_rate)
        } else if r.contains_rate(default.sample_rate()) {
            Some(default.sample_rate())
        } else {
            None
        }
    };
    let score = |r: &SupportedStreamConfigRange| {
        let rate = rate_for(r);
        let channels = match r.channels() {
            1 => 0,
            2 => 1,
            n => 1 + usize::from(n),
        };
        let format = FORMAT_PREFERENCE
            .iter()
            .position(|f| *f == r.sample_format())
            .unwrap_or(usize::MAX);
        (rate != Some(wanted_rate), rate.is_none(), channels, format)
    };
    let best = ranges
        .iter()
        .filter(usable)
        .filter(|r| rate_for(r).is_some())
        .min_by_key(|r| score(r));
    let (channels, rate, format, buffer_range) = match best {
        Some(r) => (
            r.channels(),
            rate_for(r).unwrap_or(default.sample_rate()),
            r.sample_format(),
            *r.buffer_size(),
        ),
        None if FORMAT_PREFERENCE.contains(&default.sample_format()) => (
            default.channels(),
            default.sample_rate(),
            default.sample_format(),
            *default.buffer_size(),
        ),
        None => {
            return Err(AudioError::UnsupportedDevice {
                direction,
                detail: format!("sample format {} is not supported", default.sample_format()),
            });
        }
    };
    let period = (u64::from(rate) * u64::from(buffer_ms.max(1)) / 1000).max(1) as u32;
    let buffer_size = match buffer_range {
        SupportedBufferSize::Range { min, max } if (min..=max).contains(&period) => {
            BufferSize::Fixed(period)
        }
        SupportedBufferSize::Range { .. } => BufferSize::Default,
        SupportedBufferSize::Unknown => BufferSize::Fixed(period),
    };
    Ok(ChosenConfig {
        config: StreamConfig {
            channels,
            sample_rate: rate,
            buffer_size,
        },
        format,
    })
}

/// An error from building a stream that may mean "not with this configuration".
pub(crate) trait ConfigRefused {
    /// Whether the device refused the configuration (so another one may work).
    fn config_refused(&self) -> bool;
}

impl ConfigRefused for cpal::Error {
    fn config_refused(&self) -> bool {
        self.kind() == cpal::ErrorKind::UnsupportedConfig
    }
}

/// Runs `build` with the chosen buffer size, and once more with the device's default buffer if
/// the device refuses it.
pub(crate) fn build_with_fallback<S, E: ConfigRefused>(
    chosen: ChosenConfig,
    mut build: impl FnMut(StreamConfig) -> Result<S, E>,
) -> Result<S, E> {
    match build(chosen.config) {
        Err(e) if chosen.config.buffer_size != BufferSize::Default && e.config_refused() => {
            build(StreamConfig {
                buffer_size: BufferSize::Default,
                ..chosen.config
            })
        }
        other => other,
    }
}

/// Calls `$body` with the Rust sample type `$T` of a cpal sample format.
macro_rules! with_sample_type {
    ($format:expr, $T:ident => $body:expr, $unsupported:expr) => {
        match $format {
            cpal::SampleFormat::I8 => {
                type $T = i8;
                $body
            }
            cpal::SampleFormat::I16 => {
                type $T = i16;
                $body
            }
            cpal::SampleFormat::I24 => {
                type $T = cpal::I24;
                $body
            }
            cpal::SampleFormat::I32 => {
                type $T = i32;
                $body
            }
            cpal::SampleFormat::U8 => {
                type $T = u8;
                $body
            }
            cpal::SampleFormat::U16 => {
                type $T = u16;
                $body
            }
            cpal::SampleFormat::U32 => {
                type $T = u32;
                $body
            }
            cpal::SampleFormat::F32 => {
                type $T = f32;
                $body
            }
            cpal::SampleFormat::F64 => {
                type $T = f64;
                $body
            }
            _ => $unsupported,
        }
    };
}
pub(crate) use with_sample_type;
