//! The real cpal code on ALSA without a sound card: ALSA's `file` plugin makes capture read a
//! raw file and playback write one (byte-exact, not paced). Each test runs in a child process
//! whose ALSA configuration is a file in its own directory.

use std::ffi::OsString;
use std::path::Path;
use std::time::{Duration, Instant};

use realtime_agent::audio::{
    AudioError, AudioHost, AudioSink, AudioSource, DeviceOptions, MicSource, SpeakerSink,
    list_devices,
};
use realtime_agent::protocol::AudioFormat;

use crate::child::{child_dir, run_child};
use crate::support::{block_on, f32_to_pcm16, measure_frequency, pcm16_to_f32, tone};

/// Writes an ALSA configuration whose `default` device reads `in.raw` and writes `out.raw`.
fn file_plugin_config(dir: &Path) -> Vec<(&'static str, OsString)> {
    let config = dir.join("asound.conf");
    std::fs::write(
        &config,
        format!(
            "pcm.!default {{\n  type file\n  slave.pcm {{ type null }}\n  file \"{out}\"\n  \
             infile \"{input}\"\n  format \"raw\"\n}}\n",
            out = dir.join("out.raw").display(),
            input = dir.join("in.raw").display(),
        ),
    )
    .unwrap();
    vec![("ALSA_CONFIG_PATH", config.into_os_string())]
}

fn alsa() -> DeviceOptions {
    DeviceOptions {
        host: AudioHost::Alsa,
        ..DeviceOptions::default()
    }
}

/// A pattern that starts loud (so it can be found in silence) and never repeats within 1 s.
fn pattern_pcm16(seconds: f64) -> Vec<u8> {
    let mut samples = tone(440.0, 24_000, seconds, 0.4);
    for (i, s) in samples.iter_mut().enumerate() {
        *s += 0.1 + 0.05 * ((i * 7919 % 1000) as f32 / 1000.0);
    }
    f32_to_pcm16(&samples)
}

/// Microphone frames are the captured bytes, exactly, when the device runs at the session
/// format (24 kHz mono 16-bit).
#[test]
fn microphone_frames_are_the_file_bytes() {
    let Some(dir) = child_dir() else {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in.raw"), pattern_pcm16(1.0)).unwrap();
        let env = file_plugin_config(dir.path());
        run_child(
            "alsa_file::microphone_frames_are_the_file_bytes",
            dir.path(),
            &env,
        );
        return;
    };
    let expected = std::fs::read(dir.join("in.raw")).unwrap();
    let mut mic = MicSource::open(&alsa(), AudioFormat::Pcm16, 20).unwrap();
    assert_eq!((mic.host(), mic.device()), ("alsa", "default"));
    assert_eq!((mic.device_rate(), mic.device_channels()), (24_000, 1));
    let frames = block_on(async {
        let mut frames = Vec::new();
        for _ in 0..25 {
            frames.push(mic.next_frame().await.unwrap().unwrap());
        }
        frames
    });
    assert!(frames.iter().all(|f| f.len() == 960));
    assert_eq!(frames.concat(), expected[..24_000]);
}

/// A device at 48 kHz is resampled to 24 kHz frames that keep the tone.
#[test]
fn microphone_converts_the_device_rate() {
    let Some(_) = child_dir() else {
        let dir = tempfile::tempdir().unwrap();
        let input = f32_to_pcm16(&tone(440.0, 48_000, 1.0, 0.5));
        std::fs::write(dir.path().join("in.raw"), input).unwrap();
        let env = file_plugin_config(dir.path());
        run_child(
            "alsa_file::microphone_converts_the_device_rate",
            dir.path(),
            &env,
        );
        return;
    };
    let options = DeviceOptions {
        sample_rate: Some(48_000),
        ..alsa()
    };
    let mut mic = MicSource::open(&options, AudioFormat::Pcm16, 20).unwrap();
    assert_eq!(mic.device_rate(), 48_000);
    let bytes = block_on(async {
        let mut bytes = Vec::new();
        for _ in 0..40 {
            let frame = mic.next_frame().await.unwrap().unwrap();
            assert_eq!(frame.len(), 960);
            bytes.extend(frame);
        }
        bytes
    });
    let freq = measure_frequency(&pcm16_to_f32(&bytes), 24_000, 480);
    assert!((freq - 440.0).abs() < 0.5, "{freq} Hz");
}

/// What the speaker is given reaches the device byte for byte, in order, once.
#[test]
fn speaker_writes_the_played_bytes() {
    let Some(dir) = child_dir() else {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in.raw"), []).unwrap();
        let env = file_plugin_config(dir.path());
        run_child(
            "alsa_file::speaker_writes_the_played_bytes",
            dir.path(),
            &env,
        );
        return;
    };
    let audio = pattern_pcm16(0.3);
    {
        let mut speaker = SpeakerSink::open(&alsa(), AudioFormat::Pcm16).unwrap();
        assert_eq!(
            (speaker.device_rate(), speaker.device_channels()),
            (24_000, 1)
        );
        // One delta: the unpaced device would otherwise play the gaps between deltas as
        // silence (an underrun, as a real device would after a network stall).
        speaker.play("item_1", &audio).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while speaker.is_playing() {
            assert!(Instant::now() < deadline, "playback never finished");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(speaker.stop(), None, "all of it was played");
    }
    let written = std::fs::read(dir.join("out.raw")).unwrap();
    let start = written
        .iter()
        .position(|&b| b != 0)
        .expect("audio in the output");
    let start = start - start % 2;
    assert_eq!(written[start..start + audio.len()], audio[..]);
    assert!(
        written[start + audio.len()..].iter().all(|&b| b == 0),
        "played once"
    );
}

/// Without a usable default device, opening says so and points to `--text` and files.
#[test]
fn missing_device_is_a_clear_error() {
    let Some(dir) = child_dir() else {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("asound.conf");
        std::fs::write(&config, "# no devices at all\n").unwrap();
        run_child(
            "alsa_file::missing_device_is_a_clear_error",
            dir.path(),
            &[("ALSA_CONFIG_PATH", config.into_os_string())],
        );
        return;
    };
    let _ = dir;
    let err = MicSource::open(&alsa(), AudioFormat::Pcm16, 20).unwrap_err();
    assert!(matches!(err, AudioError::DeviceMissing { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("no audio input (microphone) device: "),
        "{message}"
    );
    assert!(
        message.ends_with(
            "Run `agent devices` to list devices, or use `--text` for a text-only session, or \
             `--input FILE.wav` to send a recording"
        ),
        "{message}"
    );
    let err = SpeakerSink::open(&alsa(), AudioFormat::Pcm16).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("or `--output FILE.wav` to write the reply to a file"),
        "{err}"
    );
    let named = DeviceOptions {
        device: Some("usb-headset".into()),
        ..alsa()
    };
    let err = SpeakerSink::open(&named, AudioFormat::Pcm16).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("no audio output (speaker) device named `usb-headset`: the sound system has no such device"),
        "{err}"
    );
}

/// With no PulseAudio server, asking for it fails clearly and `auto` falls back to ALSA.
#[test]
fn auto_falls_back_to_alsa_without_a_pulseaudio_server() {
    let Some(_) = child_dir() else {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in.raw"), pattern_pcm16(0.1)).unwrap();
        let env = file_plugin_config(dir.path());
        run_child(
            "alsa_file::auto_falls_back_to_alsa_without_a_pulseaudio_server",
            dir.path(),
            &env,
        );
        return;
    };
    let pulse = DeviceOptions {
        host: AudioHost::PulseAudio,
        ..DeviceOptions::default()
    };
    let err = MicSource::open(&pulse, AudioFormat::Pcm16, 20).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("audio host `pulseaudio` is not available: "),
        "{err}"
    );
    let mic = MicSource::open(&DeviceOptions::default(), AudioFormat::Pcm16, 20).unwrap();
    assert_eq!(mic.host(), "alsa");
}

/// `agent devices` lists the default device for both directions with the rates it takes.
#[test]
fn devices_are_listed_with_their_rates() {
    let Some(_) = child_dir() else {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("in.raw"), []).unwrap();
        let env = file_plugin_config(dir.path());
        run_child(
            "alsa_file::devices_are_listed_with_their_rates",
            dir.path(),
            &env,
        );
        return;
    };
    let devices = list_devices(AudioHost::Alsa).unwrap();
    let default = devices
        .iter()
        .find(|d| d.name == "default")
        .unwrap_or_else(|| panic!("no default device in {devices:?}"));
    assert_eq!(default.host, "alsa");
    assert!(
        default.default_input && default.default_output,
        "{default:?}"
    );
    assert!(default.input && default.output, "{default:?}");
    for rate in [8_000, 16_000, 24_000, 44_100, 48_000] {
        assert!(default.input_rates.contains(&rate), "{default:?}");
        assert!(default.output_rates.contains(&rate), "{default:?}");
    }
}
