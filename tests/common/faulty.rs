//! A loopback TCP proxy in front of the test S3 server that fails a share of connections:
//! answers `503 Slow Down`, or resets the connection before answering. Deterministic per seed.

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
}

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
                    let stats = counters.clone();
                    tokio::spawn(async move {
                        if draw < percent * 3 / 4 {
                            // Like a real server under load: read the whole request, then refuse it.
                            stats.unavailable.fetch_add(1, Ordering::SeqCst);
                            read_request(&mut client).await;
                            let _ = client.write_all(UNAVAILABLE).await;
                            let _ = client.shutdown().await;
                        } else if draw < percent {
                            // A connection dropped before the server read a byte.
                            stats.resets.fetch_add(1, Ordering::SeqCst);
                            let _ = client.set_zero_linger();
                            drop(client);
                        } else if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
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
        self.stats.unavailable.load(Ordering::SeqCst) + self.stats.resets.load(Ordering::SeqCst)
    }
}

/// Reads one HTTP/1.1 request: the head, then `Content-Length` bytes of body.
async fn read_request(client: &mut TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match tokio::time::timeout(Duration::from_secs(5), client.read(&mut byte)).await {
            Ok(Ok(1)) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let _ = tokio::io::copy(&mut client.take(length), &mut tokio::io::sink()).await;
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
