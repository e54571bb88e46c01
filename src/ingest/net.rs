//! Socket plumbing every listener shares: binding (so a port clash fails start-up, not later),
//! the UDP receive buffer, and the TCP accept loop with a connection limit and graceful
//! shutdown (mini-redis's shape: a semaphore permit per connection, shutdown by a watch).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{Semaphore, watch};

/// A listener that could not be bound.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("cannot bind {proto} on {addr}: {source}")]
    Bind {
        proto: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Binds a TCP listener.
pub async fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, ListenerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ListenerError::Bind {
            proto: "tcp",
            addr,
            source,
        })
}

/// Binds a UDP socket with the requested receive buffer: UDP traffic is bursty (statsd
/// clients flush on the same second, syslog storms) and the kernel buffer absorbs the burst.
pub fn bind_udp(addr: SocketAddr, recv_buffer: usize) -> Result<UdpSocket, ListenerError> {
    let err = |source| ListenerError::Bind {
        proto: "udp",
        addr,
        source,
    };
    let domain = socket2::Domain::for_address(addr);
    let sock = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))
        .map_err(err)?;
    if recv_buffer > 0 {
        // best effort: the kernel silently caps it at net.core.rmem_max
        let _ = sock.set_recv_buffer_size(recv_buffer);
    }
    sock.set_nonblocking(true).map_err(err)?;
    sock.bind(&addr.into()).map_err(err)?;
    UdpSocket::from_std(sock.into()).map_err(err)
}

/// Accepts connections until `shutdown` flips, running `handle` for each on its own task
/// while fewer than `max_connections` are open (`refused` is called for the others, which are
/// closed at once). Returns after every connection task has finished, so a caller that
/// awaits it knows every byte read has been handed on.
pub async fn accept_loop<H, F>(
    listener: TcpListener,
    what: &'static str,
    max_connections: usize,
    mut shutdown: watch::Receiver<bool>,
    refused: impl Fn(),
    handle: H,
) where
    H: Fn(TcpStream, SocketAddr) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning
                tracing::warn!("{what} accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            refused();
            drop(stream);
            continue;
        };
        let conn = handle(stream, peer);
        conns.spawn(async move {
            conn.await;
            drop(permit);
        });
        // reap finished connection tasks so the set does not grow without bound
        while conns.try_join_next().is_some() {}
    }
    drop(listener);
    while conns.join_next().await.is_some() {}
}

/// Reads what the socket has into `buf` (growing it in 64 KiB steps), unless shutdown is asked
/// for first. Returns true at the end of the stream: the peer closed, the read failed, or
/// shutdown flipped; the caller then takes what `buf` holds as complete.
pub async fn read_some(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    shutdown: &mut watch::Receiver<bool>,
    what: &str,
    peer: SocketAddr,
) -> bool {
    if buf.capacity() - buf.len() < 16 * 1024 {
        buf.reserve(64 * 1024);
    }
    tokio::select! {
        biased;
        _ = shutdown.changed() => true,
        r = stream.read_buf(buf) => match r {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => {
                tracing::debug!("{what} read from {peer} failed: {e}");
                true
            }
        },
    }
}

/// Whether ingestion is paused (the disk floor, see `crate::disk`): TCP readers wait in
/// [`Pause::wait_resumed`] before reading more, UDP readers drop and count while
/// [`Pause::is_paused`]. A listener never decides this; it only obeys.
#[derive(Debug, Clone)]
pub struct Pause(watch::Receiver<bool>);

impl Pause {
    pub fn new(rx: watch::Receiver<bool>) -> Pause {
        Pause(rx)
    }

    /// Never paused (tests, and tools that run listeners without a data directory).
    pub fn never() -> Pause {
        Pause(watch::channel(false).1)
    }

    pub fn is_paused(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns at once when not paused; otherwise waits until resumed (true) or until
    /// `shutdown` flips (false).
    pub async fn wait_resumed(&mut self, shutdown: &mut watch::Receiver<bool>) -> bool {
        loop {
            if !*self.0.borrow_and_update() {
                return true;
            }
            tokio::select! {
                _ = shutdown.changed() => return false,
                r = self.0.changed() => if r.is_err() {
                    // the monitor is gone (shutdown under way): do not hold readers
                    return true;
                },
            }
        }
    }
}
