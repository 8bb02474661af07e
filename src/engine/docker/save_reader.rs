//! Turns an async byte stream into a blocking [`Read`] through a bounded channel, so that a
//! synchronous tar reader on `spawn_blocking` can consume a large download in constant memory.

use std::io::{self, Read};

use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

/// Chunks buffered between the download task and the reader (hyper chunks are at most a few
/// tens of KiB, so this bounds memory to well under a few MiB).
const CHANNEL_CHUNKS: usize = 32;

/// Blocking reader fed by a download task. Dropping it stops the download.
pub(crate) struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    /// Blocks the thread while waiting for data; must not be called from async code (tokio
    /// panics if it is).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// Starts pulling `stream` on a tokio task and returns a reader over it. The first chunk is
/// awaited here, so that an error answered before any data (such as a 404) is returned as
/// `Err(map_first(e))` instead of surfacing on the first `read`.
pub(crate) async fn spawn_reader<S, E, F, T>(
    mut stream: S,
    map_first: F,
) -> Result<ChannelReader, T>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: std::fmt::Display + Send + 'static,
    F: FnOnce(E) -> T,
{
    let first = match stream.next().await {
        Some(Ok(chunk)) => Some(chunk),
        Some(Err(e)) => return Err(map_first(e)),
        None => None,
    };
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    if let Some(first) = first {
        tokio::spawn(async move {
            if tx.send(Ok(first)).await.is_err() {
                return;
            }
            while let Some(item) = stream.next().await {
                let item = item.map_err(|e| io::Error::other(e.to_string()));
                let failed = item.is_err();
                // A send error means the reader was dropped: stop downloading.
                if tx.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
    }
    Ok(ChannelReader {
        rx,
        current: Bytes::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
    }

    #[test]
    fn reads_all_chunks_in_order() {
        let rt = runtime();
        let chunks: Vec<Result<Bytes, String>> =
            (0..100u8).map(|i| Ok(Bytes::from(vec![i; 1000]))).collect();
        let mut reader = rt
            .block_on(spawn_reader(stream::iter(chunks), |e: String| e))
            .unwrap();
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 100_000);
        assert_eq!(all[99_999], 99);
    }

    #[test]
    fn an_error_before_data_is_returned_at_once() {
        let rt = runtime();
        let chunks: Vec<Result<Bytes, String>> = vec![Err("404".into())];
        let r = rt.block_on(spawn_reader(stream::iter(chunks), |e: String| e));
        assert_eq!(r.err().as_deref(), Some("404"));
    }

    #[test]
    fn a_later_error_surfaces_on_read() {
        let rt = runtime();
        let chunks: Vec<Result<Bytes, String>> =
            vec![Ok(Bytes::from_static(b"abc")), Err("cut".into())];
        let mut reader = rt
            .block_on(spawn_reader(stream::iter(chunks), |e: String| e))
            .unwrap();
        let mut all = Vec::new();
        let err = reader.read_to_end(&mut all).unwrap_err();
        assert_eq!(err.to_string(), "cut");
        assert_eq!(all, b"abc");
    }

    #[test]
    fn an_empty_stream_reads_as_eof() {
        let rt = runtime();
        let chunks: Vec<Result<Bytes, String>> = vec![];
        let mut reader = rt
            .block_on(spawn_reader(stream::iter(chunks), |e: String| e))
            .unwrap();
        let mut all = Vec::new();
        assert_eq!(reader.read_to_end(&mut all).unwrap(), 0);
    }
}
