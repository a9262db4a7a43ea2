//! WAV files in: every supported sample format, channel count and rate comes out as the
//! session format, at the right length, with the tone intact. WAV files out: 24 kHz PCM16.

use std::path::Path;
use std::process::Command;

use realtime_agent::audio::{AudioError, AudioSink, WavSink, WavSource};
use realtime_agent::protocol::AudioFormat;

use crate::support::{f32_to_pcm16, measure_frequency, pcm16_to_f32, read_all, rms, tone};

/// Writes `mono` to a WAV file of the given shape (every channel carries the same signal).
fn write_wav(path: &Path, mono: &[f32], rate: u32, channels: u16, bits: u16, float: bool) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in mono {
        for _ in 0..channels {
            if float {
                w.write_sample(s).unwrap();
            } else {
                let max = ((1i64 << (bits - 1)) - 1) as f32;
                let v = (s * max).round() as i32;
                match bits {
                    8 => w.write_sample(v as i8).unwrap(),
                    16 => w.write_sample(v as i16).unwrap(),
                    _ => w.write_sample(v).unwrap(),
                }
            }
        }
    }
    w.finalize().unwrap();
}

fn session_bytes(path: &Path, format: AudioFormat) -> (Vec<u8>, Vec<usize>) {
    let mut source = WavSource::open(path, format, 20).unwrap();
    let frames = read_all(&mut source);
    let lengths = frames.iter().map(Vec::len).collect();
    (frames.concat(), lengths)
}

/// Every supported sample format, mono and stereo, at several rates, becomes 24 kHz mono PCM16
/// of the file's duration in 20 ms frames, keeping the 440 Hz tone and its level.
#[test]
fn every_supported_format_becomes_24khz_mono_pcm16() {
    let dir = tempfile::tempdir().unwrap();
    let shapes: [(u16, bool); 5] = [
        (8, false),
        (16, false),
        (24, false),
        (32, false),
        (32, true),
    ];
    for (bits, float) in shapes {
        for channels in [1u16, 2] {
            for rate in [8_000u32, 22_050, 44_100, 48_000] {
                let path = dir
                    .path()
                    .join(format!("t{bits}{float}{channels}{rate}.wav"));
                let input = tone(440.0, rate, 0.5, 0.5);
                write_wav(&path, &input, rate, channels, bits, float);
                let what = format!("{bits}-bit float={float} {channels}ch {rate} Hz");

                let (bytes, frames) = session_bytes(&path, AudioFormat::Pcm16);
                let expected =
                    (input.len() as u64 * 24_000 + u64::from(rate) / 2) / u64::from(rate);
                assert_eq!(bytes.len() as u64, expected * 2, "{what}: length");
                assert!(
                    frames[..frames.len() - 1].iter().all(|&n| n == 960),
                    "{what}: frames"
                );
                let samples = pcm16_to_f32(&bytes);
                let freq = measure_frequency(&samples, 24_000, 480);
                assert!((freq - 440.0).abs() < 0.5, "{what}: {freq} Hz");
                // 8-bit quantisation noise is larger but the level still holds.
                let level = rms(&samples[480..samples.len() - 480]);
                assert!((level - 0.3536).abs() < 0.01, "{what}: rms {level}");
            }
        }
    }
}

/// A telephony session gets 8 kHz mu-law frames of 160 bytes from a 44.1 kHz stereo file.
#[test]
fn wav_to_g711_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.wav");
    write_wav(&path, &tone(440.0, 44_100, 1.0, 0.5), 44_100, 2, 16, false);
    let (bytes, frames) = session_bytes(&path, AudioFormat::G711Ulaw);
    assert_eq!(bytes.len(), 8_000);
    assert!(frames.iter().all(|&n| n == 160));
    let mut decoded = Vec::new();
    realtime_agent::audio::codec::decode(AudioFormat::G711Ulaw, &bytes, &mut decoded);
    let samples: Vec<f32> = decoded.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let freq = measure_frequency(&samples, 8_000, 160);
    assert!((freq - 440.0).abs() < 0.5, "{freq} Hz");
}

/// A WAV in a format that is not read says what it is and what is supported.
#[test]
fn unsupported_wav_says_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alaw.wav");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF\x2c\0\0\0WAVEfmt \x12\0\0\0");
    // A-law, mono, 8 kHz, 8000 bytes/s, block 1, 8 bits, no extra bytes.
    bytes.extend_from_slice(&[
        6, 0, 1, 0, 0x40, 0x1F, 0, 0, 0x40, 0x1F, 0, 0, 1, 0, 8, 0, 0, 0,
    ]);
    bytes.extend_from_slice(b"data\x04\0\0\0\xd5\xd5\xd5\xd5");
    std::fs::write(&path, &bytes).unwrap();
    let err = WavSource::open(&path, AudioFormat::Pcm16, 20).unwrap_err();
    assert!(matches!(err, AudioError::UnsupportedWav { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: unsupported WAV format: A-law (format tag 0x0006), 8-bit, 1 channel, 8000 Hz; \
             supported: PCM integer 8, 16, 24 or 32-bit, or 32-bit float; any sample rate; any \
             number of channels",
            path.display()
        )
    );
}

/// A missing file and a file that is not a WAV are told apart.
#[test]
fn missing_and_invalid_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.wav");
    let err = WavSource::open(&missing, AudioFormat::Pcm16, 20).unwrap_err();
    assert!(
        matches!(&err, AudioError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "just some text, not audio").unwrap();
    let err = WavSource::open(&text, AudioFormat::Pcm16, 20).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not a valid WAV file: Ill-formed WAVE file: no RIFF tag found",
            text.display()
        )
    );
}

/// Real speech (espeak-ng, resampled to 44.1 kHz stereo by sox) comes out as long as the file
/// and matches sox's own conversion to 24 kHz mono.
#[test]
fn speech_wav_matches_sox_conversion() {
    for tool in ["espeak-ng", "sox"] {
        let found = Command::new(tool).arg("--version").output().is_ok();
        assert!(
            found,
            "{tool} is needed for this test: apt-get install espeak-ng sox"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("espeak.wav");
    let speech = dir.path().join("speech.wav");
    let reference = dir.path().join("reference.wav");
    let ok = Command::new("espeak-ng")
        .arg("-w")
        .arg(&raw)
        .arg("The quick brown fox jumps over the lazy dog.")
        .status()
        .unwrap()
        .success();
    assert!(ok, "espeak-ng failed");
    let sox = |args: &[&std::ffi::OsStr]| {
        assert!(
            Command::new("sox").args(args).status().unwrap().success(),
            "sox {args:?}"
        );
    };
    sox(&[
        raw.as_os_str(),
        "-r".as_ref(),
        "44100".as_ref(),
        "-c".as_ref(),
        "2".as_ref(),
        speech.as_os_str(),
    ]);
    sox(&[
        speech.as_os_str(),
        "-r".as_ref(),
        "24000".as_ref(),
        "-c".as_ref(),
        "1".as_ref(),
        "-b".as_ref(),
        "16".as_ref(),
        reference.as_os_str(),
    ]);

    let source = WavSource::open(&speech, AudioFormat::Pcm16, 20).unwrap();
    let info = source.info();
    assert_eq!(
        (info.sample_rate, info.channels, info.bits_per_sample),
        (44_100, 2, 16)
    );
    let (bytes, _) = session_bytes(&speech, AudioFormat::Pcm16);
    let ours = pcm16_to_f32(&bytes);
    let theirs: Vec<f32> = hound::WavReader::open(&reference)
        .unwrap()
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    let expected = (info.frames * 24_000 + 22_050) / 44_100;
    assert_eq!(ours.len() as u64, expected);
    assert!(
        (ours.len() as i64 - theirs.len() as i64).abs() <= 1,
        "sox made {}",
        theirs.len()
    );
    assert!(rms(&ours) > 0.01, "speech is not silent");
    // Same signal, same timing: the normalised correlation at lag 0 is close to 1.
    let n = ours.len().min(theirs.len());
    let dot: f64 = (0..n)
        .map(|i| f64::from(ours[i]) * f64::from(theirs[i]))
        .sum();
    let corr = dot / (rms(&ours[..n]) * rms(&theirs[..n]) * n as f64);
    assert!(corr > 0.98, "correlation with sox {corr}");
}

/// The WAV sink writes PCM16 deltas byte for byte, one item after another, as a 24 kHz mono
/// PCM16 file; everything written counts as played.
#[test]
fn wav_sink_writes_pcm16_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    let a = f32_to_pcm16(&tone(440.0, 24_000, 0.3, 0.5));
    let b = f32_to_pcm16(&tone(660.0, 24_000, 0.2, 0.5));
    let mut sink = WavSink::create(&path, AudioFormat::Pcm16).unwrap();
    // Odd-sized deltas split samples; the file must not notice.
    for piece in a.chunks(999) {
        sink.play("item_a", piece).unwrap();
    }
    sink.play("item_b", &b).unwrap();
    assert!(!sink.is_playing());
    assert_eq!(sink.stop(), None);
    sink.close().unwrap();

    let reader = hound::WavReader::open(&path).unwrap();
    let spec = reader.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 24_000, 16)
    );
    let written: Vec<u8> = reader
        .into_samples::<i16>()
        .flat_map(|s| s.unwrap().to_le_bytes())
        .collect();
    assert_eq!(written, [a, b].concat());
}

/// G.711 output is decoded and resampled to the file's 24 kHz, keeping duration and pitch.
#[test]
fn wav_sink_converts_g711() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    let pcm = f32_to_pcm16(&tone(440.0, 24_000, 1.0, 0.5));
    let alaw =
        realtime_agent::audio::codec::convert(&pcm, AudioFormat::Pcm16, AudioFormat::G711Alaw)
            .unwrap();
    assert_eq!(alaw.len(), 8_000);
    let mut sink = WavSink::create(&path, AudioFormat::G711Alaw).unwrap();
    for piece in alaw.chunks(160) {
        sink.play("item", piece).unwrap();
    }
    sink.finish_item("item").unwrap();
    sink.close().unwrap();
    let samples: Vec<f32> = hound::WavReader::open(&path)
        .unwrap()
        .into_samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    assert_eq!(samples.len(), 24_000);
    let freq = measure_frequency(&samples, 24_000, 480);
    assert!((freq - 440.0).abs() < 0.5, "{freq} Hz");
}
