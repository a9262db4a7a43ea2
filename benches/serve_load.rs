//! `agent serve` under load: N simultaneous simulated Twilio calls, each streaming µ-law in real
//! time (a 20 ms `media` frame every 20 ms) for S seconds, speaking for a second every 10 s so
//! that the model calls a tool every 10 s, acknowledging every mark of the answers, and
//! hanging up 2 s after its last frame (so that every call the model makes reaches a caller
//! still on the line).
//!
//! The fake Realtime server and the Twilio callers run in a child process, so this process's
//! CPU and memory are the server's alone. Reports lost media frames (caller audio dropped on its
//! way to the model, as the server counts it), lost tool outputs (calls the model made that got
//! no output), answer frames the callers received, CPU seconds per call-minute and memory per
//! call. Memory per call is the growth of the server's anonymous memory (heap and stacks) from
//! the idle server to the moment every call is streaming, divided by the calls. The growth of
//! the whole RSS is printed too: it also counts the pages of the binary's code and data that
//! the first calls bring in (shared with every process running the binary, and the same for one
//! call or a thousand), so divided by the calls it overstates what a call costs, the more so
//! the fewer the calls.
//!
//! Run: `cargo bench --bench serve_load` (200 calls for 60 s), or e.g.
//! `CALLS=50 SECONDS=20 cargo bench --bench serve_load`. With `TRACE_LOST=1` the fake server
//! keeps its event log and the timeline of every connection with a call left unanswered is
//! printed.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use realtime_agent::config::Config;
use realtime_agent::protocol::Item;
use realtime_agent::serve::{Secret, ServeOptions, Server};
use realtime_agent::testing::{FakeServer, Reply, ResponseRequest};
use realtime_agent::tool::{ToolRegistry, tool_fn_without_context};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

const PUBLIC_URL: &str = "https://agent.example.com";
const TWILIO_TOKEN: &str = "bench-twilio-token";
/// How long a caller stays on the line after its last frame before hanging up.
const HANG_UP_AFTER: Duration = Duration::from_secs(2);

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NoArgs {}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU seconds of this process (user + system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|f| f.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

/// This process's resident memory, from `/proc/self/status`.
#[derive(Clone, Copy)]
struct Resident {
    /// All of it (`VmRSS`), KiB.
    total: u64,
    /// Anonymous pages (`RssAnon`: the heap and the stacks), KiB.
    anon: u64,
    /// Pages of mapped files (`RssFile`: the binary's code and data, shared with every process
    /// running it), KiB.
    file: u64,
}

fn resident() -> Resident {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Resident {
        total: field("VmRSS:"),
        anon: field("RssAnon:"),
        file: field("RssFile:"),
    }
}

/// 20 ms of µ-law: a 300 Hz tone (speech to the fake's VAD) or silence.
fn frame(loud: bool, n: u64) -> Vec<u8> {
    (0..160u64)
        .map(|i| {
            let t = (n * 160 + i) as f64 / 8000.0;
            let v = if loud {
                (0.4 * (std::f64::consts::TAU * 300.0 * t).sin() * 32767.0) as i16
            } else {
                0
            };
            realtime_agent::audio::g711::ulaw_encode(v)
        })
        .collect()
}

/// One caller: the signed webhook, then the media stream for `seconds`. Returns (media frames
/// sent, answer frames received).
async fn caller(addr: std::net::SocketAddr, index: usize, seconds: u64) -> (u64, u64) {
    let call_sid = format!("CA{index:06}");
    let params: Vec<(String, String)> = vec![
        ("CallSid".into(), call_sid.clone()),
        ("From".into(), "+15550000000".into()),
    ];
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    let signature = realtime_agent::serve::twilio::sign(
        TWILIO_TOKEN.as_bytes(),
        &format!("{PUBLIC_URL}/twilio/voice"),
        &params,
    );
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /twilio/voice HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    let marker = "name=\"token\" value=\"";
    let at = answer.find(marker).expect("TwiML with a token") + marker.len();
    let token = &answer[at..at + answer[at..].find('"').unwrap()];

    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/twilio/media"))
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    let stream_sid = format!("MZ{index:06}");
    tx.send(Message::text(
        json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}).to_string(),
    ))
    .await
    .unwrap();
    tx.send(Message::text(
        json!({"event": "start", "sequenceNumber": "1", "streamSid": stream_sid, "start": {
            "streamSid": stream_sid, "callSid": call_sid, "accountSid": "AC0",
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": {"token": token}}})
        .to_string(),
    ))
    .await
    .unwrap();
    let (acks_tx, mut acks_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    // The reader acknowledges every mark at once (the caller hears everything).
    let reader = tokio::spawn(async move {
        let mut media = 0u64;
        while let Some(Ok(message)) = rx.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let v: Value = serde_json::from_str(&text).unwrap();
            match v["event"].as_str() {
                Some("media") => media += 1,
                Some("mark") => {
                    let _ = acks_tx.send(v["mark"]["name"].as_str().unwrap().to_owned());
                }
                _ => {}
            }
        }
        media
    });
    let frames = seconds * 50;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    // Spread the calls' speech over the 10 s cycle.
    let offset = (index as u64 * 7) % 500;
    for n in 0..frames {
        tick.tick().await;
        while let Ok(name) = acks_rx.try_recv() {
            let ack = json!({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}});
            let _ = tx.send(Message::text(ack.to_string())).await;
        }
        let loud = (n + offset) % 500 < 50;
        let payload = base64::engine::general_purpose::STANDARD.encode(frame(loud, n));
        let media = json!({"event": "media", "streamSid": stream_sid, "media": {"track": "inbound", "chunk": n.to_string(), "timestamp": (n * 20).to_string(), "payload": payload}});
        if tx.send(Message::text(media.to_string())).await.is_err() {
            break;
        }
    }
    // The caller stays on the line a moment before hanging up, so that a turn its last frames
    // ended is answered: a tool call the model sends after the hang-up has nobody to answer
    // it and is not a lost output. (Counting in frames is not enough: a caller that falls
    // behind sends its last frames in a burst, right before the hang-up.)
    tokio::time::sleep(HANG_UP_AFTER).await;
    let _ = tx
        .send(Message::text(
            json!({"event": "stop", "streamSid": stream_sid}).to_string(),
        ))
        .await;
    let media = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .map(|r| r.unwrap_or(0))
        .unwrap_or(0);
    (frames, media)
}

/// For connections where a call got no output: their last non-audio events, both ways.
fn trace_lost(fake: &FakeServer) {
    let mut by_conn: std::collections::BTreeMap<usize, Vec<(Duration, String)>> =
        Default::default();
    for r in fake.received() {
        if r.event_type != "input_audio_buffer.append" {
            by_conn
                .entry(r.connection)
                .or_default()
                .push((r.at, format!("<- {}", r.event_type)));
        }
    }
    let mut last_append: std::collections::HashMap<usize, Duration> = Default::default();
    for r in fake.received() {
        if r.event_type == "input_audio_buffer.append" {
            last_append.insert(r.connection, r.at);
        }
    }
    for s in fake.sent() {
        if !s.event_type.contains("audio") {
            by_conn
                .entry(s.connection)
                .or_default()
                .push((s.at, format!("-> {}", s.event_type)));
        }
    }
    for (conn, mut events) in by_conn {
        events.sort();
        let calls = events
            .iter()
            .filter(|e| e.1 == "-> response.function_call_arguments.done")
            .count();
        let outputs = events
            .iter()
            .filter(|e| e.1 == "<- conversation.item.create")
            .count();
        if calls != outputs {
            eprintln!(
                "connection {conn}: {calls} calls, {outputs} outputs; last append at {:?}",
                last_append.get(&conn)
            );
            for (at, e) in events.iter().rev().take(14).rev() {
                eprintln!("  {at:?} {e}");
            }
        }
    }
}

/// The child: the fake model (a tool call per spoken turn) and the callers.
fn callers() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let model = |request: &ResponseRequest<'_>| match request.conversation.last() {
            Some(Item::FunctionCallOutput(_)) => Reply::text("Done."),
            _ => Reply::call("ping", json!({})),
        };
        let trace = std::env::var("TRACE_LOST").is_ok();
        let fake = FakeServer::builder()
            .record_events(trace)
            .keep_input_audio(false)
            .detect_speech(true)
            .responder(model)
            .start()
            .await;
        println!("URL {}", fake.url());
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).unwrap();
        let addr: std::net::SocketAddr = line.trim().parse().unwrap();
        let calls = env("CALLS", 200) as usize;
        let seconds = env("SECONDS", 60);
        let tasks: Vec<_> = (0..calls)
            .map(|i| tokio::spawn(caller(addr, i, seconds)))
            .collect();
        let (mut sent, mut received) = (0, 0);
        for task in tasks {
            let (s, r) = task.await.unwrap();
            sent += s;
            received += r;
        }
        let (tool_calls, outputs) = fake.call_counts();
        if trace {
            trace_lost(&fake);
        }
        println!("STATS {sent} {received} {tool_calls} {outputs}");
    });
}

/// The dropped-frames counter from `/metrics`.
async fn dropped_frames(addr: std::net::SocketAddr) -> u64 {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut text = String::new();
    tcp.read_to_string(&mut text).await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("agent_audio_frames_dropped_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    if std::env::var("SERVE_LOAD_CALLERS").is_ok() {
        return callers();
    }
    let calls = env("CALLS", 200);
    let seconds = env("SECONDS", 60);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("SERVE_LOAD_CALLERS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("URL ").unwrap().to_owned();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let before = resident();
    let (cpu, peak, idle, dropped) = runtime.block_on(async move {
        let mut config = Config::default();
        config.agent.url = Some(url);
        config.transcription.enabled = Some(false);
        let mut options = ServeOptions::from_config(config, Some("127.0.0.1:0")).unwrap();
        options.public_url = Some(PUBLIC_URL.into());
        options.twilio_auth_token = Some(Secret::new(TWILIO_TOKEN));
        options.max_sessions = calls as usize + 10;
        let mut tools = ToolRegistry::new();
        tools
            .add(tool_fn_without_context(
                "ping",
                "Answers pong.",
                |_: NoArgs| async { Ok::<_, String>("pong") },
            ))
            .unwrap();
        options.rust_tools = tools;
        let server = Server::bind(options).await.unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        // The server before its first call: what the calls add is measured from here too.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let idle = resident();
        writeln!(child.stdin.as_mut().unwrap(), "{addr}").unwrap();
        let cpu_before = cpu_seconds();
        // Memory once every call is streaming.
        tokio::time::sleep(Duration::from_secs(seconds.min(10) / 2 + 2)).await;
        let peak = resident();
        let stats = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            let _ = child.wait();
            line
        })
        .await
        .unwrap();
        let cpu = cpu_seconds() - cpu_before;
        let dropped = dropped_frames(addr).await;
        let _ = stop.send(());
        let _ = running.await;
        (cpu, peak, idle, (dropped, stats))
    });
    let (dropped, stats) = dropped;
    let stats: Vec<u64> = stats
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let (sent, received, tool_calls, outputs) = (stats[0], stats[1], stats[2], stats[3]);
    let call_minutes = calls as f64 * seconds as f64 / 60.0;
    let per_call = |after: u64, before: u64| after.saturating_sub(before) as f64 / calls as f64;
    println!(
        "serve_load: {calls} Twilio calls × {seconds} s: {sent} media frames sent, {dropped} lost; \
         {tool_calls} tool calls, {} outputs lost; {received} answer frames received; \
         {cpu:.2} CPU-s in the server = {:.4} CPU-s per call-minute",
        tool_calls as i64 - outputs as i64,
        cpu / call_minutes,
    );
    println!(
        "serve_load memory per call: {:.1} KiB of heap and stacks (anonymous RSS over the idle \
         server's {} KiB); RSS {:.1} KiB over the idle server, {:.1} KiB from before it started \
         (these include the binary's code that the calls paged in once: {} KiB, {:.1} KiB per call)",
        per_call(peak.anon, idle.anon),
        idle.anon,
        per_call(peak.total, idle.total),
        per_call(peak.total, before.total),
        peak.file.saturating_sub(idle.file),
        per_call(peak.file, idle.file),
    );
}
