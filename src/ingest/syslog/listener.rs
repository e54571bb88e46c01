//! Syslog listeners. TCP readers apply back-pressure (they `await` a full channel, so a slow
//! disk slows senders down and nothing is lost); the UDP reader never waits: when the pipeline
//! is full a datagram is dropped and counted, so a UDP flood can never stall TCP.
//!
//! Shutdown: when `shutdown` flips, TCP readers stop reading, decode what they already read
//! (a trailing unterminated line included), hand it on and drop their sender; the pipeline
//! drains behind them, so every line read before the signal is committed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::BytesMut;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};

use super::framing::FrameDecoder;
use crate::metrics::Counters;
use crate::model::time::now_ns;
use crate::model::{RawMessage, Transport};

/// A batch of raw messages: listeners send batches so the channel is not the bottleneck.
pub type RawBatch = Vec<RawMessage>;

/// Settings shared by the syslog listeners.
#[derive(Debug, Clone)]
pub struct SyslogSettings {
    /// Longer messages are cut to this many bytes and counted.
    pub max_message_size: usize,
    /// Concurrent TCP connections; further ones are refused and counted.
    pub max_connections: usize,
    /// SO_RCVBUF asked for the UDP socket (the kernel caps it at net.core.rmem_max).
    pub udp_recv_buffer: usize,
    /// The disk floor's pause: TCP stops reading, UDP drops and counts.
    pub pause: Pause,
}

pub use crate::ingest::net::{ListenerError, Pause, bind_tcp, bind_udp};

/// Accepts TCP connections until shutdown; each connection gets its own reader task.
pub async fn serve_tcp(
    listener: TcpListener,
    tx: mpsc::Sender<RawBatch>,
    settings: SyslogSettings,
    counters: Arc<Counters>,
    shutdown: watch::Receiver<bool>,
) {
    let refused = || {
        counters.syslog_tcp_refused.fetch_add(1, Ordering::Relaxed);
    };
    let handle = |stream: TcpStream, peer: SocketAddr| {
        counters
            .syslog_tcp_connections
            .fetch_add(1, Ordering::Relaxed);
        let (tx, settings, counters, shutdown) = (
            tx.clone(),
            settings.clone(),
            counters.clone(),
            shutdown.clone(),
        );
        async move { read_connection(stream, peer, tx, &settings, &counters, shutdown).await }
    };
    crate::ingest::net::accept_loop(
        listener,
        "syslog tcp",
        settings.max_connections,
        shutdown.clone(),
        refused,
        handle,
    )
    .await;
}

/// Reads one connection: frames detected per frame; a framing error closes only this one.
async fn read_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    tx: mpsc::Sender<RawBatch>,
    settings: &SyslogSettings,
    counters: &Counters,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut decoder = FrameDecoder::new(settings.max_message_size);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut eof = false;
    let mut pause = settings.pause.clone();
    while !eof {
        // paused by the disk floor: leave the bytes in the socket, so the sender buffers
        if !pause.wait_resumed(&mut shutdown).await {
            eof = true;
        } else {
            eof = crate::ingest::net::read_some(
                &mut stream,
                &mut buf,
                &mut shutdown,
                "syslog tcp",
                peer,
            )
            .await;
        }
        let received_ns = now_ns();
        let mut batch = Vec::new();
        let mut failed = false;
        loop {
            match decoder.decode(&mut buf, eof) {
                Ok(Some(frame)) => {
                    if frame.truncated {
                        counters.syslog_truncated.fetch_add(1, Ordering::Relaxed);
                    }
                    batch.push(RawMessage {
                        received_ns,
                        peer: Some(peer.ip()),
                        transport: Transport::Tcp,
                        bytes: frame.bytes,
                        truncated: frame.truncated,
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    counters
                        .syslog_tcp_framing_errors
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::warn!("closing syslog connection from {peer}: {e}");
                    failed = true;
                    break;
                }
            }
        }
        if !batch.is_empty() {
            counters
                .syslog_tcp_received
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            if tx.send(batch).await.is_err() {
                return;
            }
        }
        if failed {
            return;
        }
    }
}

/// Receives datagrams until shutdown; one datagram is one message.
pub async fn serve_udp(
    socket: UdpSocket,
    tx: mpsc::Sender<RawBatch>,
    settings: SyslogSettings,
    counters: Arc<Counters>,
    mut shutdown: watch::Receiver<bool>,
) {
    // a datagram can be at most 64 KiB; cut to max_message_size like TCP frames
    let mut buf = vec![0u8; 65_536];
    let max = settings.max_message_size;
    loop {
        let first = tokio::select! {
            _ = shutdown.changed() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        let received_ns = now_ns();
        let mut batch = Vec::with_capacity(16);
        let mut next = first;
        loop {
            match next {
                Ok((n, peer)) => {
                    let mut end = n;
                    // syslog over UDP may carry a trailing LF (rsyslog's Protocol23 template)
                    while end > 0 && matches!(buf[end - 1], b'\n' | b'\r' | 0) {
                        end -= 1;
                    }
                    let truncated = end > max;
                    if truncated {
                        counters.syslog_truncated.fetch_add(1, Ordering::Relaxed);
                    }
                    if end > 0 {
                        batch.push(RawMessage {
                            received_ns,
                            peer: Some(peer.ip()),
                            transport: Transport::Udp,
                            bytes: buf[..end.min(max)].to_vec(),
                            truncated,
                        });
                    }
                }
                Err(e) => tracing::debug!("syslog udp recv failed: {e}"),
            }
            if batch.len() >= 256 {
                break;
            }
            next = match socket.try_recv_from(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                r => r,
            };
        }
        let n = batch.len() as u64;
        counters.syslog_udp_received.fetch_add(n, Ordering::Relaxed);
        if settings.pause.is_paused() {
            counters
                .syslog_udp_dropped_disk_floor
                .fetch_add(n, Ordering::Relaxed);
            continue;
        }
        match tx.try_send(batch) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                counters.syslog_udp_dropped.fetch_add(n, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}
