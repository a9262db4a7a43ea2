//! Echo cancellation on open speakers, in real time, on a private PulseAudio server: what the
//! speaker plays comes back into the microphone through a `module-loopback` (60 or 150 ms, at a
//! laptop-like -10 dB), the simulated model answers in real speech (espeak-ng, `--sim-voice`),
//! and its level-based turn detection plays the part of the server's VAD. What the agent sent
//! upstream comes from `--record --record-audio`; what the microphone heard from `parec`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::support::Scratch;
use super::voice::{Pulse, lines, until};

/// Recordings are made at this rate, mono PCM16.
const REC_RATE: usize = 24_000;

/// The echo's gain from speaker to microphone, like a laptop's (-10 dB).
const ECHO_GAIN: &str = "0.316";

/// The assistant's answer: about 20 seconds of speech.
const ANSWER: &str = "Here is the long answer you asked for. The weather today is mild with a \
    light breeze from the west, and tomorrow brings some rain in the afternoon. If you are \
    planning a walk, the morning is the best time, while the evening stays cool and clear. The \
    weekend looks sunny on Saturday and cloudy on Sunday, with temperatures a little above the \
    season's average. Sunrise is a quarter to seven and sunset a quarter past eight.";

/// The user, talking over the answer.
const USER: &str = "Wait, stop, I have a different question about the train.";

/// One run's room: the device format, the echo's delay, and the agent's settings.
struct Room {
    rate: u32,
    channels: u16,
    echo_ms: u32,
    /// `[audio]` lines for agent.toml.
    audio: &'static str,
    /// When the user talks over the answer, after its start.
    user_after: Option<Duration>,
}

/// What happened in one run.
struct Outcome {
    stderr: Vec<String>,
    /// Unix seconds when the answer started to be heard on the speaker.
    answer_start: f64,
    answer_seconds: f64,
    /// Unix seconds when the user's speech started, if the user talked.
    user_onset: Option<f64>,
    /// Unix seconds of each `input_audio_buffer.speech_started` received.
    speech_started: Vec<f64>,
    /// Unix seconds and `audio_end_ms` of each `conversation.item.truncate` sent.
    truncates: Vec<(f64, u64)>,
    /// What the speaker played (24 kHz mono), and when its first sample was heard.
    speaker: (Vec<f32>, f64),
    /// What the microphone heard (24 kHz mono), and when.
    mic: (Vec<f32>, f64),
    /// Each upstream sample with the Unix time it was sent.
    upstream: Vec<(f64, f32)>,
}

fn unix(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn now() -> f64 {
    unix(SystemTime::now())
}

fn pcm16(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(2)
        .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect()
}

fn power(x: impl IntoIterator<Item = f32>) -> f64 {
    let (sum, n) = x.into_iter().fold((0.0f64, 0usize), |(s, n), v| {
        (s + f64::from(v).powi(2), n + 1)
    });
    sum / n.max(1) as f64
}

fn db(ratio: f64) -> f64 {
    10.0 * ratio.max(1e-15).log10()
}

/// espeak-ng speech as a WAV file at its own rate (22.05 kHz mono).
fn espeak(scratch: &Scratch, name: &str, voice: &str, text: &str) -> PathBuf {
    let path = scratch.path(name);
    let ok = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng is needed: apt-get install espeak-ng")
        .success();
    assert!(ok, "espeak-ng failed");
    path
}

/// Seconds of `path`, and the offset of its first 10 ms above -36 dBFS (where a VAD hears it).
fn wav_timing(path: &Path) -> (f64, f64) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let rate = reader.spec().sample_rate as usize;
    let samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    let onset = samples
        .chunks(rate / 100)
        .position(|w| power(w.iter().copied()).sqrt() > 0.016)
        .unwrap_or(0);
    (samples.len() as f64 / rate as f64, onset as f64 * 0.01)
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Records `source` (24 kHz mono PCM16) into `path`; returns the recorder and when it started.
fn parec(pulse: &Pulse, source: &str, path: &Path) -> (KillOnDrop, f64) {
    let started = now();
    let child = pulse
        .command("parec")
        .args([
            &format!("--device={source}"),
            "--format=s16le",
            "--rate=24000",
            "--channels=1",
            "--raw",
            "--latency-msec=10",
        ])
        .stdout(std::fs::File::create(path).unwrap())
        .spawn()
        .expect("parec starts");
    (KillOnDrop(child), started)
}

/// Routes what the speaker plays back into the microphone, `ms` later and at a laptop's gain.
fn loopback(pulse: &Pulse, ms: u32) {
    let out = pulse
        .command("pactl")
        .args([
            "load-module",
            "module-loopback",
            "source=speaker.monitor",
            "sink=mic",
            &format!("latency_msec={ms}"),
            "source_dont_move=true",
            "sink_dont_move=true",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "module-loopback does not load");
    let module = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let inputs = pulse
        .command("pactl")
        .args(["list", "short", "sink-inputs"])
        .output()
        .unwrap();
    let inputs = String::from_utf8(inputs.stdout).unwrap();
    let input = inputs
        .lines()
        .find(|l| l.contains("module-loopback"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no sink input of the loopback (module {module}): {inputs}"))
        .to_owned();
    let ok = pulse
        .command("pactl")
        .args(["set-sink-input-volume", &input, ECHO_GAIN])
        .status()
        .unwrap()
        .success();
    assert!(ok, "the loopback's volume cannot be set");
}

/// A HOME (and XDG directories) of the agent's own, with a cookie for the sound server (the
/// test server accepts anyone; the client wants a cookie file to send).
fn agent_home(scratch: &Scratch) -> Vec<(String, String)> {
    let home = scratch.path("home");
    let pulse = home.join(".config/pulse");
    std::fs::create_dir_all(&pulse).unwrap();
    std::fs::write(pulse.join("cookie"), [7u8; 256]).unwrap();
    let runtime = home.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    vec![
        ("HOME".into(), home.display().to_string()),
        (
            "XDG_CONFIG_HOME".into(),
            home.join(".config").display().to_string(),
        ),
        ("XDG_RUNTIME_DIR".into(), runtime.display().to_string()),
        ("RUST_LOG".into(), "realtime_agent=debug".into()),
    ]
}

/// The first time a 20 ms window of `samples` (starting at `start`) is above -40 dBFS.
fn onset(samples: &[f32], start: f64) -> Option<f64> {
    samples
        .chunks(REC_RATE / 50)
        .position(|w| power(w.iter().copied()).sqrt() > 0.01)
        .map(|i| start + i as f64 * 0.02)
}

/// Plays one spoken answer in the room, with the user talking over it if `room` says so.
async fn answer_in(room: Room) -> Outcome {
    let pulse = Pulse::start_with(room.rate, room.channels);
    loopback(&pulse, room.echo_ms);
    let scratch = Scratch::new();
    let answer = espeak(&scratch, "answer.wav", "en-us", ANSWER);
    let (answer_seconds, _) = wav_timing(&answer);
    let user = espeak(&scratch, "user.wav", "en-gb+m3", USER);
    let (_, user_lead_in) = wav_timing(&user);
    let config = scratch.config(&format!(
        "[audio]\nhost = \"pulseaudio\"\n{}\n\n\
         [turn_detection]\ntype = \"server_vad\"\nsilence_duration_ms = 500\n",
        room.audio
    ));
    let record = scratch.path("session.jsonl");
    let env = agent_home(&scratch);
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = pulse.server();
    env.push(("PULSE_SERVER", &server));
    let mut child = scratch
        .command(
            &[
                "--sim",
                "--sim-voice",
                answer.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
                "--record",
                record.to_str().unwrap(),
                "--record-audio",
            ],
            &env,
        )
        .spawn()
        .expect("the agent starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = lines(child.stdout.take().unwrap());
    let mut stderr = lines(child.stderr.take().unwrap());
    let (mut out_seen, mut err_seen) = (Vec::new(), Vec::new());
    until(&mut stderr, &mut err_seen, "the invitation to speak", |l| {
        l.starts_with("speak when ready")
    })
    .await;

    let speaker_path = scratch.path("speaker.raw");
    let mic_path = scratch.path("mic.raw");
    let (speaker_rec, speaker_start) = parec(&pulse, "speaker.monitor", &speaker_path);
    let (mic_rec, mic_start) = parec(&pulse, "mic.monitor", &mic_path);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    use tokio::io::AsyncWriteExt;
    stdin
        .write_all(b"please give me the long weather report\n")
        .await
        .unwrap();
    stdin.flush().await.unwrap();

    // The answer starts when the speaker gets loud.
    let deadline = now() + 20.0;
    let answer_start = loop {
        let bytes = std::fs::read(&speaker_path).unwrap_or_default();
        if let Some(t) = onset(&pcm16(&bytes), speaker_start) {
            break t;
        }
        assert!(now() < deadline, "the answer never played");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut user_onset = None;
    let mut _paplay = None;
    if let Some(after) = room.user_after {
        let wait = answer_start + after.as_secs_f64() - now();
        tokio::time::sleep(Duration::from_secs_f64(wait.max(0.0))).await;
        let spawned = now();
        _paplay = Some(KillOnDrop(
            pulse
                .command("paplay")
                .args(["--device=mic", "--latency-msec=10"])
                .arg(&user)
                .spawn()
                .expect("paplay starts"),
        ));
        user_onset = Some(spawned + user_lead_in);
    }
    // Let the whole answer play (or what is left of it after an interruption).
    let end = answer_start + answer_seconds + 1.5;
    tokio::time::sleep(Duration::from_secs_f64((end - now()).max(0.0))).await;
    drop(speaker_rec);
    drop(mic_rec);

    let pid = child.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = match tokio::time::timeout(Duration::from_secs(60), child.wait()).await {
        Ok(status) => status.unwrap(),
        Err(_) => {
            let _ = child.kill().await;
            while let Some(line) = stderr.recv().await {
                err_seen.push(line);
            }
            panic!("the agent did not end after Ctrl-C: {err_seen:#?}");
        }
    };
    while let Some(line) = stderr.recv().await {
        err_seen.push(line);
    }
    while let Ok(line) = stdout.try_recv() {
        out_seen.push(line);
    }
    assert_eq!(status.code(), Some(0), "{err_seen:#?}");

    let mut speech_started = Vec::new();
    let mut truncates = Vec::new();
    let mut upstream = Vec::new();
    let text = std::fs::read_to_string(&record).unwrap();
    for line in text.lines() {
        let line: Value = serde_json::from_str(line).unwrap();
        let time = line["time"].as_f64().unwrap();
        let event = &line["event"];
        match (line["direction"].as_str(), event["type"].as_str()) {
            (Some("received"), Some("input_audio_buffer.speech_started")) => {
                speech_started.push(time)
            }
            (Some("sent"), Some("conversation.item.truncate")) => {
                truncates.push((time, event["audio_end_ms"].as_u64().unwrap()))
            }
            (Some("sent"), Some("input_audio_buffer.append")) => {
                use base64::Engine;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(event["audio"].as_str().unwrap())
                    .unwrap();
                let samples = pcm16(&bytes);
                let n = samples.len() as f64;
                for (i, s) in samples.into_iter().enumerate() {
                    upstream.push((time - (n - i as f64) / REC_RATE as f64, s));
                }
            }
            _ => {}
        }
    }
    Outcome {
        stderr: err_seen,
        answer_start,
        answer_seconds,
        user_onset,
        speech_started,
        truncates,
        speaker: (pcm16(&std::fs::read(&speaker_path).unwrap()), speaker_start),
        mic: (pcm16(&std::fs::read(&mic_path).unwrap()), mic_start),
        upstream,
    }
}

impl Outcome {
    /// Samples of a recording between two Unix times.
    fn span(recording: &(Vec<f32>, f64), from: f64, to: f64) -> impl Iterator<Item = f32> + '_ {
        let index = |t: f64| {
            (((t - recording.1) * REC_RATE as f64).max(0.0) as usize).min(recording.0.len())
        };
        recording.0[index(from)..index(to)].iter().copied()
    }

    fn upstream_span(&self, from: f64, to: f64) -> impl Iterator<Item = f32> + '_ {
        self.upstream
            .iter()
            .filter(move |(t, _)| (from..to).contains(t))
            .map(|&(_, s)| s)
    }

    /// Echo return loss enhancement on what was sent upstream: what the microphone heard over
    /// what went up, from `from` seconds into the answer to its end.
    fn erle(&self, from: f64) -> f64 {
        let (a, b) = (
            self.answer_start + from,
            self.answer_start + self.answer_seconds - 0.2,
        );
        db(power(Self::span(&self.mic, a, b)) / power(self.upstream_span(a, b)))
    }

    /// Seconds into the answer from which every 500 ms window with echo in it has at least
    /// 20 dB of ERLE.
    fn convergence(&self) -> Option<f64> {
        let windows: Vec<(f64, bool)> = (0..(self.answer_seconds * 2.0) as usize)
            .map(|w| {
                let a = self.answer_start + w as f64 * 0.5;
                let mic = power(Self::span(&self.mic, a, a + 0.5));
                let up = power(self.upstream_span(a, a + 0.5));
                (w as f64 * 0.5, mic < 1e-5 || db(mic / up) >= 20.0)
            })
            .collect();
        (0..windows.len())
            .find(|&i| windows[i..].iter().all(|&(_, ok)| ok))
            .map(|i| windows[i].0)
    }

    /// The share of the answer the speaker played, by energy.
    fn played_share(&self, answer: &[f32]) -> f64 {
        let played = power(Self::span(
            &self.speaker,
            self.answer_start - 0.1,
            self.answer_start + self.answer_seconds + 1.0,
        )) * (self.answer_seconds + 1.1);
        let whole = power(answer.iter().copied()) * self.answer_seconds;
        played / whole
    }

    fn during_answer(&self, t: f64) -> bool {
        (self.answer_start..self.answer_start + self.answer_seconds).contains(&t)
    }
}

/// The answer as the speaker should play it, at 24 kHz (for the played share).
fn answer_at_24k() -> Vec<f32> {
    let scratch = Scratch::new();
    let wav = espeak(&scratch, "answer.wav", "en-us", ANSWER);
    let out = scratch.path("answer24.wav");
    let ok = Command::new("sox")
        .arg(&wav)
        .args(["-r", "24000"])
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "sox failed");
    let mut reader = hound::WavReader::open(&out).unwrap();
    reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect()
}

/// With echo cancellation (the default, which turns half-duplex off), a 20 s answer on open
/// speakers plays to its end: no barge-in, no truncation, and at least 25 dB of ERLE upstream
/// after the first 2 s.
async fn plays_to_the_end(rate: u32, channels: u16, echo_ms: u32) {
    let outcome = answer_in(Room {
        rate,
        channels,
        echo_ms,
        audio: "",
        user_after: None,
    })
    .await;
    assert!(
        outcome
            .stderr
            .iter()
            .any(|l| l == "audio: echo cancellation on, half-duplex off"),
        "{:#?}",
        outcome.stderr
    );
    let erle = outcome.erle(2.0);
    let share = outcome.played_share(&answer_at_24k());
    println!(
        "{rate} Hz x{channels}, echo {echo_ms} ms: ERLE after 2 s {erle:.1} dB, converged at \
         {:?} s, played {:.0}% of the answer",
        outcome.convergence(),
        share * 100.0
    );
    assert!(
        outcome.speech_started.is_empty(),
        "the echo was taken for the user at {:?} (answer from {})",
        outcome.speech_started,
        outcome.answer_start
    );
    assert!(outcome.truncates.is_empty(), "{:?}", outcome.truncates);
    assert!(
        share > 0.8,
        "only {:.0}% of the answer played",
        share * 100.0
    );
    assert!(erle >= 25.0, "ERLE {erle:.1} dB after the first 2 s");
}

/// 24 kHz mono devices, 60 ms echo: the answer plays to its end with 25 dB of ERLE.
#[tokio::test]
async fn echo_cancelled_answer_plays_to_the_end_24k_mono_60ms() {
    plays_to_the_end(24_000, 1, 60).await;
}

/// 48 kHz stereo devices, 150 ms echo: the answer plays to its end with 25 dB of ERLE.
#[tokio::test]
async fn echo_cancelled_answer_plays_to_the_end_48k_stereo_150ms() {
    plays_to_the_end(48_000, 2, 150).await;
}

/// With echo cancellation, the user talking over the answer 5 s in interrupts it within
/// 400 ms of their first word, and the truncate carries the position played.
async fn user_barges_in(rate: u32, channels: u16, echo_ms: u32) {
    let outcome = answer_in(Room {
        rate,
        channels,
        echo_ms,
        audio: "",
        user_after: Some(Duration::from_secs(5)),
    })
    .await;
    let onset = outcome.user_onset.unwrap();
    let first = outcome.speech_started.first().copied();
    println!(
        "{rate} Hz x{channels}, echo {echo_ms} ms: user from {:.3} s into the answer, barge-in \
         after {:?} ms, truncates {:?}",
        onset - outcome.answer_start,
        first.map(|t| ((t - onset) * 1000.0).round()),
        outcome.truncates
    );
    let first = first.expect("the user's speech was never detected");
    assert!(
        first >= onset - 0.05,
        "speech detected {:.0} ms before the user spoke: the echo",
        (onset - first) * 1000.0
    );
    assert!(
        first - onset <= 0.4,
        "barge-in {:.0} ms after the user's onset",
        (first - onset) * 1000.0
    );
    let (sent, audio_end_ms) = outcome.truncates.first().copied().expect("no truncate");
    let heard_ms = (sent - outcome.answer_start) * 1000.0;
    assert!(
        (audio_end_ms as f64 - heard_ms).abs() <= 250.0,
        "truncate at {audio_end_ms} ms, {heard_ms:.0} ms after the answer was first heard"
    );
}

/// 24 kHz mono devices, 150 ms echo: barge-in by voice still works.
#[tokio::test]
async fn user_barges_in_over_the_cancelled_echo_24k_mono_150ms() {
    user_barges_in(24_000, 1, 150).await;
}

/// 48 kHz stereo devices, 60 ms echo: barge-in by voice still works.
#[tokio::test]
async fn user_barges_in_over_the_cancelled_echo_48k_stereo_60ms() {
    user_barges_in(48_000, 2, 60).await;
}

/// Without echo cancellation and without half-duplex the same answer interrupts itself: the
/// room's echo is loud enough to be taken for the user, so the tests above measure something.
#[tokio::test]
async fn without_echo_cancellation_the_answer_interrupts_itself() {
    let outcome = answer_in(Room {
        rate: 24_000,
        channels: 1,
        echo_ms: 60,
        audio: "echo_cancellation = false\nhalf_duplex = false",
        user_after: None,
    })
    .await;
    assert!(
        outcome
            .stderr
            .iter()
            .any(|l| l == "audio: echo cancellation off, half-duplex off"),
        "{:#?}",
        outcome.stderr
    );
    println!(
        "no echo cancellation: speech_started {:?}, truncates {:?}, ERLE {:.1} dB",
        outcome
            .speech_started
            .iter()
            .map(|t| t - outcome.answer_start)
            .collect::<Vec<_>>(),
        outcome.truncates,
        outcome.erle(2.0)
    );
    let first = outcome
        .speech_started
        .first()
        .copied()
        .expect("no barge-in");
    assert!(outcome.during_answer(first), "barge-in at {first}");
    let (_, audio_end_ms) = outcome.truncates.first().copied().expect("no truncate");
    assert!(
        (audio_end_ms as f64) < (outcome.answer_seconds - 1.0) * 1000.0,
        "truncated at {audio_end_ms} ms of {:.1} s",
        outcome.answer_seconds
    );
}
