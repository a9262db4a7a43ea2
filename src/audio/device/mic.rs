//! The microphone: a cpal input stream as an [`AudioSource`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

use super::{
    ChosenConfig, DeviceOptions, OPEN_TIMEOUT, StreamHealth, build_with_fallback, choose_config,
    device_error, device_name, find_device, open_host, with_sample_type,
};
use crate::audio::capture::CaptureEncoder;
use crate::audio::echo::{EchoCanceller, FarEnd, StreamClock};
use crate::audio::{AudioError, AudioSource, Direction};
use crate::protocol::AudioFormat;

/// How much captured audio waits for the agent before new audio is dropped (and counted).
const CAPTURE_BUFFER: Duration = Duration::from_secs(2);

/// Shortest microphone period asked of PulseAudio, in ms.
const PULSE_MIN_PERIOD_MS: u32 = 25;

/// How often [`MicSource::next_frame`] looks for new audio while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Captures from a microphone and yields session-format frames.
///
/// The cpal callback mixes to mono and pushes into a bounded lock-free ring (it never blocks,
/// locks or allocates); audio that does not fit is dropped and counted
/// ([`AudioSource::dropped_ms`]). [`AudioSource::next_frame`] drains the ring, runs the echo
/// hook, resamples, encodes and cuts frames.
pub struct MicSource {
    // Dropping the stream stops the callback; keep it first so it goes before the ring.
    _stream: cpal::Stream,
    ring: rtrb::Consumer<f32>,
    /// When the frames written into `ring` were captured, by the device's timestamps.
    clock: Arc<StreamClock>,
    /// Frames read from `ring` so far.
    read: u64,
    encoder: CaptureEncoder,
    block: Vec<f32>,
    dropped_frames: Arc<AtomicU64>,
    health: Arc<StreamHealth>,
    host: &'static str,
    device: String,
    chosen: ChosenConfig,
}

impl std::fmt::Debug for MicSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicSource")
            .field("host", &self.host)
            .field("device", &self.device)
            .field("config", &self.chosen)
            .field("encoder", &self.encoder)
            .finish_non_exhaustive()
    }
}

impl MicSource {
    /// Opens the microphone for frames of `frame_ms` milliseconds of `format`, and starts
    /// capturing.
    pub fn open(
        options: &DeviceOptions,
        format: AudioFormat,
        frame_ms: u32,
    ) -> Result<Self, AudioError> {
        let (host, host_name) = open_host(options.host)?;
        let device = find_device(&host, options.device.as_deref(), Direction::Input)?;
        let name = device_name(&device);
        let wanted_rate = options.sample_rate.unwrap_or(format.sample_rate());
        let requested = options.device.as_deref();
        // cpal's PulseAudio client makes the period the server's whole queue for the stream
        // (`maxlength` = `fragsize`): whenever this process is a period late, the server drops
        // captured audio. With 10 ms periods a busy machine lost 1-2% of it, which moves the
        // echo against the playback signal all the time. PulseAudio's own clients get 25 ms
        // fragments by default; so does this one.
        let buffer_ms = if host_name == "pulseaudio" {
            options.buffer_ms.max(PULSE_MIN_PERIOD_MS)
        } else {
            options.buffer_ms
        };
        let chosen = choose_config(&device, Direction::Input, requested, wanted_rate, buffer_ms)?;
        let rate = chosen.config.sample_rate;
        let encoder = CaptureEncoder::new(rate, format, frame_ms)?;
        let capacity = (u64::from(rate) * CAPTURE_BUFFER.as_millis() as u64 / 1000) as usize;
        let dropped_frames = Arc::new(AtomicU64::new(0));
        let health = Arc::new(StreamHealth::default());
        let clock = Arc::new(StreamClock::new());
        let (stream, ring) =
            with_sample_type!(chosen.format, T => build_with_fallback(chosen, |config| {
                build_stream::<T>(&device, config, capacity, dropped_frames.clone(), health.clone(), clock.clone())
            }), return Err(AudioError::UnsupportedDevice {
                direction: Direction::Input,
                detail: format!("sample format {}", chosen.format),
            }))
            .map_err(|e| device_error(e, Direction::Input, requested))?;
        stream
            .play()
            .map_err(|e| device_error(e, Direction::Input, requested))?;
        tracing::debug!(host = host_name, device = %name, config = ?chosen, "microphone open");
        Ok(Self {
            _stream: stream,
            ring,
            clock,
            read: 0,
            encoder,
            block: Vec::with_capacity(capacity),
            dropped_frames,
            health,
            host: host_name,
            device: name,
            chosen,
        })
    }

    /// Runs `canceller` on the captured audio before it is resampled, with the playback signal
    /// from `far_end` (from [`AudioSink::far_end`](crate::audio::AudioSink::far_end)) and the
    /// capture times the device reports, so the canceller can line the two up.
    pub fn set_echo_canceller(
        &mut self,
        canceller: Box<dyn EchoCanceller>,
        far_end: Option<FarEnd>,
    ) {
        self.encoder.set_echo_canceller(canceller, far_end);
    }

    /// The sound system in use (`pulseaudio` or `alsa`).
    pub fn host(&self) -> &str {
        self.host
    }

    /// The device's name.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// The device's rate in Hz.
    pub fn device_rate(&self) -> u32 {
        self.chosen.config.sample_rate
    }

    /// The device's channel count.
    pub fn device_channels(&self) -> u16 {
        self.chosen.config.channels
    }

    /// Buffer overruns the sound system reported.
    pub fn overruns(&self) -> u64 {
        self.health.xruns()
    }

    /// Moves what the callback captured into the encoder; false when there was nothing.
    fn drain_ring(&mut self) -> bool {
        let available = self.ring.slots();
        if available == 0 {
            return false;
        }
        self.block.clear();
        if let Ok(chunk) = self.ring.read_chunk(available) {
            let (a, b) = chunk.as_slices();
            self.block.extend_from_slice(a);
            self.block.extend_from_slice(b);
            chunk.commit_all();
            self.read += available as u64;
        }
        let captured = self
            .clock
            .time_of(self.read, self.chosen.config.sample_rate);
        self.encoder.push_captured(&self.block, captured);
        true
    }
}

/// Builds the input stream for samples of type `T`, with a fresh ring of `capacity` frames.
fn build_stream<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    capacity: usize,
    dropped: Arc<AtomicU64>,
    health: Arc<StreamHealth>,
    clock: Arc<StreamClock>,
) -> Result<(cpal::Stream, rtrb::Consumer<f32>), cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let scale = 1.0 / channels as f32;
    let rate = u64::from(config.sample_rate.max(1));
    let (mut producer, consumer) = rtrb::RingBuffer::new(capacity.max(1));
    let mut written = 0u64;
    let stream =
        device.build_input_stream::<T, _, _>(
            config,
            move |data: &[T], info: &cpal::InputCallbackInfo| {
                // Audio thread: no locks, no allocation, no waiting.
                let frames = data.len() / channels;
                let room = frames.min(producer.slots());
                if let Ok(chunk) = producer.write_chunk_uninit(room) {
                    chunk.fill_from_iter(data.chunks_exact(channels).map(|frame| {
                        frame.iter().map(|s| s.to_sample::<f32>()).sum::<f32>() * scale
                    }));
                }
                written += room as u64;
                // The first frame was captured `callback - capture` ago; date the last one
                // written (for the echo canceller's alignment).
                let stamp = info.timestamp();
                let age = stamp.callback.duration_since(stamp.capture);
                let span = Duration::from_nanos(room as u64 * 1_000_000_000 / rate);
                let now = Instant::now();
                clock.mark(written, now.checked_sub(age).unwrap_or(now) + span);
                if room < frames {
                    dropped.fetch_add((frames - room) as u64, Ordering::Relaxed);
                }
            },
            move |error| health.report(error),
            Some(OPEN_TIMEOUT),
        )?;
    Ok((stream, consumer))
}

#[async_trait]
impl AudioSource for MicSource {
    async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, AudioError> {
        loop {
            if let Some(frame) = self.encoder.next_frame() {
                return Ok(Some(frame));
            }
            self.health.check(Direction::Input)?;
            if !self.drain_ring() {
                // The callback cannot wake a task without locking, so poll; 5 ms is a
                // quarter of a frame and costs nothing measurable.
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        }
    }

    fn dropped_ms(&self) -> u64 {
        self.dropped_frames.load(Ordering::Relaxed) * 1000
            / u64::from(self.chosen.config.sample_rate.max(1))
    }
}
