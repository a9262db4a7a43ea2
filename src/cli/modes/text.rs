//! `agent --text`: each stdin line a message, replies streamed to stdout.

use crate::protocol::Modality;

use super::super::driver::Mode;
use super::super::exit::Failure;
use super::super::render::Renderer;
use super::super::session::{self, Context};

/// Holds a written conversation until stdin ends (and the last reply is done) or Ctrl-C.
pub(crate) async fn run(mut context: Context) -> Result<(), Failure> {
    // Written answers: nothing would play audio, and it costs more.
    context.config.agent.output_modalities = Some(vec![Modality::Text]);
    let builder = session::builder(&context)?.audio_events(false);
    let renderer = Renderer::terminal(false);
    session::converse(&context, builder, Mode::Text, renderer, Vec::new()).await?;
    Ok(())
}
