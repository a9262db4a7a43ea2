//! The speaker: a cpal output stream as an [`AudioSink`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

use super::{
    ChosenConfig, ConfigRefused, DeviceOptions, OPEN_TIMEOUT, StreamHealth, build_with_fallback,
    choose_config, device_error, device_name, find_device, open_host, with_sample_type,
};
use crate::audio::playback::{self, PlaybackMonitor, PlaybackQueue, PlaybackRenderer};
use crate::audio::{AudioError, AudioSink, Direction, FarEnd, Played};
use crate::protocol::AudioFormat;

/// Shortest speaker period asked of PulseAudio, in ms (the server queues two).
const PULSE_MIN_PERIOD_MS: u32 = 20;

/// Longest callback buffer rendered in one piece; longer buffers are rendered in pieces.
const RENDER_BLOCK: Duration = Duration::from_millis(200);

/// Plays the model's audio on a speaker.
///
/// [`AudioSink::play`] decodes, resamples to the device rate and queues into the playback
/// core's lock-free ring; the cpal callback only copies frames out (no locks, no allocation)
/// and stamps them with the time the device says they will be heard (its output latency), so
/// [`SpeakerSink::played`], [`AudioSink::is_playing`] and the half-duplex monitor follow what
/// the listener hears, not what was handed to the device. [`AudioSink::stop`] drops everything
/// not yet handed over and counts what was: the device plays that out within its latency.
pub struct SpeakerSink {
    queue: PlaybackQueue,
    // Dropping the stream stops the callback.
    stream: cpal::Stream,
    health: Arc<StreamHealth>,
    /// The device's output latency at the last callback, in nanoseconds.
    latency_ns: Arc<AtomicU64>,
    host: &'static str,
    device: String,
    is_default: bool,
    chosen: ChosenConfig,
}

impl std::fmt::Debug for SpeakerSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeakerSink")
            .field("host", &self.host)
            .field("device", &self.device)
            .field("config", &self.chosen)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

impl SpeakerSink {
    /// Opens the speaker for audio in `format` and starts the (silent) output stream.
    pub fn open(options: &DeviceOptions, format: AudioFormat) -> Result<Self, AudioError> {
        Self::open_with_capacity(options, format, playback::DEFAULT_CAPACITY)
    }

    /// Like [`open`](Self::open), with a queue holding at most `capacity` of unplayed audio.
    pub fn open_with_capacity(
        options: &DeviceOptions,
        format: AudioFormat,
        capacity: Duration,
    ) -> Result<Self, AudioError> {
        let (host, host_name) = open_host(options.host)?;
        let device = find_device(&host, options.device.as_deref(), Direction::Output)?;
        let name = device_name(&device);
        let wanted_rate = options.sample_rate.unwrap_or(format.sample_rate());
        let requested = options.device.as_deref();
        // cpal's PulseAudio client keeps two periods queued on the server: with 10 ms periods
        // the speaker underruns whenever this process is 10 ms late, which on a busy machine
        // is often, and every underrun moves the echo the canceller has learnt.
        let buffer_ms = if host_name == "pulseaudio" {
            options.buffer_ms.max(PULSE_MIN_PERIOD_MS)
        } else {
            options.buffer_ms
        };
        let chosen = choose_config(
            &device,
            Direction::Output,
            requested,
            wanted_rate,
            buffer_ms,
        )?;
        let health = Arc::new(StreamHealth::default());
        let latency_ns = Arc::new(AtomicU64::new(0));
        let (queue, stream) = with_sample_type!(chosen.format, T => build_with_fallback(chosen, |config| {
            build_stream::<T>(&device, config, format, capacity, health.clone(), latency_ns.clone())
        }), return Err(AudioError::UnsupportedDevice {
            direction: Direction::Output,
            detail: format!("sample format {}", chosen.format),
        }))
        .map_err(|e| match e {
            BuildError::Device(e) => device_error(e, Direction::Output, requested),
            BuildError::Audio(e) => e,
        })?;
        stream
            .play()
            .map_err(|e| device_error(e, Direction::Output, requested))?;
        tracing::debug!(host = host_name, device = %name, config = ?chosen, "speaker open");
        Ok(Self {
            queue,
            stream,
            health,
            latency_ns,
            host: host_name,
            device: name,
            is_default: options.device.is_none(),
            chosen,
        })
    }

    /// The sound system in use (`pulseaudio` or `alsa`).
    pub fn host(&self) -> &str {
        self.host
    }

    /// The device's name.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Whether this is the host's default output (then half-duplex is on by default: it is
    /// probably a loudspeaker).
    pub fn is_default_device(&self) -> bool {
        self.is_default
    }

    /// The device's rate in Hz.
    pub fn device_rate(&self) -> u32 {
        self.chosen.config.sample_rate
    }

    /// The device's channel count.
    pub fn device_channels(&self) -> u16 {
        self.chosen.config.channels
    }

    /// How long audio takes from the callback to the listener, as the device last reported it
    /// (zero until the first callback). [`AudioSink::stop`] already accounts for it.
    pub fn output_latency(&self) -> Duration {
        Duration::from_nanos(self.latency_ns.load(Ordering::Relaxed))
    }

    /// Buffer underruns the sound system reported.
    pub fn underruns(&self) -> u64 {
        self.health.xruns()
    }

    /// What has been heard so far of the item playing now, without stopping.
    pub fn played(&self) -> Option<Played> {
        self.queue.played()
    }
}

/// Why building a stream failed.
enum BuildError {
    Device(cpal::Error),
    Audio(AudioError),
}

impl From<cpal::Error> for BuildError {
    fn from(e: cpal::Error) -> Self {
        BuildError::Device(e)
    }
}

impl ConfigRefused for BuildError {
    fn config_refused(&self) -> bool {
        matches!(self, BuildError::Device(e) if e.config_refused())
    }
}

/// Builds the output stream for samples of type `T`, with a fresh playback queue.
fn build_stream<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    format: AudioFormat,
    capacity: Duration,
    health: Arc<StreamHealth>,
    latency_ns: Arc<AtomicU64>,
) -> Result<(PlaybackQueue, cpal::Stream), BuildError>
where
    T: SizedSample + FromSample<i16>,
{
    let (queue, mut renderer) = playback::playback_channel(format, config.sample_rate, capacity)
        .map_err(BuildError::Audio)?;
    let channels = usize::from(config.channels.max(1));
    let rate = config.sample_rate;
    let block_frames = (u64::from(rate) * RENDER_BLOCK.as_millis() as u64 / 1000).max(1) as usize;
    let mut mono = vec![0i16; block_frames];
    let stream = device.build_output_stream::<T, _, _>(
        config,
        move |data: &mut [T], info: &cpal::OutputCallbackInfo| {
            // Audio thread: no locks, no allocation, no waiting.
            let stamp = info.timestamp();
            let latency = stamp.playback.duration_since(stamp.callback);
            latency_ns.store(latency.as_nanos() as u64, Ordering::Relaxed);
            let mut starts_at = Instant::now() + latency;
            for piece in data.chunks_mut(block_frames * channels) {
                let frames = piece.len() / channels;
                render_piece(
                    &mut renderer,
                    &mut mono[..frames],
                    piece,
                    channels,
                    starts_at,
                );
                starts_at += frames_duration(frames, rate);
            }
        },
        move |error| health.report(error),
        Some(OPEN_TIMEOUT),
    )?;
    Ok((queue, stream))
}

fn render_piece<T: SizedSample + FromSample<i16>>(
    renderer: &mut PlaybackRenderer,
    mono: &mut [i16],
    out: &mut [T],
    channels: usize,
    starts_at: Instant,
) {
    renderer.render(mono, starts_at);
    for (frame, &sample) in out.chunks_exact_mut(channels).zip(mono.iter()) {
        frame.fill(T::from_sample(sample));
    }
}

fn frames_duration(frames: usize, rate: u32) -> Duration {
    Duration::from_nanos(frames as u64 * 1_000_000_000 / u64::from(rate.max(1)))
}

impl AudioSink for SpeakerSink {
    fn play(&mut self, item_id: &str, audio: &[u8]) -> Result<(), AudioError> {
        self.health.check(Direction::Output)?;
        self.queue.play(item_id, audio)
    }

    fn finish_item(&mut self, item_id: &str) -> Result<(), AudioError> {
        self.health.check(Direction::Output)?;
        self.queue.finish_item(item_id)
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
        self.stream
            .pause()
            .map_err(|e| device_error(e, Direction::Output, Some(&self.device)))
    }
}
