//! Microphone and speaker through cpal (feature `audio`): host and device choice, stream
//! configuration, and the errors a user can act on.
//!
//! On Linux the host is PulseAudio when a server answers (most desktops run it, or PipeWire
//! speaking its protocol), else ALSA; [`AudioHost`] lets the user pick. PulseAudio is reached
//! as its own clients reach it: through `PULSE_SERVER` or the runtime directory, and with the
//! cookie of `PULSE_COOKIE` or the home directory, made if there is none. Any device rate, channel
//! count and sample format is accepted and converted; the session's own rate and mono are
//! preferred when the device offers them, so the sound server does the conversion.

mod config;
mod duplex;
mod health;
mod list;
mod mic;
#[cfg(target_os = "linux")]
mod pulse;
#[cfg(target_os = "linux")]
mod pulse_record;
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
    /// Each device opened with it chooses on its own; [`choose_host`] makes one choice for
    /// both directions of a session.
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

/// The sound system a session uses for both directions, chosen once by [`choose_host`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenHost {
    /// The host to open the microphone and the speaker with. On Linux this is never
    /// [`AudioHost::Auto`], so both directions go through the same sound system.
    pub host: AudioHost,
    /// Why [`AudioHost::Auto`] did not choose PulseAudio, when it fell back to ALSA.
    pub fallback: Option<String>,
}

impl std::fmt::Display for ChosenHost {
    /// `pulseaudio`, or `alsa (pulseaudio is not available: WHY)` after a fallback.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.fallback {
            None => write!(f, "{}", self.host),
            Some(why) => write!(f, "{} (pulseaudio is not available: {why})", self.host),
        }
    }
}

/// Chooses the sound system once, for a session that opens both a microphone and a speaker:
/// [`AudioHost::Auto`] becomes PulseAudio when a server answers, else ALSA (saying why), so
/// the two directions cannot end up on different hosts when the sound system changes between
/// the two opens. An explicit host is checked and kept. Pass [`ChosenHost::host`] in the
/// [`DeviceOptions`] of both devices.
pub fn choose_host(choice: AudioHost) -> Result<ChosenHost, AudioError> {
    #[cfg(target_os = "linux")]
    if choice == AudioHost::Auto {
        return match open_pulseaudio() {
            Ok(_) => Ok(ChosenHost {
                host: AudioHost::PulseAudio,
                fallback: None,
            }),
            Err(pulse) => {
                open_host(AudioHost::Alsa)?;
                Ok(ChosenHost {
                    host: AudioHost::Alsa,
                    fallback: Some(match pulse {
                        AudioError::HostUnavailable { detail, .. } => detail,
                        other => other.to_string(),
                    }),
                })
            }
        };
    }
    open_host(choice)?;
    Ok(ChosenHost {
        host: choice,
        fallback: None,
    })
}

/// The sound system to use, and its name.
pub(crate) fn open_host(choice: AudioHost) -> Result<(cpal::Host, &'static str), AudioError> {
    #[cfg(target_os = "linux")]
    {
        match choice {
            AudioHost::Auto => open_pulseaudio().or_else(|pulse| {
                tracing::info!(reason = %pulse, "using ALSA");
                open_alsa()
            }),
            AudioHost::PulseAudio => open_pulseaudio(),
            AudioHost::Alsa => open_alsa(),
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

#[cfg(target_os = "linux")]
fn open_pulseaudio() -> Result<(cpal::Host, &'static str), AudioError> {
    let unavailable = |detail: String| AudioError::HostUnavailable {
        host: "pulseaudio".into(),
        detail,
    };
    pulse::prepare().map_err(unavailable)?;
    cpal::host_from_id(cpal::HostId::PulseAudio)
        .map(|host| (host, "pulseaudio"))
        .map_err(|e| {
            let detail = e.to_string();
            // The server closing the socket before its reply is what a refused handshake
            // looks like from the client; say that rather than the bare read error.
            unavailable(if detail.contains("failed to fill whole buffer") {
                format!("the server closed the connection during authentication ({detail})")
            } else {
                detail
            })
        })
}

#[cfg(target_os = "linux")]
fn open_alsa() -> Result<(cpal::Host, &'static str), AudioError> {
    cpal::host_from_id(cpal::HostId::Alsa)
        .map(|host| (host, "alsa"))
        .map_err(|e| AudioError::HostUnavailable {
            host: "alsa".into(),
            detail: e.to_string(),
        })
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
