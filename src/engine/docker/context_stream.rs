//! A build context written on a blocking thread and sent to the engine as the request body
//! while it is being written, through a bounded channel: memory stays at a few chunks
//! whatever the context's size (a 3 GB context took 6.3 GB when it was assembled first).

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::api::BuildContext;

/// Bytes per chunk sent to the engine.
const CHUNK: usize = 256 << 10;
/// Chunks buffered between the writer and the engine (so at most ~2 MiB in flight).
const CHANNEL_CHUNKS: usize = 8;

/// The writer side of a streamed context.
pub(crate) struct Producer {
    handle: JoinHandle<io::Result<()>>,
    /// Set when the body was dropped (the engine stopped reading, or the build was cancelled):
    /// the writer's error is then a consequence, not a cause.
    receiver_gone: Arc<AtomicBool>,
}

/// Starts writing `context` on a blocking thread; returns the request body and the writer.
/// Must be called inside a tokio runtime.
pub(crate) fn spawn(
    context: BuildContext,
) -> (
    impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static,
    Producer,
) {
    let (tx, mut rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_CHUNKS);
    let receiver_gone = Arc::new(AtomicBool::new(false));
    let gone = receiver_gone.clone();
    let handle = tokio::task::spawn_blocking(move || {
        let mut w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
            gone,
        };
        let r = context.write_to(&mut w).and_then(|()| w.send_chunk());
        if let Err(e) = &r {
            // The body ends with this error, so the engine sees an aborted upload rather
            // than a short tar it might take for a whole one.
            let _ = tx.blocking_send(Err(io::Error::new(e.kind(), e.to_string())));
        }
        r
    });
    let body = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    (
        body,
        Producer {
            handle,
            receiver_gone,
        },
    )
}

impl Producer {
    /// The writer's own error, once it has finished (waiting at most a few seconds): `None`
    /// when it succeeded, or when it only failed because the body was dropped. Call it after
    /// the request ended (and its body was dropped).
    pub(crate) async fn failure(self) -> Option<io::Error> {
        let r = tokio::time::timeout(Duration::from_secs(10), self.handle).await;
        match r {
            Ok(Ok(Err(e))) if !self.receiver_gone.load(Ordering::SeqCst) => Some(e),
            Ok(Err(join)) => Some(io::Error::other(format!(
                "writing the build context failed: {join}"
            ))),
            _ => None,
        }
    }
}

struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
    gone: Arc<AtomicBool>,
}

impl ChannelWriter {
    fn send_chunk(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx.blocking_send(Ok(Bytes::from(chunk))).map_err(|_| {
            self.gone.store(true, Ordering::SeqCst);
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the engine stopped reading the build context",
            )
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= CHUNK {
            self.send_chunk()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .unwrap()
    }

    /// Guards against a deadlock (what an implementation that assembles the whole context
    /// before sending it would do here); not a timing assertion.
    const DEADLOCK: Duration = Duration::from_secs(120);

    #[test]
    fn the_body_flows_before_the_context_is_written() {
        let rt = runtime();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let context = BuildContext::from_writer(move |w| {
            w.write_all(&vec![1u8; CHUNK])?;
            // Blocks until the body's first chunk has been taken.
            go_rx.recv().map_err(io::Error::other)?;
            w.write_all(&vec![2u8; 3 * CHUNK + 5])
        });
        rt.block_on(async {
            let (body, producer) = spawn(context);
            let mut body = Box::pin(body);
            let first = tokio::time::timeout(DEADLOCK, body.next())
                .await
                .expect("the first chunk must arrive while the context is still being written")
                .unwrap()
                .unwrap();
            assert_eq!(first.len(), CHUNK);
            assert!(first.iter().all(|&b| b == 1));
            go_tx.send(()).unwrap();
            let mut rest = Vec::new();
            while let Some(chunk) = body.next().await {
                rest.extend_from_slice(&chunk.unwrap());
            }
            assert_eq!(rest.len(), 3 * CHUNK + 5);
            assert!(rest.iter().all(|&b| b == 2));
            assert!(producer.failure().await.is_none());
        });
    }

    #[test]
    fn a_writer_error_ends_the_body_and_is_reported() {
        let rt = runtime();
        let context = BuildContext::from_writer(|w| {
            w.write_all(b"partial")?;
            Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "/ctx/secret: Permission denied (os error 13)",
            ))
        });
        rt.block_on(async {
            let (body, producer) = spawn(context);
            let items: Vec<_> = body.collect().await;
            // The body ends with the error (what was buffered before it is not sent).
            assert!(items.last().unwrap().is_err());
            let e = producer.failure().await.unwrap();
            assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
            assert!(e.to_string().contains("/ctx/secret"), "{e}");
        });
    }

    #[test]
    fn dropping_the_body_stops_the_writer() {
        let rt = runtime();
        let context = BuildContext::from_writer(|w| {
            let block = vec![0u8; 64 << 10];
            loop {
                w.write_all(&block)?;
            }
        });
        rt.block_on(async {
            let (body, producer) = spawn(context);
            let mut body = Box::pin(body);
            assert!(body.next().await.unwrap().is_ok());
            drop(body);
            // The writer ends (its error is a consequence of the drop, not reported).
            assert!(producer.failure().await.is_none());
        });
    }

    #[test]
    fn bytes_in_memory_are_a_context_too() {
        let rt = runtime();
        rt.block_on(async {
            let (body, producer) = spawn(BuildContext::from(vec![7u8; CHUNK + 1]));
            let items: Vec<_> = body.collect().await;
            let total: usize = items.iter().map(|c| c.as_ref().unwrap().len()).sum();
            assert_eq!(total, CHUNK + 1);
            assert!(producer.failure().await.is_none());
        });
    }
}
