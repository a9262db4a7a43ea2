//! Voice mode end to end on a private PulseAudio server with null devices, in real time: speech
//! played into the microphone is detected by the simulated server, answered in words, and the
//! answer is played through the speaker; Ctrl-C ends it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::support::{Scratch, speech_wav};

/// A PulseAudio server of our own: a `speaker` null sink (the default output) and a `mic` null
/// sink whose monitor is the default input, so that what is played into `mic` is heard.
pub(super) struct Pulse {
    dir: tempfile::TempDir,
    daemon: Child,
}

impl Pulse {
    fn start() -> Pulse {
        Pulse::start_with(24_000, 1)
    }

    /// A server whose two null devices run at `rate` Hz with `channels` channels.
    pub(super) fn start_with(rate: u32, channels: u16) -> Pulse {
        for tool in ["pulseaudio", "pactl", "paplay", "parec"] {
            let found = Command::new(tool).arg("--version").output().is_ok();
            assert!(
                found,
                "{tool} is needed: apt-get install pulseaudio pulseaudio-utils"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        // The server and `pactl`/`paplay`/`parec` keep their cookie in a home of their own; the
        // agent gets another (see `Scratch::command`) with no cookie in it.
        let runtime = dir.path().join("runtime");
        std::fs::create_dir_all(&runtime).unwrap();
        let socket = dir.path().join("native");
        let daemon = Command::new("pulseaudio")
            .args(["-n", "--daemonize=no", "--exit-idle-time=-1"])
            .arg(format!(
                "--load=module-native-protocol-unix auth-anonymous=1 socket={}",
                socket.display()
            ))
            .arg(format!(
                "--load=module-null-sink sink_name=speaker rate={rate} channels={channels}"
            ))
            .arg(format!(
                "--load=module-null-sink sink_name=mic rate={rate} channels={channels}"
            ))
            .env("HOME", dir.path())
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pulseaudio starts");
        let pulse = Pulse { dir, daemon };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "pulseaudio did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        for args in [
            ["set-default-sink", "speaker"],
            ["set-default-source", "mic.monitor"],
        ] {
            let ok = pulse
                .command("pactl")
                .args(args)
                .status()
                .unwrap()
                .success();
            assert!(ok, "pactl {args:?} failed");
        }
        pulse
    }

    pub(super) fn server(&self) -> String {
        format!("unix:{}", self.dir.path().join("native").display())
    }

    pub(super) fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("HOME", self.dir.path())
            .env("PULSE_SERVER", self.server())
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        command
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// Lines of a child's output stream, as they come.
pub(super) fn lines(
    stream: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if tx.send(line).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Reads `rx` until a line satisfies `wanted`, keeping everything seen in `seen`.
pub(super) async fn until(
    rx: &mut mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    what: &str,
    wanted: impl Fn(&str) -> bool,
) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(line)) => {
                seen.push(line.clone());
                if wanted(&line) {
                    return line;
                }
            }
            _ => panic!("no line with {what}; saw {seen:#?}"),
        }
    }
}

/// The root mean square of PCM16 samples, 0 to 1.
fn rms(bytes: &[u8]) -> f64 {
    let samples: Vec<f64> = bytes
        .chunks_exact(2)
        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
        .collect();
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f64>() / samples.len() as f64).sqrt()
}

/// Speech into the microphone becomes a turn (detected by level on the simulated server), the
/// answer is printed and played, and Ctrl-C ends the session with its summary.
#[tokio::test]
async fn voice_mode_hears_speech_and_plays_the_answer() {
    let pulse = Pulse::start();
    let scratch = Scratch::new();
    let speech = speech_wav(&scratch, "Hello there, what time is it?");
    let speech_seconds = {
        let reader = hound::WavReader::open(&speech).unwrap();
        f64::from(reader.duration()) / f64::from(reader.spec().sample_rate)
    };
    let config = scratch.config(
        "[audio]\nhost = \"pulseaudio\"\nhalf_duplex = false\n\n\
         [turn_detection]\ntype = \"server_vad\"\nsilence_duration_ms = 500\n",
    );
    let mut child = scratch
        .command(
            &["--sim", "--config", config.to_str().unwrap()],
            &[("PULSE_SERVER", &pulse.server())],
        )
        .spawn()
        .expect("the agent starts");
    let _stdin = child.stdin.take();
    let mut stdout = lines(child.stdout.take().unwrap());
    let mut stderr = lines(child.stderr.take().unwrap());
    let (mut out_seen, mut err_seen) = (Vec::new(), Vec::new());
    until(&mut stderr, &mut err_seen, "the invitation to speak", |l| {
        l.starts_with("speak when ready")
    })
    .await;
    assert!(
        err_seen.contains(&"audio: pulseaudio; speaker `speaker`, microphone `mic.monitor`; echo cancellation on, half-duplex off".into()),
        "{err_seen:#?}"
    );

    // Listen to the speaker, then say something into the microphone.
    let recording: PathBuf = scratch.path("speaker.raw");
    let mut parec = pulse
        .command("parec")
        .args([
            "--device=speaker.monitor",
            "--format=s16le",
            "--rate=24000",
            "--channels=1",
            "--raw",
        ])
        .stdout(std::fs::File::create(&recording).unwrap())
        .spawn()
        .expect("parec starts");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let played = pulse
        .command("paplay")
        .arg("--device=mic")
        .arg(&speech)
        .status()
        .unwrap();
    assert!(played.success());

    let answer = until(&mut stdout, &mut out_seen, "the simulated answer", |l| {
        l.starts_with("assistant: (simulated model) I received ")
    })
    .await;
    let heard: f64 = answer
        .strip_prefix("assistant: (simulated model) I received ")
        .and_then(|rest| rest.split_once(" seconds of audio"))
        .and_then(|(seconds, _)| seconds.parse().ok())
        .unwrap_or_else(|| panic!("the answer says how much audio it got: {answer}"));
    assert!(
        heard + 0.1 >= speech_seconds,
        "the turn holds the whole utterance: {heard} s for {speech_seconds} s of speech"
    );

    // The answer is audible on the speaker.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let bytes = std::fs::read(&recording).unwrap_or_default();
        if rms(&bytes[bytes.len().saturating_sub(24_000)..]) > 0.02 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the speaker stayed silent ({} bytes recorded)",
            bytes.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = parec.kill();
    let _ = parec.wait();

    let pid = child.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = match tokio::time::timeout(Duration::from_secs(20), child.wait()).await {
        Ok(status) => status.unwrap(),
        Err(_) => {
            while let Ok(Some(line)) =
                tokio::time::timeout(Duration::from_millis(100), stderr.recv()).await
            {
                err_seen.push(line);
            }
            panic!("the agent did not end after Ctrl-C: {err_seen:#?}")
        }
    };
    while let Some(line) = stderr.recv().await {
        err_seen.push(line);
    }
    assert_eq!(status.code(), Some(0), "{err_seen:#?}");
    assert!(
        err_seen
            .iter()
            .any(|l| l.starts_with("session: ") && l.contains("1 response")),
        "{err_seen:#?}"
    );
}

/// Sends Ctrl-C to `child` and returns its exit code and the rest of its stderr.
pub(super) async fn interrupt(
    child: &mut tokio::process::Child,
    stderr: &mut mpsc::Receiver<String>,
    seen: &mut Vec<String>,
) -> Option<i32> {
    let pid = child.id().unwrap().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the agent ends after Ctrl-C")
        .unwrap();
    while let Some(line) = stderr.recv().await {
        seen.push(line);
    }
    status.code()
}

/// With `host = "auto"`, a home that never saw a PulseAudio client (no cookie) and a server
/// that accepts anonymous clients, the agent chooses PulseAudio for both directions and says
/// so in one line; it leaves a cookie where PulseAudio's own clients would.
#[tokio::test]
async fn auto_chooses_pulseaudio_for_both_directions_without_a_cookie() {
    let pulse = Pulse::start();
    let scratch = Scratch::new();
    let config = scratch.config("[audio]\nhost = \"auto\"\nhalf_duplex = false\n");
    let mut child = scratch
        .command(
            &["--sim", "--config", config.to_str().unwrap()],
            &[("PULSE_SERVER", &pulse.server())],
        )
        .spawn()
        .expect("the agent starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = lines(child.stdout.take().unwrap());
    let mut stderr = lines(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    until(&mut stderr, &mut seen, "the invitation to speak", |l| {
        l.starts_with("speak when ready")
    })
    .await;
    let audio: Vec<&String> = seen.iter().filter(|l| l.starts_with("audio: ")).collect();
    assert_eq!(
        audio,
        [
            "audio: pulseaudio; speaker `speaker`, microphone `mic.monitor`; echo cancellation on, half-duplex off"
        ],
        "{seen:#?}"
    );
    // An answer to a typed line shows the conversation loop (which handles Ctrl-C) is running.
    use tokio::io::AsyncWriteExt;
    stdin.write_all(b"hello\n").await.unwrap();
    until(&mut stdout, &mut Vec::new(), "an answer", |l| {
        l.starts_with("assistant: ")
    })
    .await;
    assert_eq!(
        interrupt(&mut child, &mut stderr, &mut seen).await,
        Some(0),
        "{seen:#?}"
    );
    let cookie = scratch.path("home/.config/pulse/cookie");
    let meta = std::fs::metadata(&cookie).expect("a cookie was made");
    assert_eq!(meta.len(), 256);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
}

/// With `host = "auto"` and no PulseAudio server, both directions go through ALSA and the one
/// line says why PulseAudio was not used.
#[tokio::test]
async fn auto_falls_back_to_alsa_and_says_why() {
    let scratch = Scratch::new();
    // ALSA's default device reads and writes files here, so ALSA works without a sound card.
    let asound = scratch.file(
        "asound.conf",
        &format!(
            "pcm.!default {{\n  type file\n  slave.pcm {{ type null }}\n  file \"{out}\"\n  \
             infile \"{input}\"\n  format \"raw\"\n}}\n",
            out = scratch.path("out.raw").display(),
            input = scratch.path("in.raw").display(),
        ),
    );
    std::fs::write(scratch.path("in.raw"), vec![0u8; 480_000]).unwrap();
    let missing = format!("unix:{}", scratch.path("no-such-socket").display());
    let config = scratch.config("[audio]\nhost = \"auto\"\nhalf_duplex = false\n");
    let mut child = scratch
        .command(
            &["--sim", "--config", config.to_str().unwrap()],
            &[
                ("PULSE_SERVER", &missing),
                ("ALSA_CONFIG_PATH", asound.to_str().unwrap()),
            ],
        )
        .spawn()
        .expect("the agent starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = lines(child.stdout.take().unwrap());
    let mut stderr = lines(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    until(&mut stderr, &mut seen, "the invitation to speak", |l| {
        l.starts_with("speak when ready")
    })
    .await;
    let audio: Vec<&String> = seen.iter().filter(|l| l.starts_with("audio: ")).collect();
    assert_eq!(
        audio,
        [&format!(
            "audio: alsa (pulseaudio is not available: PULSE_SERVER names the socket {}, which \
             does not exist (is the server running?)); speaker `default`, microphone `default`; echo cancellation on, half-duplex off",
            scratch.path("no-such-socket").display()
        )],
        "{seen:#?}"
    );
    // An answer to a typed line shows the conversation loop (which handles Ctrl-C) is running.
    use tokio::io::AsyncWriteExt;
    stdin.write_all(b"hello\n").await.unwrap();
    until(&mut stdout, &mut Vec::new(), "an answer", |l| {
        l.starts_with("assistant: ")
    })
    .await;
    assert_eq!(
        interrupt(&mut child, &mut stderr, &mut seen).await,
        Some(0),
        "{seen:#?}"
    );
}
