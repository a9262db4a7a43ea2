//! The conversation modes: voice (the default), text and file.

pub(crate) mod file;
pub(crate) mod text;
pub(crate) mod voice;
