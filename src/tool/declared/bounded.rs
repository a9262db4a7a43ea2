//! Reading a peer-controlled stream into a bounded buffer, and turning it into text.

use tokio::io::{AsyncRead, AsyncReadExt};

/// The first `limit` bytes of a stream, and how many bytes it had in all. The rest is read and
/// thrown away, so that a child process writing more than `limit` is not blocked on a full pipe.
pub(crate) async fn read_bounded<R: AsyncRead + Unpin>(
    mut reader: R,
    limit: usize,
) -> std::io::Result<(Vec<u8>, u64)> {
    let mut kept = Vec::with_capacity(limit.min(8 * 1024));
    let mut scratch = [0u8; 8 * 1024];
    let mut total = 0u64;
    loop {
        let read = reader.read(&mut scratch).await?;
        if read == 0 {
            return Ok((kept, total));
        }
        total += read as u64;
        let room = limit.saturating_sub(kept.len());
        kept.extend_from_slice(&scratch[..read.min(room)]);
    }
}

/// `bytes` as text (invalid UTF-8 replaced); when `truncated`, a character cut by the limit is
/// dropped and a note tells the model the text is incomplete.
pub(crate) fn bounded_text(bytes: &[u8], truncated: bool, limit: usize, what: &str) -> String {
    if !truncated {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let end = match std::str::from_utf8(bytes) {
        Err(error) if error.error_len().is_none() => error.valid_up_to(),
        _ => bytes.len(),
    };
    format!(
        "{}\n[{what} cut at {limit} bytes]",
        String::from_utf8_lossy(&bytes[..end])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes past the limit are counted but not kept.
    #[tokio::test]
    async fn keeps_at_most_limit_bytes() {
        let data = vec![b'x'; 20_000];
        let (kept, total) = read_bounded(&data[..], 100).await.unwrap();
        assert_eq!(kept.len(), 100);
        assert_eq!(total, 20_000);
    }

    /// A multi-byte character cut by the limit is dropped, not turned into U+FFFD.
    #[test]
    fn cut_character_is_dropped() {
        let text = "né".as_bytes();
        assert_eq!(
            bounded_text(&text[..2], true, 2, "output"),
            "n\n[output cut at 2 bytes]"
        );
        assert_eq!(bounded_text(text, false, 3, "output"), "né");
    }
}
