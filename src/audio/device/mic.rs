//! The microphone: a capture stream (cpal's, or on PulseAudio one of this crate's own) as an
//! [`AudioSource`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{FromSample, SizedSample};

#[cfg(target_os = "linux")]
use super::pulse_record::PulseRecord;
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

/// The stream that captures: cpal's, or on PulseAudio one of this crate's own
/// ([`PulseRecord`] says why).
enum Capture {
    Cpal(#[allow(dead_code)] cpal::Stream),
    #[cfg(target_os = "linux")]
    Pulse(#[allow(dead_code)] PulseRecord),
}

impl Capture {
    /// Which stream it is, for the log.
    fn kind(&self) -> &'static str {
        match self {
            Capture::Cpal(_) => "cpal",
            #[cfg(target_os = "linux")]
            Capture::Pulse(_) => "own PulseAudio record stream",
        }
    }
}

/// Captures from a microphone and yields session-format frames.
///
/// On PulseAudio the stream is a record stream of this crate's own (`PulseRecord`: its
/// server-side queue holds 2 s, so a late server delivers late instead of dropping audio);
/// elsewhere, or when that stream cannot be opened, it is cpal's. The stream's callback mixes
/// to mono and pushes into a bounded lock-free ring (it never blocks or locks); audio that does
/// not fit is dropped and counted ([`AudioSource::dropped_ms`]). [`AudioSource::next_frame`]
/// drains the ring, runs the echo hook, resamples, encodes and cuts frames.
pub struct MicSource {
    // Dropping the stream stops the callback; keep it first so it goes before the ring.
    _stream: Capture,
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
        // PulseAudio's own clients get 25 ms fragments by default; so does this one, whose
        // record stream is this crate's own (`PulseRecord`: cpal's loses audio whenever the
        // server is late). cpal's, the fallback, drops audio more often with shorter periods:
        // with 10 ms ones a busy machine lost 1-2% of it.
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
        let new_writer = |config: &cpal::StreamConfig| {
            CaptureWriter::new(capacity, config, clock.clone(), dropped_frames.clone())
        };
        #[cfg(target_os = "linux")]
        let own = if host_name == "pulseaudio" {
            let (writer, ring) = new_writer(&chosen.config);
            match PulseRecord::open(&name, &chosen.config, writer, health.clone()) {
                Ok(stream) => Some((Capture::Pulse(stream), ring)),
                Err(error) => {
                    tracing::debug!(%error, "no record stream of our own; using cpal's");
                    None
                }
            }
        } else {
            None
        };
        #[cfg(not(target_os = "linux"))]
        let own = None;
        let (stream, ring) = match own {
            Some(opened) => opened,
            None => {
                let (stream, ring) =
                    with_sample_type!(chosen.format, T => build_with_fallback(chosen, |config| {
                        let (writer, ring) = new_writer(&config);
                        build_stream::<T>(&device, config, writer, health.clone()).map(|s| (s, ring))
                    }), return Err(AudioError::UnsupportedDevice {
                        direction: Direction::Input,
                        detail: format!("sample format {}", chosen.format),
                    }))
                    .map_err(|e| device_error(e, Direction::Input, requested))?;
                stream
                    .play()
                    .map_err(|e| device_error(e, Direction::Input, requested))?;
                (Capture::Cpal(stream), ring)
            }
        };
        tracing::debug!(
            host = host_name,
            device = %name,
            config = ?chosen,
            stream = stream.kind(),
            "microphone open"
        );
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

/// The audio thread's end of the microphone: mixes captured frames to mono into the ring,
/// counts what does not fit, and dates what it wrote on the stream's clock.
pub(super) struct CaptureWriter {
    producer: rtrb::Producer<f32>,
    channels: usize,
    rate: u64,
    written: u64,
    clock: Arc<StreamClock>,
    dropped: Arc<AtomicU64>,
}

impl CaptureWriter {
    /// A writer for a stream of `config`, into a fresh ring of `capacity` frames, and the
    /// ring's reading end.
    fn new(
        capacity: usize,
        config: &cpal::StreamConfig,
        clock: Arc<StreamClock>,
        dropped: Arc<AtomicU64>,
    ) -> (Self, rtrb::Consumer<f32>) {
        let (producer, consumer) = rtrb::RingBuffer::new(capacity.max(1));
        let writer = Self {
            producer,
            channels: usize::from(config.channels.max(1)),
            rate: u64::from(config.sample_rate.max(1)),
            written: 0,
            clock,
            dropped,
        };
        (writer, consumer)
    }

    /// The channels of the frames [`write`](Self::write) takes.
    pub(super) fn channels(&self) -> usize {
        self.channels
    }

    /// Writes the interleaved frames in `data`, the first of them captured at `captured`.
    /// Audio thread: no locks, no allocation, no waiting.
    pub(super) fn write<T>(&mut self, data: &[T], captured: Instant)
    where
        T: SizedSample,
        f32: FromSample<T>,
    {
        let frames = data.len() / self.channels;
        let room = frames.min(self.producer.slots());
        let scale = 1.0 / self.channels as f32;
        if let Ok(chunk) = self.producer.write_chunk_uninit(room) {
            chunk.fill_from_iter(
                data.chunks_exact(self.channels)
                    .map(|frame| frame.iter().map(|s| s.to_sample::<f32>()).sum::<f32>() * scale),
            );
        }
        self.written += room as u64;
        // Date the last frame written (for the echo canceller's alignment).
        let span = Duration::from_nanos(room as u64 * 1_000_000_000 / self.rate);
        self.clock.mark(self.written, captured + span);
        if room < frames {
            self.dropped
                .fetch_add((frames - room) as u64, Ordering::Relaxed);
        }
    }
}

/// Builds the input stream for samples of type `T`.
fn build_stream<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut writer: CaptureWriter,
    health: Arc<StreamHealth>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], info: &cpal::InputCallbackInfo| {
            // The first frame was captured `callback - capture` ago.
            let stamp = info.timestamp();
            let age = stamp.callback.duration_since(stamp.capture);
            let now = Instant::now();
            writer.write(data, now.checked_sub(age).unwrap_or(now));
        },
        move |error| health.report(error),
        Some(OPEN_TIMEOUT),
    )
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
