//! A loopback TCP proxy in front of the test S3 server that fails a share of connections:
//! answers `503 Slow Down`, resets the connection before answering, stalls (reads the request
//! and never answers), or cuts a large response body in half. Deterministic per seed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
pub struct FaultStats {
    pub connections: AtomicUsize,
    pub unavailable: AtomicUsize,
    pub resets: AtomicUsize,
    pub stalls: AtomicUsize,
    pub truncated: AtomicUsize,
}

/// Bodies at least this big (engines, not listings or sidecars) are the ones cut short.
const CUT_MIN: u64 = 64 * 1024;
/// Longer than the read timeout the tests give the client.
const STALL: Duration = Duration::from_secs(10);

pub struct FaultyProxy {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub stats: Arc<FaultStats>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const UNAVAILABLE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: 96\r\nConnection: close\r\n\r\n<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>x</Message></Error>";

impl FaultyProxy {
    /// Forwards to `upstream` (an `http://host:port` endpoint), failing `percent`% of connections.
    pub fn start(upstream: &str, percent: u64, seed: u64) -> FaultyProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("upstream address");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let endpoint = format!("http://{}", listener.local_addr().expect("local addr"));
        let stats = Arc::new(FaultStats::default());
        let (shutdown, mut stop) = tokio::sync::oneshot::channel::<()>();
        let counters = stats.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("proxy runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("tokio listener");
                let state = AtomicU64::new(seed);
                loop {
                    let mut client = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok((socket, _)) => socket,
                            Err(_) => continue,
                        },
                        _ = &mut stop => break,
                    };
                    counters.connections.fetch_add(1, Ordering::SeqCst);
                    let draw = next(&state) % 100;
                    let cut_draw = next(&state) % 100;
                    let stats = counters.clone();
                    tokio::spawn(async move {
                        // Of the failed connections: half 503, a quarter resets, a quarter stalls.
                        if draw * 2 < percent {
                            // Like a real server under load: read the whole request, then refuse it.
                            stats.unavailable.fetch_add(1, Ordering::SeqCst);
                            read_request(&mut client).await;
                            let _ = client.write_all(UNAVAILABLE).await;
                            let _ = client.shutdown().await;
                        } else if draw * 4 < percent * 3 {
                            // A connection dropped before the server read a byte.
                            stats.resets.fetch_add(1, Ordering::SeqCst);
                            let _ = client.set_zero_linger();
                            drop(client);
                        } else if draw < percent {
                            // The request goes nowhere and no answer comes.
                            stats.stalls.fetch_add(1, Ordering::SeqCst);
                            read_request(&mut client).await;
                            tokio::time::sleep(STALL).await;
                        } else if let Ok(server) = TcpStream::connect(upstream).await {
                            // Large bodies (engines) are cut half-way at the same rate.
                            relay(client, server, cut_draw < percent, &stats).await;
                        }
                    });
                }
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        });
        FaultyProxy {
            endpoint,
            stats,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    pub fn faults(&self) -> usize {
        [
            &self.stats.unavailable,
            &self.stats.resets,
            &self.stats.stalls,
            &self.stats.truncated,
        ]
        .iter()
        .map(|count| count.load(Ordering::SeqCst))
        .sum()
    }
}

/// Reads an HTTP/1.1 message head; returns it and its `Content-Length` (0 when absent).
async fn read_head<R: tokio::io::AsyncRead + Unpin>(from: &mut R) -> Option<(Vec<u8>, u64)> {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(5), from.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => return None,
        }
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Some((head, length))
}

/// Reads one HTTP/1.1 request: the head, then `Content-Length` bytes of body.
async fn read_request(client: &mut TcpStream) {
    use tokio::io::AsyncReadExt;
    if let Some((_, length)) = read_head(client).await {
        let _ = tokio::io::copy(&mut client.take(length), &mut tokio::io::sink()).await;
    }
}

/// Forwards one exchange; with `cut`, a large response body stops half-way and the connection
/// closes.
async fn relay(client: TcpStream, server: TcpStream, cut: bool, stats: &FaultStats) {
    use tokio::io::AsyncReadExt;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let request = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    if let Some((head, length)) = read_head(&mut server_read).await {
        let _ = client_write.write_all(&head).await;
        if cut && length >= CUT_MIN {
            stats.truncated.fetch_add(1, Ordering::SeqCst);
            let _ = tokio::io::copy(&mut server_read.take(length / 2), &mut client_write).await;
        } else {
            // The server closes after one exchange: the rest, chunked or not, is the body.
            let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        }
    }
    request.abort();
}

fn next(state: &AtomicU64) -> u64 {
    let value = state
        .load(Ordering::SeqCst)
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    state.store(value, Ordering::SeqCst);
    value >> 33
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
