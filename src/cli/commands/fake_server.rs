//! `agent fake-server`: the `--sim` model behind a fake Realtime server on 127.0.0.1, for
//! clients written in any language.

use std::io::Write as _;

use crate::testing::FakeServer;
use crate::testing::sim::SimModel;

use super::super::exit::{ExitCode, Failure};

/// Listens on 127.0.0.1:`port` (0: a free port), prints the WebSocket URL as the first line of
/// stdout, and serves until Ctrl-C.
pub(crate) async fn fake_server(port: u16) -> Result<(), Failure> {
    let server = FakeServer::builder()
        .responder(SimModel::new())
        // A voice client's turns are detected from its audio level, as server VAD would.
        .detect_speech(true)
        // It may run for hours: keep no transcript of events or audio.
        .record_events(false)
        .record_payloads(false)
        .keep_input_audio(false)
        .port(port)
        .try_start()
        .await
        .map_err(|error| {
            Failure::new(
                ExitCode::Network,
                format!("cannot listen on 127.0.0.1:{port}: {error} (try another --port)"),
            )
        })?;
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "fake Realtime server with the --sim model, GA and beta (send `OpenAI-Beta: \
         realtime=v1` for beta); any API key is accepted. Ctrl-C stops it."
    );
    let _ = tokio::signal::ctrl_c().await;
    server.shutdown();
    Ok(())
}
