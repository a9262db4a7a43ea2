//! Lines typed on (or piped into) stdin: messages, approval answers, push-to-talk presses.

use std::io::BufRead;

use tokio::sync::mpsc;

/// Lines from stdin, read on a thread of their own.
///
/// Reading a terminal blocks, and neither the OS nor tokio can interrupt a blocked read; a
/// thread that waits for the next line does no harm and ends with the process (or at the next
/// line, once nobody listens). Lines are bounded by the channel, so a fast pipe waits for the
/// conversation instead of filling memory.
pub(crate) struct Console {
    lines: mpsc::Receiver<String>,
}

impl Console {
    /// Starts reading stdin.
    pub(crate) fn start() -> Console {
        let (tx, lines) = mpsc::channel(16);
        let spawned = std::thread::Builder::new()
            .name("agent-stdin".into())
            .spawn(move || read_lines(tx));
        if let Err(error) = spawned {
            tracing::warn!(%error, "cannot read stdin");
        }
        Console { lines }
    }

    /// The next line without its line ending; `None` once stdin has ended. Cancel-safe.
    pub(crate) async fn next_line(&mut self) -> Option<String> {
        self.lines.recv().await
    }
}

fn read_lines(tx: mpsc::Sender<String>) {
    let stdin = std::io::stdin();
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match stdin.lock().read_until(b'\n', &mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buffer)
                    .trim_end_matches(['\n', '\r'])
                    .to_owned();
                if tx.blocking_send(line).is_err() {
                    return;
                }
            }
        }
    }
}
