//! Protocol tests: every wire fixture of both dialects decodes and re-encodes to itself, unknown
//! events and fields survive, and `session.update` is spelled exactly right per dialect.

mod protocol {
    mod fixtures;
    mod golden;
    mod nulls;
}
