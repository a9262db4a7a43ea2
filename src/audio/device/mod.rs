//! Microphone and speaker through cpal (feature `audio`): host and device choice, stream
//! configuration, and the errors a user can act on.
//!
//! On Linux the host is PulseAudio when a server answers (most desktops run it, or PipeWire
//! speaking its protocol), else ALSA; [`AudioHost`] lets the user pick. Any device rate, channel
//! count and sample format is accepted and converted; the session's own rate and mono are
//! preferred when the device offers them, so the sound server does the conversion.

mod list;
mod mic;
mod speaker;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{
    BufferSize, SampleFormat, StreamConfig, SupportedBufferSize, SupportedStreamConfigRange,
};

pub use list::{DeviceInfo, list_devices};
pub use mic::MicSource;
pub use speaker::SpeakerSink;

use super::{AudioError, Direction};

/// Which sound system to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AudioHost {
    /// PulseAudio when a server answers, else ALSA (on other platforms: the platform default).
    #[default]
    Auto,
    /// A PulseAudio server (or PipeWire's PulseAudio service), through cpal's pure-Rust client.
    PulseAudio,
    /// ALSA directly (`default` is whatever the ALSA configuration routes it to).
    Alsa,
}

impl AudioHost {
    /// The name used on the command line and in `agent.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            AudioHost::Auto => "auto",
            AudioHost::PulseAudio => "pulseaudio",
            AudioHost::Alsa => "alsa",
        }
    }
}

impl std::fmt::Display for AudioHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AudioHost {
    type Err = AudioError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(AudioHost::Auto),
            "pulseaudio" | "pulse" | "pipewire" => Ok(AudioHost::PulseAudio),
            "alsa" => Ok(AudioHost::Alsa),
            _ => Err(AudioError::InvalidParameter(format!(
                "audio host `{s}` (expected auto, pulseaudio or alsa)"
            ))),
        }
    }
}

/// Which device to open and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceOptions {
    /// The sound system.
    pub host: AudioHost,
    /// A device name as [`list_devices`] shows it (its `name` or `description`); `None` for the
    /// host's default device.
    pub device: Option<String>,
    /// The device rate to ask for; `None` for the session rate when the device offers it, else
    /// the device's default rate.
    pub sample_rate: Option<u32>,
    /// The device buffer (callback period) to ask for, in milliseconds. Small keeps barge-in
    /// quick; the device may round it or ignore it.
    pub buffer_ms: u32,
}

impl Default for DeviceOptions {
    fn default() -> Self {
        Self {
            host: AudioHost::Auto,
            device: None,
            sample_rate: None,
            buffer_ms: 10,
        }
    }
}

/// The sound system to use, and its name.
pub(crate) fn open_host(choice: AudioHost) -> Result<(cpal::Host, &'static str), AudioError> {
    #[cfg(target_os = "linux")]
    {
        let unavailable = |host: &str, e: cpal::Error| AudioError::HostUnavailable {
            host: host.into(),
            detail: e.to_string(),
        };
        match choice {
            AudioHost::Auto => match cpal::host_from_id(cpal::HostId::PulseAudio) {
                Ok(host) => Ok((host, "pulseaudio")),
                Err(_) => cpal::host_from_id(cpal::HostId::Alsa)
                    .map(|host| (host, "alsa"))
                    .map_err(|e| unavailable("alsa", e)),
            },
            AudioHost::PulseAudio => cpal::host_from_id(cpal::HostId::PulseAudio)
                .map(|host| (host, "pulseaudio"))
                .map_err(|e| unavailable("pulseaudio", e)),
            AudioHost::Alsa => cpal::host_from_id(cpal::HostId::Alsa)
                .map(|host| (host, "alsa"))
                .map_err(|e| unavailable("alsa", e)),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        match choice {
            AudioHost::Auto => Ok((cpal::default_host(), "default")),
            other => Err(AudioError::HostUnavailable {
                host: other.as_str().into(),
                detail: "only available on Linux".into(),
            }),
        }
    }
}

/// The name a user types to pick `device`: its id within the host.
pub(crate) fn device_name(device: &cpal::Device) -> String {
    match device.id() {
        Ok(id) => id.id().to_owned(),
        Err(_) => device.to_string(),
    }
}

fn device_description(device: &cpal::Device) -> String {
    device
        .description()
        .map(|d| d.name().to_owned())
        .unwrap_or_else(|_| device_name(device))
}

fn devices_for(host: &cpal::Host, direction: Direction) -> Vec<cpal::Device> {
    let devices = match direction {
        Direction::Input => host.input_devices().map(|d| d.collect::<Vec<_>>()),
        Direction::Output => host.output_devices().map(|d| d.collect::<Vec<_>>()),
    };
    devices.unwrap_or_default()
}

/// Finds the device named `name` (by id or description), or the default one.
pub(crate) fn find_device(
    host: &cpal::Host,
    name: Option<&str>,
    direction: Direction,
) -> Result<cpal::Device, AudioError> {
    let found = match name {
        None => match direction {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        },
        Some(name) => devices_for(host, direction)
            .into_iter()
            .find(|d| device_name(d) == name || device_description(d) == name),
    };
    found.ok_or_else(|| AudioError::DeviceMissing {
        direction,
        name: name.map(str::to_owned),
        detail: match name {
            Some(_) => "the sound system has no such device".into(),
            None => "the sound system reports no default device".into(),
        },
        available: devices_for(host, direction)
            .iter()
            .map(device_name)
            .collect(),
    })
}

/// Maps a cpal error to what the user can act on.
pub(crate) fn device_error(
    error: cpal::Error,
    direction: Direction,
    name: Option<&str>,
) -> AudioError {
    use cpal::ErrorKind as K;
    let detail = error.to_string();
    match error.kind() {
        K::DeviceNotAvailable => AudioError::DeviceMissing {
            direction,
            name: name.map(str::to_owned),
            detail,
            available: Vec::new(),
        },
        K::HostUnavailable => AudioError::HostUnavailable {
            host: "audio".into(),
            detail,
        },
        K::DeviceBusy => AudioError::DeviceBusy { direction, detail },
        K::UnsupportedConfig | K::UnsupportedOperation | K::InvalidInput | K::PermissionDenied => {
            AudioError::UnsupportedDevice { direction, detail }
        }
        _ => AudioError::Stream { direction, detail },
    }
}

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

/// What the error callback of a running stream reported, for the side that reads or writes it.
#[derive(Debug, Default)]
pub(crate) struct StreamHealth {
    failure: Mutex<Option<String>>,
    xruns: AtomicU64,
}

impl StreamHealth {
    /// Called from cpal's error callback (not the audio callback: locking is fine here).
    pub(crate) fn report(&self, error: cpal::Error) {
        if error.kind() == cpal::ErrorKind::Xrun {
            // The stream recovers by itself; dropped capture is counted by the ring.
            self.xruns.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%error, "audio buffer under- or overrun");
            return;
        }
        tracing::warn!(%error, "audio stream failed");
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        failure.get_or_insert_with(|| error.to_string());
    }

    /// The stream's failure, if it has failed.
    pub(crate) fn check(&self, direction: Direction) -> Result<(), AudioError> {
        let failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        match failure.as_ref() {
            Some(detail) => Err(AudioError::Stream {
                direction,
                detail: detail.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Buffer under- or overruns reported so far.
    pub(crate) fn xruns(&self) -> u64 {
        self.xruns.load(Ordering::Relaxed)
    }
}

/// How long to wait for a stream to be created before calling the device unavailable.
pub(crate) const OPEN_TIMEOUT: Duration = Duration::from_secs(5);

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
