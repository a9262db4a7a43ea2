//! Listing audio devices, for `agent devices`.

use cpal::SupportedStreamConfigRange;
use cpal::traits::{DeviceTrait, HostTrait};

use super::{AudioHost, device_description, device_name, open_host};
use crate::audio::AudioError;
use crate::audio::resample::COMMON_RATES;

/// One audio device as the sound system describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The sound system (`pulseaudio` or `alsa`).
    pub host: String,
    /// The name to choose it by (`input_device` / `output_device` in `agent.toml`).
    pub name: String,
    /// A human-readable description.
    pub description: String,
    /// Whether it can capture.
    pub input: bool,
    /// Whether it can play.
    pub output: bool,
    /// Whether it is the default capture device.
    pub default_input: bool,
    /// Whether it is the default playback device.
    pub default_output: bool,
    /// Common rates (8, 16, 22.05, 24, 44.1, 48 kHz) and the default rate it captures at,
    /// ascending; empty when it cannot capture or would not say.
    pub input_rates: Vec<u32>,
    /// The same for playback.
    pub output_rates: Vec<u32>,
}

/// Lists the devices of `host`. Devices that fail to describe themselves are listed with what
/// is known.
pub fn list_devices(host: AudioHost) -> Result<Vec<DeviceInfo>, AudioError> {
    let (host, host_name) = open_host(host)?;
    let default_input_device = host.default_input_device();
    let default_output_device = host.default_output_device();
    let default_input = default_input_device.as_ref().map(device_name);
    let default_output = default_output_device.as_ref().map(device_name);
    let mut devices: Vec<cpal::Device> = host
        .devices()
        .map_err(|e| AudioError::HostUnavailable {
            host: host_name.into(),
            detail: e.to_string(),
        })?
        .collect();
    // ALSA lists only devices its configuration describes; its `default` may not be one.
    for default in [default_output_device, default_input_device]
        .into_iter()
        .flatten()
    {
        let name = device_name(&default);
        if !devices.iter().any(|d| device_name(d) == name) {
            devices.insert(0, default);
        }
    }
    let listed: Vec<DeviceInfo> = devices
        .into_iter()
        .map(|device| {
            let name = device_name(&device);
            let default_input = default_input.as_deref() == Some(name.as_str());
            let default_output = default_output.as_deref() == Some(name.as_str());
            // ALSA's `default` names neither direction until opened; defaults work both ways.
            let input = device.supports_input() || default_input;
            let output = device.supports_output() || default_output;
            let input_rates = if input {
                rates(
                    device.supported_input_configs().map(|r| r.collect()),
                    device.default_input_config().ok().map(|c| c.sample_rate()),
                )
            } else {
                Vec::new()
            };
            let output_rates = if output {
                rates(
                    device.supported_output_configs().map(|r| r.collect()),
                    device.default_output_config().ok().map(|c| c.sample_rate()),
                )
            } else {
                Vec::new()
            };
            DeviceInfo {
                host: host_name.into(),
                description: device_description(&device),
                input,
                output,
                default_input,
                default_output,
                input_rates,
                output_rates,
                name,
            }
        })
        .collect();
    Ok(listed)
}

fn rates(
    ranges: Result<Vec<SupportedStreamConfigRange>, cpal::Error>,
    default: Option<u32>,
) -> Vec<u32> {
    let ranges = ranges.unwrap_or_default();
    let mut rates: Vec<u32> = COMMON_RATES
        .iter()
        .copied()
        .filter(|rate| ranges.iter().any(|r| r.contains_rate(*rate)))
        .chain(default)
        .collect();
    rates.sort_unstable();
    rates.dedup();
    rates
}
