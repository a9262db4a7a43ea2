//! A small Chrome DevTools Protocol client over tokio-tungstenite: start headless Chromium,
//! open a page, evaluate JavaScript, take a screenshot.

use std::path::Path;
use std::process::Stdio;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::support::WAIT;

/// A headless Chromium with a fake microphone playing `wav`, driven over DevTools.
pub struct Browser {
    _child: tokio::process::Child,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    session: Option<String>,
}

impl Browser {
    /// Starts Debian's `chromium` with its profile and HOME in `dir`.
    pub async fn launch(dir: &Path, wav: &Path) -> Browser {
        let mut child = tokio::process::Command::new("chromium")
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",
                "--remote-debugging-port=0",
            ])
            .arg(format!(
                "--use-file-for-fake-audio-capture={}",
                wav.display()
            ))
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg("about:blank")
            .env("HOME", dir)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("chromium is installed (.ci/run installs it)");
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        // A first start with a fresh profile on a loaded 2-core machine has taken over 20 s.
        let url = tokio::time::timeout(3 * WAIT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(at) = line.find("ws://") {
                    return line[at..].trim().to_owned();
                }
            }
            panic!("chromium exited without a DevTools address");
        })
        .await
        .expect("chromium starts in time");
        // Keep draining stderr so that chromium never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("DevTools connects");
        let mut browser = Browser {
            _child: child,
            ws,
            next_id: 0,
            session: None,
        };
        let target = browser
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = browser
            .call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        browser.session = Some(attached["sessionId"].as_str().unwrap().to_owned());
        browser
    }

    /// Sends a command (to the page once attached) and returns its result.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
        tokio::time::timeout(WAIT, async {
            loop {
                let Some(Ok(Message::Text(text))) = self.ws.next().await else {
                    continue;
                };
                let reply: Value = serde_json::from_str(&text).unwrap();
                if reply["id"] == id {
                    assert!(reply["error"].is_null(), "{method} failed: {reply}");
                    return reply["result"].clone();
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{method} answered in time"))
    }

    /// Evaluates `expression` in the page (as after a user gesture) and returns its value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true, "userGesture": true}),
            )
            .await;
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is true in the page, returning the last value of `show`.
    pub async fn wait_for(&mut self, what: &str, expression: &str, show: &str) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(45);
        loop {
            if self.eval(expression).await == json!(true) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                let seen = self.eval(show).await;
                panic!("timed out waiting for {what}; the page shows {seen}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// A PNG of the page.
    pub async fn screenshot(&mut self) -> Vec<u8> {
        use base64::Engine as _;
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap()
    }
}
