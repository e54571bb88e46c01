//! Graphite plaintext listeners: TCP (back-pressure: a full pipeline stops our reads) and UDP
//! (no back-pressure: a full pipeline drops the datagram's points and counts them). A bad line
//! is rejected and counted and the connection kept, unlike syslog framing errors: carbon
//! clients (collectd, scripts) send one bad line among millions and must not be cut off.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::{Buf, BytesMut};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};

use super::{Parsed, parse_line};
use crate::metrics::Counters;
use crate::model::MetricPoint;
use crate::model::time::now_ns;

/// A batch of points: listeners send batches so the channel is not the bottleneck.
pub type PointBatch = Vec<MetricPoint>;

/// Lines longer than this are rejected (carbon's LineOnlyReceiver drops the connection at
/// 16 KiB; we count the line and go on).
pub const MAX_LINE: usize = 16 * 1024;

/// Settings of the carbon listeners.
#[derive(Debug, Clone)]
pub struct CarbonSettings {
    pub max_connections: usize,
    /// SO_RCVBUF for UDP.
    pub udp_recv_buffer: usize,
    /// The disk floor's pause: TCP stops reading, UDP drops and counts.
    pub pause: crate::ingest::net::Pause,
}

/// Parses every complete line in `buf` (leaving a partial last line), appending points.
/// `skipping` is true while the rest of an over-long line is being discarded.
fn drain_lines(
    buf: &mut BytesMut,
    eof: bool,
    skipping: &mut bool,
    out: &mut PointBatch,
    counters: &Counters,
) {
    let now = now_ns() / 1_000_000_000;
    loop {
        let Some(nl) = memchr::memchr(b'\n', buf) else {
            if buf.len() > MAX_LINE && !*skipping {
                counters.carbon_rejected.fetch_add(1, Ordering::Relaxed);
                *skipping = true;
            }
            if *skipping {
                buf.clear();
            } else if eof && !buf.is_empty() {
                let line = buf.split_to(buf.len());
                take(&line, now, out, counters);
            }
            return;
        };
        if *skipping {
            *skipping = false;
            buf.advance(nl + 1);
            continue;
        }
        let line = buf.split_to(nl + 1);
        if nl > MAX_LINE {
            counters.carbon_rejected.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        take(&line[..nl], now, out, counters);
    }
}

fn take(line: &[u8], now: i64, out: &mut PointBatch, counters: &Counters) {
    if line.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    match parse_line(line, now) {
        Ok(Parsed::Point(p)) => out.push(p),
        Ok(Parsed::NaN) => {
            counters.carbon_nan_dropped.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            let n = counters.carbon_rejected.fetch_add(1, Ordering::Relaxed);
            // a sample of bad lines in the log is enough to find the sender
            if n < 10 || n.is_power_of_two() {
                tracing::warn!(
                    "rejected carbon line ({e}): {:?}",
                    String::from_utf8_lossy(&line[..line.len().min(200)])
                );
            }
        }
    }
}

/// Accepts TCP connections until shutdown.
pub async fn serve_tcp(
    listener: TcpListener,
    tx: mpsc::Sender<PointBatch>,
    settings: CarbonSettings,
    counters: Arc<Counters>,
    shutdown: watch::Receiver<bool>,
) {
    let handle = |stream: TcpStream, peer: SocketAddr| {
        let (tx, counters, shutdown) = (tx.clone(), counters.clone(), shutdown.clone());
        let pause = settings.pause.clone();
        async move { read_connection(stream, peer, tx, &counters, pause, shutdown).await }
    };
    crate::ingest::net::accept_loop(
        listener,
        "carbon tcp",
        settings.max_connections,
        shutdown.clone(),
        || {},
        handle,
    )
    .await;
}

async fn read_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    tx: mpsc::Sender<PointBatch>,
    counters: &Counters,
    mut pause: crate::ingest::net::Pause,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut skipping = false;
    let mut eof = false;
    while !eof {
        // paused by the disk floor: leave the bytes in the socket, so the sender buffers
        eof = !pause.wait_resumed(&mut shutdown).await
            || crate::ingest::net::read_some(
                &mut stream,
                &mut buf,
                &mut shutdown,
                "carbon tcp",
                peer,
            )
            .await;
        let mut batch = Vec::new();
        drain_lines(&mut buf, eof, &mut skipping, &mut batch, counters);
        if !batch.is_empty() {
            counters
                .carbon_received
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            if tx.send(batch).await.is_err() {
                return;
            }
        }
    }
}

/// Receives datagrams (each one or more lines) until shutdown.
pub async fn serve_udp(
    socket: UdpSocket,
    tx: mpsc::Sender<PointBatch>,
    counters: Arc<Counters>,
    pause: crate::ingest::net::Pause,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut dgram = vec![0u8; 65_536];
    let mut buf = BytesMut::new();
    loop {
        let r = tokio::select! {
            _ = shutdown.changed() => return,
            r = socket.recv_from(&mut dgram) => r,
        };
        let mut batch = Vec::new();
        let mut next = r;
        loop {
            if let Ok((n, _)) = next {
                buf.clear();
                buf.extend_from_slice(&dgram[..n]);
                let mut skipping = false;
                drain_lines(&mut buf, true, &mut skipping, &mut batch, &counters);
            }
            if batch.len() >= 4096 {
                break;
            }
            next = match socket.try_recv_from(&mut dgram) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                r => r,
            };
        }
        if batch.is_empty() {
            continue;
        }
        let n = batch.len() as u64;
        counters.carbon_received.fetch_add(n, Ordering::Relaxed);
        if pause.is_paused() {
            counters
                .carbon_udp_dropped_disk_floor
                .fetch_add(n, Ordering::Relaxed);
            continue;
        }
        match tx.try_send(batch) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                counters.carbon_udp_dropped.fetch_add(n, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain_all(chunks: &[&[u8]]) -> (Vec<MetricPoint>, u64) {
        let counters = Counters::default();
        let mut buf = BytesMut::new();
        let mut skipping = false;
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            buf.extend_from_slice(c);
            drain_lines(
                &mut buf,
                i + 1 == chunks.len(),
                &mut skipping,
                &mut out,
                &counters,
            );
        }
        (out, counters.carbon_rejected.load(Ordering::Relaxed))
    }

    #[test]
    fn bad_lines_are_counted_and_good_ones_around_them_kept() {
        let (pts, bad) = drain_all(&[b"a 1 10\nbroken line\nb 2 2", b"0\n\nc 3 30"]);
        let names: Vec<&str> = pts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(pts[1].timestamp, 20);
        assert_eq!(bad, 1);
    }

    #[test]
    fn an_overlong_line_is_skipped_without_buffering_it() {
        let long = vec![b'x'; MAX_LINE * 3];
        let (pts, bad) = drain_all(&[b"a 1 1\n", &long, &long, b" 1 1\nb 2 2\n"]);
        assert_eq!(pts.len(), 2);
        assert_eq!(bad, 1);
    }
}
