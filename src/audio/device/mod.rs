//! Microphone and speaker through cpal (feature `audio`): host and device choice, stream
//! configuration, and the errors a user can act on.
//!
//! On Linux the host is PulseAudio when a server answers (most desktops run it, or PipeWire
//! speaking its protocol), else ALSA; [`AudioHost`] lets the user pick. Any device rate, channel
//! count and sample format is accepted and converted; the session's own rate and mono are
//! preferred when the device offers them, so the sound server does the conversion.

mod config;
mod duplex;
mod health;
mod list;
mod mic;
mod speaker;

use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait};

pub(crate) use config::{
    ChosenConfig, ConfigRefused, build_with_fallback, choose_config, with_sample_type,
};
pub use duplex::{DeviceAudio, DuplexOptions};
pub(crate) use health::StreamHealth;
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

/// How long to wait for a stream to be created before calling the device unavailable.
pub(crate) const OPEN_TIMEOUT: Duration = Duration::from_secs(5);
