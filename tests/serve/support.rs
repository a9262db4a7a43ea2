//! Starting a server against the fake Realtime server, and a minimal HTTP/1.1 client.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use realtime_agent::config::Config;
use realtime_agent::serve::{Secret, ServeEvent, ServeOptions, Server};
use realtime_agent::testing::FakeServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

/// How long anything in these tests may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// The public address Twilio is told about (signatures are computed over it).
pub const PUBLIC_URL: &str = "https://agent.example.com";
/// The Twilio auth token the tests sign with.
pub const TWILIO_TOKEN: &str = "twilio-auth-token-for-tests";

/// A running server and the handles to drive it.
pub struct Running {
    pub addr: SocketAddr,
    pub events: broadcast::Receiver<ServeEvent>,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<()>,
}

impl Running {
    /// Starts shutdown (as SIGTERM does) and waits for the server to return.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("the server stops")
            .expect("the server task ends cleanly");
    }

    /// The next event matching `f`, within [`WAIT`].
    pub async fn event<T>(&mut self, mut f: impl FnMut(&ServeEvent) -> Option<T>) -> T {
        tokio::time::timeout(WAIT, async {
            loop {
                let event = self.events.recv().await.expect("the server is running");
                if let Some(found) = f(&event) {
                    return found;
                }
            }
        })
        .await
        .expect("the event arrives in time")
    }
}

/// Options for agent.toml `text`, connected to `fake`, listening on a free port, with Twilio's
/// token and the public URL set.
pub fn options(text: &str, fake: &FakeServer) -> ServeOptions {
    let mut config = Config::parse(text, Path::new("agent.toml")).expect("a valid agent.toml");
    config.agent.url = Some(fake.url());
    let mut options =
        ServeOptions::from_config(config, Some("127.0.0.1:0")).expect("valid options");
    options.public_url = Some(PUBLIC_URL.to_owned());
    options.twilio_auth_token = Some(Secret::new(TWILIO_TOKEN));
    options
}

/// Binds and runs a server with `options`.
pub async fn start(options: ServeOptions) -> Running {
    let server = Server::bind(options).await.expect("the server binds");
    let addr = server.local_addr();
    let events = server.subscribe();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async move {
                let _ = stopped.await;
            })
            .await
            .expect("the server runs");
    });
    Running {
        addr,
        events,
        stop: Some(stop),
        task,
    }
}

/// An HTTP response as read off the wire.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP/1.1 request (`Connection: close` unless the headers name another) and reads
/// the answer: its head, then `Content-Length` bytes or everything until the server closes.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut tcp = TcpStream::connect(addr).await.expect("the server accepts");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("connection"))
    {
        request.push_str("Connection: close\r\n");
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if length.is_some_and(|n| raw.len() >= end + 4 + n) {
                    return;
                }
            }
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server answers in time");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete HTTP answer");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect::<Vec<_>>();
    let body = if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}
