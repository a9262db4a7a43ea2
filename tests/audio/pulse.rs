//! The real cpal code on a private PulseAudio server with null devices, paced in real time:
//! played position and stop against the clock and against what the server recorded, and the
//! microphone's frames and pacing.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use realtime_agent::audio::{
    AudioHost, AudioSink, AudioSource, ChosenHost, DeviceOptions, MicSource, SpeakerSink,
    choose_host,
};
use realtime_agent::protocol::AudioFormat;

use crate::child::{PulseSandbox, child_dir, run_child};
use crate::support::{block_on, f32_to_pcm16, measure_frequency, pcm16_to_f32, tone};

fn pulse() -> DeviceOptions {
    DeviceOptions {
        host: AudioHost::PulseAudio,
        ..DeviceOptions::default()
    }
}

/// Runs the test `name` as a child connected to a fresh sandbox server.
fn with_sandbox(name: &str) {
    let sandbox = PulseSandbox::start();
    let output = run_child(name, sandbox.dir.path(), &sandbox.env());
    println!("{output}");
}

/// Waits until the speaker's output latency is small. A null sink that was idle renders 2 s
/// ahead, so a new stream's first audio is heard ~2 s late (and reported so) until it settles.
fn settle(speaker: &SpeakerSink) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while speaker.output_latency().is_zero()
        || speaker.output_latency() > Duration::from_millis(100)
    {
        assert!(
            Instant::now() < deadline,
            "latency stayed at {:?}",
            speaker.output_latency()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A client command (`paplay`, `parec`) for the server the child was given.
fn client(program: &str) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    command.stdin(Stdio::null()).stderr(Stdio::null());
    command
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Milliseconds of a 0.5-amplitude tone in a 24 kHz PCM16 recording, from its energy (a sine
/// of amplitude 0.5 has a mean square of 0.125), so gaps from underruns are not counted.
fn tone_ms(bytes: &[u8]) -> u64 {
    let energy: f64 = pcm16_to_f32(bytes)
        .iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum();
    (energy / 0.125 / 24.0).round() as u64
}

/// The played position advances with the clock (never ahead of it), stop reports it, and the
/// server hears about as much as was reported, nothing more after the stop.
#[test]
fn speaker_reports_what_was_heard() {
    let Some(dir) = child_dir() else {
        return with_sandbox("pulse::speaker_reports_what_was_heard");
    };
    let mut speaker = SpeakerSink::open(&pulse(), AudioFormat::Pcm16).unwrap();
    assert_eq!(
        (speaker.host(), speaker.device()),
        ("pulseaudio", "speaker")
    );
    settle(&speaker);
    let recording = dir.join("heard.raw");
    let _parec = KillOnDrop(
        client("parec")
            .args([
                "--device=speaker.monitor",
                "--raw",
                "--format=s16le",
                "--rate=24000",
                "--channels=1",
            ])
            .stdout(std::fs::File::create(&recording).unwrap())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(500));

    let audio = f32_to_pcm16(&tone(440.0, 24_000, 3.0, 0.5));
    let start = Instant::now();
    for delta in audio.chunks(4_800) {
        speaker.play("item_1", delta).unwrap();
    }
    std::thread::sleep(Duration::from_millis(800));
    let so_far = speaker.played().expect("playing").played_ms;
    let elapsed = start.elapsed().as_millis() as u64;
    // Never ahead of the clock. How far behind depends on the machine's load (an underrun
    // plays silence and is not counted), so progress is checked against what the server
    // recorded below rather than against the clock.
    assert!(so_far <= elapsed, "heard {so_far} ms after {elapsed} ms");
    assert!(so_far > 0, "nothing heard after {elapsed} ms");

    std::thread::sleep(Duration::from_millis(400));
    let played = speaker.stop().expect("still playing");
    let elapsed = start.elapsed().as_millis() as u64;
    assert_eq!(played.item_id, "item_1");
    // `stop` counts what was handed to the device, which still plays out its last buffer
    // (about 10 ms, more under load): it may be a little ahead of the clock, never far.
    assert!(
        played.played_ms <= elapsed + 30,
        "{played:?} after {elapsed} ms"
    );
    assert!(played.played_ms > so_far, "{played:?}, {so_far} ms earlier");
    assert!(!speaker.is_playing());

    // Give the server time to record what it was sent, then compare.
    std::thread::sleep(Duration::from_millis(700));
    drop(_parec);
    let heard = tone_ms(&std::fs::read(&recording).unwrap());
    println!(
        "after {so_far} ms: reported {} ms at stop, the server played {heard} ms",
        played.played_ms
    );
    // The server played what stop reported, and nothing after it.
    assert!(
        heard.abs_diff(played.played_ms) <= 30,
        "reported {} ms played but the server got {heard} ms",
        played.played_ms
    );
}

/// A short item stops playing about when its audio has been heard, not when it was queued.
#[test]
fn speaker_finishes_in_real_time() {
    let Some(_) = child_dir() else {
        return with_sandbox("pulse::speaker_finishes_in_real_time");
    };
    let mut speaker = SpeakerSink::open(&pulse(), AudioFormat::Pcm16).unwrap();
    settle(&speaker);
    let monitor = speaker.monitor().unwrap();
    let start = Instant::now();
    speaker
        .play("item_1", &f32_to_pcm16(&tone(440.0, 24_000, 0.4, 0.5)))
        .unwrap();
    speaker.finish_item("item_1").unwrap();
    while speaker.is_playing() {
        assert!(start.elapsed() < Duration::from_secs(5), "never finished");
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = start.elapsed();
    println!("0.4 s item finished after {took:?}");
    assert!(
        took >= Duration::from_millis(400),
        "finished after {took:?}"
    );
    assert!(!monitor.is_playing());
    assert!(
        monitor.is_active(Duration::from_secs(30)),
        "inside the tail"
    );
    assert_eq!(speaker.stop(), None);
}

/// A 440 Hz tone of `seconds` at 0.5 amplitude, as a 24 kHz mono WAV in `dir`.
fn tone_wav(dir: &std::path::Path, seconds: f64) -> std::path::PathBuf {
    let wav = dir.join("tone.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 24_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&wav, spec).unwrap();
    for s in tone(440.0, 24_000, seconds, 0.5) {
        writer.write_sample((s * 32767.0) as i16).unwrap();
    }
    writer.finalize().unwrap();
    wav
}

/// Plays `wav` into the `mic` device (what the microphone hears) until dropped.
fn play_into_mic(wav: &std::path::Path) -> KillOnDrop {
    KillOnDrop(
        client("paplay")
            .arg("--device=mic")
            .arg(wav)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// Sends `signal` (`-STOP`, `-CONT`, `-KILL`) to the sandbox's server, whose pid the parent
/// left in `dir`.
fn signal_server(dir: &std::path::Path, signal: &str) {
    let server = std::fs::read_to_string(dir.join("daemon.pid")).unwrap();
    let ok = std::process::Command::new("kill")
        .args([signal, server.trim()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {signal} {server}");
}

/// The microphone delivers 20 ms frames in real time, carrying what the mic device plays.
#[test]
fn microphone_hears_the_mic_device_in_real_time() {
    let Some(dir) = child_dir() else {
        return with_sandbox("pulse::microphone_hears_the_mic_device_in_real_time");
    };
    let wav = tone_wav(&dir, 3.0);
    let mut mic = MicSource::open(&pulse(), AudioFormat::Pcm16, 20).unwrap();
    assert_eq!((mic.host(), mic.device()), ("pulseaudio", "mic.monitor"));
    let _paplay = play_into_mic(&wav);
    let (frames, took) = block_on(async {
        // Skip what arrives before the tone starts.
        let start = Instant::now();
        loop {
            let frame = mic.next_frame().await.unwrap().unwrap();
            if crate::support::rms(&pcm16_to_f32(&frame)) > 0.2 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "the tone never arrived"
            );
        }
        let start = Instant::now();
        let mut frames = Vec::new();
        for _ in 0..75 {
            frames.push(mic.next_frame().await.unwrap().unwrap());
        }
        (frames, start.elapsed())
    });
    println!("75 microphone frames took {took:?}");
    assert!(frames.iter().all(|f| f.len() == 960));
    // 1.5 s of audio cannot arrive much faster than 1.5 s (the server's buffer aside).
    assert!(
        took >= Duration::from_millis(1_200),
        "75 frames in {took:?}"
    );
    let freq = measure_frequency(&pcm16_to_f32(&frames.concat()), 24_000, 0);
    assert!((freq - 440.0).abs() < 1.0, "{freq} Hz");
    assert_eq!(mic.dropped_ms(), 0);
}

/// A sound server that runs late loses none of the microphone's audio: stopped five times for
/// 100 ms while the microphone hears a 3 s tone, the server delivers the whole tone once it runs
/// again. (Through cpal's record stream, whose server-side queue is one 25 ms period, the five
/// stops lost 266 ms of it.)
#[test]
fn microphone_loses_nothing_while_the_server_is_late() {
    const STOPS: u32 = 5;
    let Some(dir) = child_dir() else {
        return with_sandbox("pulse::microphone_loses_nothing_while_the_server_is_late");
    };
    let wav = tone_wav(&dir, 3.0);
    let mut mic = MicSource::open(&pulse(), AudioFormat::Pcm16, 20).unwrap();
    let _paplay = play_into_mic(&wav);
    let frames = block_on(async {
        let start = Instant::now();
        let mut frames = Vec::new();
        // Until the tone has come and gone: ten quiet frames after a loud one.
        let mut heard = false;
        let mut quiet = 0;
        let mut stops = 0;
        let mut next_stop = None;
        while !heard || quiet < 10 {
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "the tone did not end"
            );
            let frame = mic.next_frame().await.unwrap().unwrap();
            let loud = crate::support::rms(&pcm16_to_f32(&frame)) > 0.2;
            if loud && !heard {
                heard = true;
                next_stop = Some(Instant::now() + Duration::from_millis(200));
            }
            quiet = if loud { 0 } else { quiet + 1 };
            if stops < STOPS && next_stop.is_some_and(|at| Instant::now() >= at) {
                signal_server(&dir, "-STOP");
                std::thread::sleep(Duration::from_millis(100));
                signal_server(&dir, "-CONT");
                stops += 1;
                next_stop = Some(Instant::now() + Duration::from_millis(300));
            }
            frames.push(frame);
        }
        assert_eq!(
            stops, STOPS,
            "the tone ended before the server was stopped five times"
        );
        frames
    });
    let heard = tone_ms(&frames.concat());
    println!("heard {heard} ms of the 3000 ms tone");
    // With no stop this reads 2975 ms (the tone's edges, two resamplings); through cpal's
    // stream it read 2709 ms.
    assert!(
        (2950..=3025).contains(&heard),
        "heard {heard} ms of the 3000 ms tone"
    );
    assert_eq!(mic.dropped_ms(), 0);
}

/// When the sound server goes away under a running microphone, the next frame is an error
/// that names it, not a silent stall.
#[test]
fn microphone_reports_a_server_that_went_away() {
    let Some(dir) = child_dir() else {
        return with_sandbox("pulse::microphone_reports_a_server_that_went_away");
    };
    let mut mic = MicSource::open(&pulse(), AudioFormat::Pcm16, 20).unwrap();
    let error = block_on(async {
        for _ in 0..5 {
            mic.next_frame().await.unwrap().unwrap();
        }
        signal_server(&dir, "-KILL");
        let start = Instant::now();
        loop {
            match mic.next_frame().await {
                Err(error) => break error,
                Ok(Some(_)) => {}
                Ok(None) => panic!("the microphone ended instead of failing"),
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no error 10 s after the server went away"
            );
        }
    });
    println!("{error}");
    let message = error.to_string();
    assert!(
        message
            .starts_with("the audio input (microphone) stream failed: lost the PulseAudio server"),
        "{message}"
    );
}

/// In a home where no PulseAudio client ever ran (no cookie), the server is reached as
/// PulseAudio's own clients reach it: `auto` chooses it, and a private cookie is made where
/// libpulse would make it.
#[test]
fn reaches_the_server_from_a_home_without_a_cookie() {
    let Some(dir) = child_dir() else {
        return with_sandbox("pulse::reaches_the_server_from_a_home_without_a_cookie");
    };
    let cookie = dir.join(".config/pulse/cookie");
    assert!(!cookie.exists(), "the test home starts without a cookie");
    assert_eq!(
        choose_host(AudioHost::Auto).unwrap(),
        ChosenHost {
            host: AudioHost::PulseAudio,
            fallback: None
        }
    );
    let made = std::fs::read(&cookie).expect("a cookie was made");
    assert_eq!(made.len(), 256);
    assert!(made.iter().any(|&b| b != 0), "the cookie is random");
    // Once made, it is kept.
    let mic = MicSource::open(&pulse(), AudioFormat::Pcm16, 20).unwrap();
    assert_eq!(mic.host(), "pulseaudio");
    assert_eq!(std::fs::read(&cookie).unwrap(), made);
}

/// `PULSE_COOKIE` names the cookie to send: a valid one is used (no other is made), and one of
/// the wrong length is reported by name instead of the server hanging up.
#[test]
fn pulse_cookie_names_the_cookie() {
    let Some(dir) = child_dir() else {
        let sandbox = PulseSandbox::start();
        let mut env = sandbox.env();
        env.push((
            "PULSE_COOKIE",
            sandbox.dir.path().join("my-cookie").into_os_string(),
        ));
        let output = run_child(
            "pulse::pulse_cookie_names_the_cookie",
            sandbox.dir.path(),
            &env,
        );
        println!("{output}");
        return;
    };
    let path = dir.join("my-cookie");
    std::fs::write(&path, [7u8; 10]).unwrap();
    let err = SpeakerSink::open(&pulse(), AudioFormat::Pcm16).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "audio host `pulseaudio` is not available: the cookie {} holds 10 bytes, not 256: \
             remove it (a new one is made) or set PULSE_COOKIE to a valid one",
            path.display()
        )
    );
    std::fs::write(&path, [7u8; 256]).unwrap();
    let speaker = SpeakerSink::open(&pulse(), AudioFormat::Pcm16).unwrap();
    assert_eq!(speaker.host(), "pulseaudio");
    assert!(!dir.join(".config/pulse/cookie").exists());
    assert!(!dir.join(".pulse-cookie").exists());
}

/// A `PULSE_SERVER` the built-in client cannot reach is reported, not silently replaced by the
/// runtime directory's server; `auto` then falls back to ALSA and says why.
#[test]
fn an_unreachable_pulse_server_is_named() {
    let Some(dir) = child_dir() else {
        let dir = tempfile::tempdir().unwrap();
        // A server in the runtime directory that must not be used instead.
        let runtime = dir.path().join("runtime/pulse");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::write(runtime.join("native"), "").unwrap();
        let env = [("PULSE_SERVER", "tcp:localhost:4713".into())];
        run_child(
            "pulse::an_unreachable_pulse_server_is_named",
            dir.path(),
            &env,
        );
        return;
    };
    let _ = dir;
    let err = MicSource::open(&pulse(), AudioFormat::Pcm16, 20).unwrap_err();
    assert_eq!(
        err.to_string(),
        "audio host `pulseaudio` is not available: PULSE_SERVER=tcp:localhost:4713: the \
         built-in PulseAudio client reaches only local sockets (unix:PATH); use host = \"alsa\", \
         whose pulse plugin reaches any server"
    );
    let chosen = choose_host(AudioHost::Auto).unwrap();
    assert_eq!(chosen.host, AudioHost::Alsa);
    assert_eq!(
        chosen.to_string(),
        "alsa (pulseaudio is not available: PULSE_SERVER=tcp:localhost:4713: the built-in \
         PulseAudio client reaches only local sockets (unix:PATH); use host = \"alsa\", whose \
         pulse plugin reaches any server)"
    );
}
