//! CPU time per minute of two-way audio through the whole agent path, and the latency it adds.
//!
//! The agent (one runtime thread, named `agent`) streams one minute of microphone audio
//! (48 kHz stereo `f32`, as a device gives it: mixed, resampled, PCM16-encoded, base64, JSON,
//! WebSocket) to a fake server on its own thread, and plays one minute of answer audio from it
//! (WebSocket, JSON, base64, decode, resample to 48 kHz, the playback ring, pulled as a device
//! would). CPU is read per thread from /proc, so only the agent's threads count.
//!
//! Run: `cargo bench --bench voice_path`

use std::time::{Duration, Instant};

use realtime_agent::agent::{Agent, AgentEvent};
use realtime_agent::audio::{ChannelSink, ChannelSource};
use realtime_agent::protocol::{AudioFormat, SessionConfig};
use realtime_agent::testing::{FakeServer, Reply};

/// CPU seconds used so far by this process's threads whose name starts with `prefix`
/// (`/proc/self/task/*/schedstat`: nanoseconds on a CPU, user and system).
fn thread_cpu(prefix: &str) -> f64 {
    let mut total_ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if !comm.trim().starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        total_ns += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    total_ns as f64 / 1e9
}

fn pcm_tone(ms: usize) -> Vec<u8> {
    (0..24 * ms)
        .flat_map(|i| {
            let v = 0.2 * (i as f64 * std::f64::consts::TAU * 220.0 / 24000.0).sin();
            ((v * 32767.0) as i16).to_le_bytes()
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let minutes: usize = std::env::var("MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(5);
    // DEVICE=48k-stereo (the default: a typical device, converted in-process) or DEVICE=24k-mono
    // (the device opened at the session's rate, as the microphone and speaker code prefer when
    // the sound server offers it).
    let (device_rate, device_channels): (u32, usize) = match std::env::var("DEVICE").as_deref() {
        Ok("24k-mono") => (24_000, 1),
        _ => (48_000, 2),
    };
    let server_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = std::sync::Arc::new(
        server_runtime.block_on(
            FakeServer::builder()
                .record_payloads(false)
                .keep_input_audio(false)
                .start(),
        ),
    );
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let server_thread = std::thread::Builder::new()
        .name("fake-server".into())
        .spawn(move || {
            server_runtime.block_on(async move {
                tokio::task::spawn_blocking(move || stop_rx.recv())
                    .await
                    .ok();
            })
        })
        .unwrap();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The runtime runs on the main thread: name it so its CPU is counted.
    std::fs::write("/proc/self/comm", "agent").ok();
    runtime.block_on(async move {
        let (source, feeder) = ChannelSource::new(AudioFormat::Pcm16, 20, 64).unwrap();
        let (sink, mut player) =
            ChannelSink::with_rate(AudioFormat::Pcm16, device_rate, Duration::from_secs(300))
                .unwrap();
        let agent = Agent::builder()
            .url(server.url())
            .session(SessionConfig {
                // The server's turn detection would answer our tone; turns are driven here.
                turn_detection: Some(None),
                ..SessionConfig::default()
            })
            .audio_events(false)
            .audio_source(source)
            .audio_sink(sink)
            .build()
            .unwrap();
        let handle = agent.handle();
        let mut events = handle.subscribe(1 << 16);
        let task = tokio::spawn(agent.run());
        loop {
            if let Some(AgentEvent::Ready { .. }) = events.recv().await {
                break;
            }
        }

        // Uplink: one minute of 48 kHz stereo microphone audio in 10 ms device callbacks.
        let frames_per_callback = device_rate as usize / 100;
        let callback: Vec<f32> = (0..frames_per_callback)
            .flat_map(|i| {
                let v = 0.3 * (i as f32 * std::f32::consts::TAU * 440.0 / device_rate as f32).sin();
                std::iter::repeat_n(v, device_channels)
            })
            .collect();
        let frames_per_minute = 3000; // 20 ms frames
        let before = thread_cpu("agent");
        let start = Instant::now();
        for _ in 0..minutes * 6000 {
            feeder.push_f32(&callback, device_rate, device_channels as u16).await.unwrap();
        }
        let appends = |s: &FakeServer| s.count_received("input_audio_buffer.append");
        let deadline = Instant::now() + Duration::from_secs(60);
        // The resampler holds back a few milliseconds: the very last frame stays incomplete.
        while appends(&server) < minutes * frames_per_minute - 1 {
            assert!(Instant::now() < deadline, "only {} of {} appends arrived", appends(&server), minutes * frames_per_minute);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let uplink_cpu = thread_cpu("agent") - before;
        let uplink_wall = start.elapsed();

        // Downlink: one minute of answer audio in 50 ms deltas, played at 48 kHz.
        let answer = pcm_tone(60_000 * minutes);
        let before = thread_cpu("agent");
        let start = Instant::now();
        server.start_response(Reply::audio("a long answer", answer).chunked(2400));
        let total_frames = device_rate as usize * 60 * minutes;
        let mut pulled = 0usize;
        let mut buffer = vec![0i16; 480];
        while pulled < total_frames {
            let n = player.pull(&mut buffer);
            pulled += n;
            if n == 0 {
                // Wait for more without spinning (spinning would be counted as our CPU).
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let downlink_cpu = thread_cpu("agent") - before;
        let downlink_wall = start.elapsed();

        // Latency: one 20 ms frame from the feeder to the server; one delta from the server to
        // the sink. Measured one at a time after an idle moment, as in a conversation.
        let mut uplink_latency = Vec::new();
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let count = appends(&server);
            let sent = Instant::now();
            feeder.push_f32(&callback, device_rate, device_channels as u16).await.unwrap();
            feeder.push_f32(&callback, device_rate, device_channels as u16).await.unwrap();
            server
                .wait_until("append", Duration::from_secs(5), |s| appends(s) > count)
                .await;
            uplink_latency.push(sent.elapsed());
        }
        let mut downlink_latency = Vec::new();
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let sent = Instant::now();
            server.start_response(Reply::audio("ok", pcm_tone(20)));
            loop {
                if player.queued() > 0 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            downlink_latency.push(sent.elapsed());
            while player.pull(&mut buffer) > 0 {}
            loop {
                match events.recv().await {
                    Some(AgentEvent::ResponseDone { .. }) => break,
                    Some(_) => {}
                    None => return,
                }
            }
        }

        let per_minute = |cpu: f64| cpu / minutes as f64 * 1000.0;
        println!(
            "voice path through the agent (agent thread CPU only), {minutes} min each way, device {} Hz × {}:",
            device_rate, device_channels
        );
        println!(
            "  uplink   (device f32 -> 24k PCM16 -> base64 JSON -> WebSocket): {:.1} ms CPU per audio minute ({:.3}% of a core); wall {:.2} s",
            per_minute(uplink_cpu),
            per_minute(uplink_cpu) / 600.0,
            uplink_wall.as_secs_f64()
        );
        println!(
            "  downlink (WebSocket -> JSON -> base64 -> PCM16 -> device-rate playback ring -> pulled): {:.1} ms CPU per audio minute ({:.3}% of a core); wall {:.2} s",
            per_minute(downlink_cpu),
            per_minute(downlink_cpu) / 600.0,
            downlink_wall.as_secs_f64()
        );
        println!(
            "  both ways: {:.1} ms CPU per minute of two-way audio = {:.3} CPU-seconds",
            per_minute(uplink_cpu + downlink_cpu),
            per_minute(uplink_cpu + downlink_cpu) / 1000.0
        );
        println!(
            "  latency: microphone callback -> server has the append: median {:.0} µs (includes the 20 ms frame being filled by two 10 ms callbacks at once)",
            median(uplink_latency).as_secs_f64() * 1e6
        );
        println!(
            "  latency: response started on the server -> first audio queued in the sink: median {:.0} µs",
            median(downlink_latency).as_secs_f64() * 1e6
        );
        handle.shutdown();
        let _ = task.await;
    });
    stop_tx.send(()).ok();
    server_thread.join().unwrap();
}
