//! The microphone on PulseAudio through a record stream of this crate's own, on the same
//! pure-Rust client cpal uses.
//!
//! cpal's PulseAudio host asks for a server-side record queue exactly one period long
//! (`maxlength` = `fragsize`). The server's main thread moves captured audio from that queue
//! to the client's socket; whenever that thread runs more than a period late, the audio that
//! no longer fits is dropped, and the client is not told. The PulseAudio daemon is an ordinary
//! process, so on a busy machine it is late now and then. Each loss moves the echo earlier
//! against the playback signal, and the echo canceller has to find it again. Measured on the
//! test sandbox: a server stopped for 80 ms once a second lost 475 ms of 10 s through cpal's
//! 25 ms queue, and nothing through a queue of [`QUEUE`]. So this stream asks for fragments of
//! one period, as cpal does, but a queue of [`QUEUE`]: a late server delivers late, all of it.
//! The client's own lateness never lost audio (the socket holds it).
//!
//! Capture times come from counting: nothing is lost, so frame `n` was captured `n / rate`
//! after frame 0. When frame 0 was captured is the earliest of what each delivery implies: its
//! last frame arrived no sooner than the source's latency after it was captured, and
//! deliveries are only ever later than that, never earlier. The earliest is taken over the last
//! [`ORIGIN_WINDOW`] or two, so that the drift between the sound card's clock and the system's
//! is followed.

use std::ffi::CString;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use pulseaudio::protocol::{self, ChannelMap, SampleFormat, SampleSpec};

use super::mic::CaptureWriter;
use super::{OPEN_TIMEOUT, StreamHealth};

/// The server-side record queue: how late the server may be before it drops captured audio.
pub(super) const QUEUE: Duration = Duration::from_secs(2);

/// The period asked for when the configuration leaves it to the device.
const DEFAULT_PERIOD: Duration = Duration::from_millis(25);

/// How often the source's latency is asked for (it changes only when the device does).
const POLL_EVERY: Duration = Duration::from_secs(1);

/// How long the earliest implied capture time of frame 0 is kept before it may rise.
const ORIGIN_WINDOW: Duration = Duration::from_secs(5);

/// A running record stream from one PulseAudio source into a [`CaptureWriter`].
pub(super) struct PulseRecord {
    stream: pulseaudio::RecordStream,
    stop: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
}

impl PulseRecord {
    /// Opens a record stream from the source `source` at `config`'s rate and channels, and
    /// starts it. Failures of the running stream go to `health`.
    pub(super) fn open(
        source: &str,
        config: &cpal::StreamConfig,
        writer: CaptureWriter,
        health: Arc<StreamHealth>,
    ) -> Result<Self, String> {
        let channel_map = match config.channels {
            1 => ChannelMap::mono(),
            2 => ChannelMap::stereo(),
            n => return Err(format!("{n} channels")),
        };
        let spec = SampleSpec {
            format: SampleFormat::Float32Le,
            channels: config.channels as u8,
            sample_rate: config.sample_rate,
        };
        let rate = u64::from(config.sample_rate.max(1));
        let frame_bytes = u64::from(config.channels) * 4;
        let period_frames = match config.buffer_size {
            cpal::BufferSize::Fixed(frames) => u64::from(frames),
            cpal::BufferSize::Default => rate * DEFAULT_PERIOD.as_millis() as u64 / 1000,
        };
        let queue_frames = rate * QUEUE.as_millis() as u64 / 1000;
        let params = protocol::RecordStreamParams {
            sample_spec: spec,
            channel_map,
            source_name: Some(CString::new(source).map_err(|e| e.to_string())?),
            buffer_attr: protocol::stream::BufferAttr {
                max_length: (queue_frames.max(period_frames) * frame_bytes) as u32,
                fragment_size: (period_frames * frame_bytes) as u32,
                ..Default::default()
            },
            flags: protocol::stream::StreamFlags {
                // The source runs at the period's latency, as cpal's fixed-size streams ask.
                adjust_latency: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let client = pulseaudio::Client::from_env(c"realtime-agent").map_err(|e| e.to_string())?;
        let source_latency = Arc::new(AtomicU64::new(0));
        let callback = deliveries(writer, rate, source_latency.clone());
        let stream = block_on(client.create_record_stream(params, callback), OPEN_TIMEOUT)
            .ok_or("the server did not answer")?
            .map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let poller = {
            let stream = stream.clone();
            let stop = stop.clone();
            thread::Builder::new()
                .name("pulse-record-latency".into())
                .spawn(move || poll_latency(&stream, &source_latency, &stop, &health))
                .map_err(|e| e.to_string())?
        };
        Ok(Self {
            stream,
            stop,
            poller: Some(poller),
        })
    }
}

impl Drop for PulseRecord {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(poller) = self.poller.take() {
            poller.thread().unpark();
            let _ = poller.join();
        }
        // Deleting the stream stops the deliveries; the reactor keeps no other reference to
        // the writer once the server confirms.
        let _ = block_on(self.stream.clone().delete(), Duration::from_secs(1));
    }
}

/// The callback for the stream's deliveries: dates them (see the module's docs) and writes
/// them to `writer`. Runs on the client's reactor thread.
fn deliveries(
    mut writer: CaptureWriter,
    rate: u64,
    source_latency: Arc<AtomicU64>,
) -> impl FnMut(&[u8]) + Send + 'static {
    let base = Instant::now();
    let mut frames = 0u64;
    let mut samples: Vec<f32> = Vec::new();
    // The earliest implied capture time of frame 0 in this window and the last, in
    // nanoseconds after `base` (negative: before it).
    let mut window_start = base;
    let mut earliest = i128::MAX;
    let mut earlier_window = i128::MAX;
    let channels = writer.channels() as u64;
    move |bytes: &[u8]| {
        let now = Instant::now();
        samples.clear();
        samples.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        let count = samples.len() as u64 / channels;
        let end = frames + count;
        let to_nanos = |frames: u64| i128::from(frames) * 1_000_000_000 / i128::from(rate);
        let latency = i128::from(source_latency.load(Ordering::Relaxed)) * 1_000;
        let arrived = now.duration_since(base).as_nanos() as i128;
        if now.duration_since(window_start) >= ORIGIN_WINDOW {
            earlier_window = earliest;
            earliest = i128::MAX;
            window_start = now;
        }
        earliest = earliest.min(arrived - latency - to_nanos(end));
        let origin = earliest.min(earlier_window);
        let first = origin + to_nanos(frames);
        let captured = if first >= 0 {
            base + Duration::from_nanos(first as u64)
        } else {
            base.checked_sub(Duration::from_nanos(first.unsigned_abs() as u64))
                .unwrap_or(base)
        };
        writer.write(&samples, captured);
        frames = end;
    }
}

/// Asks for the source's latency every [`POLL_EVERY`] until `stop`; a server that stops
/// answering or goes away fails the stream.
fn poll_latency(
    stream: &pulseaudio::RecordStream,
    source_latency: &AtomicU64,
    stop: &AtomicBool,
    health: &StreamHealth,
) {
    while !stop.load(Ordering::Relaxed) {
        match block_on(stream.timing_info(), OPEN_TIMEOUT) {
            Some(Ok(timing)) => source_latency.store(timing.source_usec, Ordering::Relaxed),
            Some(Err(error)) => {
                if !stop.load(Ordering::Relaxed) {
                    health.fail(format!(
                        "lost the PulseAudio server ({error}); is it still running?"
                    ));
                }
                return;
            }
            None if stop.load(Ordering::Relaxed) => return,
            None => {
                health.fail(format!(
                    "the PulseAudio server did not answer for {} s",
                    OPEN_TIMEOUT.as_secs()
                ));
                return;
            }
        }
        thread::park_timeout(POLL_EVERY);
    }
}

/// Wakes the thread that waits in [`block_on`].
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `future` on this thread until it is ready or `timeout` has passed (`None`). The
/// client's futures are driven by its reactor thread; this only waits for them.
fn block_on<F: Future>(future: F, timeout: Duration) -> Option<F::Output> {
    let deadline = Instant::now() + timeout;
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return Some(output);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        thread::park_timeout(left);
    }
}
