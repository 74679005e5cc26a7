//! A loopback TCP proxy in front of the test S3 server that fails a share of connections:
//! answers `503 Slow Down`, resets the connection before answering, stalls (reads the request
//! and never answers), or cuts a large response body in half; or answers one fixed error status.
//! Faults are drawn per connection: per request against a server that closes after each
//! exchange, as the tests use; healthy connections are kept alive as long as both sides do.
//! Deterministic per seed. It can add a fixed round-trip time to every request, and it counts
//! the requests it forwarded (method and path) and the most that were in flight at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
pub struct FaultStats {
    pub connections: AtomicUsize,
    pub unavailable: AtomicUsize,
    pub resets: AtomicUsize,
    pub stalls: AtomicUsize,
    pub truncated: AtomicUsize,
    /// Requests read from clients and not yet fully answered.
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    /// `METHOD /path?query` of every request read, in arrival order.
    pub requests: Mutex<Vec<String>>,
    /// `METHOD /path?query` of every request failed by `Faults::AnswerTo`.
    pub answered: Mutex<Vec<String>>,
    /// Requests held at a [`Gate`] that went on without it opening.
    pub gate_timeouts: AtomicUsize,
    held: AtomicUsize,
    gate_opened: tokio::sync::Notify,
    /// Each request's start (true) and end (false), in the order they happened.
    events: Mutex<Vec<(bool, String)>>,
}

impl FaultStats {
    /// Requests whose line contains `needle` (e.g. `"GET "`, `"list-type=2"`).
    pub fn count(&self, needle: &str) -> usize {
        let requests = self.requests.lock().unwrap();
        requests.iter().filter(|r| r.contains(needle)).count()
    }

    pub fn total(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// Requests with different lines: a retry after a read timeout (a loaded machine) repeats
    /// its request's line.
    pub fn distinct(&self) -> usize {
        let requests = self.requests.lock().unwrap();
        requests
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
    }

    /// The most requests whose line `counts` that were in flight at once.
    pub fn most_at_once(&self, counts: impl Fn(&str) -> bool) -> usize {
        let events = self.events.lock().unwrap();
        let (mut now, mut most) = (0usize, 0);
        for (started, _) in events.iter().filter(|(_, line)| counts(line)) {
            now = if *started {
                now + 1
            } else {
                now.saturating_sub(1)
            };
            most = most.max(now);
        }
        most
    }

    pub fn reset(&self) {
        self.requests.lock().unwrap().clear();
        self.events.lock().unwrap().clear();
        self.max_in_flight.store(0, Ordering::SeqCst);
    }

    fn begin(&self, head: &[u8]) -> Flight<'_> {
        let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches(" HTTP/1.1").to_string();
        let head_only = line.starts_with("HEAD ");
        self.requests.lock().unwrap().push(line.clone());
        self.events.lock().unwrap().push((true, line.clone()));
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Flight {
            stats: self,
            line,
            head_only,
            done: false,
        }
    }
}

/// One request in flight. It ends before the last byte of its answer is written: a client that
/// has its whole answer (and may send the next request) never sees it still counted.
struct Flight<'a> {
    stats: &'a FaultStats,
    line: String,
    head_only: bool,
    done: bool,
}

impl Flight<'_> {
    fn end(&mut self) {
        if !std::mem::replace(&mut self.done, true) {
            let ended = (false, std::mem::take(&mut self.line));
            self.stats.events.lock().unwrap().push(ended);
            self.stats.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Writes `bytes`, ending the flight just before the last one.
    async fn write_last<W: tokio::io::AsyncWrite + Unpin>(&mut self, to: &mut W, bytes: &[u8]) {
        let split = bytes.len().saturating_sub(1);
        let _ = to.write_all(&bytes[..split]).await;
        self.end();
        let _ = to.write_all(&bytes[split..]).await;
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        self.end();
    }
}

/// What a failed request gets.
#[derive(Clone, Copy)]
pub enum Faults {
    /// Half `503 SlowDown`, a quarter resets, a quarter stalls; large bodies cut at the same rate.
    Mixed,
    /// Every failed request gets this whole response.
    Answer(&'static [u8]),
    /// Only requests whose line contains the needle fail, each with this whole response.
    AnswerTo(&'static str, &'static [u8]),
}

/// Holds the requests whose line contains `needle` until `count` of them are in flight at
/// once, then lets every request through: a test sees that many at once as an event, not by
/// chance. Held requests go on after `within` without it, counted in `gate_timeouts`.
#[derive(Clone, Copy)]
pub struct Gate {
    pub needle: &'static str,
    pub count: usize,
    pub within: Duration,
}

impl Gate {
    async fn pass(&self, line: &str, stats: &FaultStats) {
        if !line.contains(self.needle) {
            return;
        }
        let opened = stats.gate_opened.notified();
        if stats.held.fetch_add(1, Ordering::SeqCst) + 1 >= self.count {
            stats.gate_opened.notify_waiters();
        } else if tokio::time::timeout(self.within, opened).await.is_err() {
            stats.gate_timeouts.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[derive(Clone, Copy)]
pub struct ProxyOptions {
    /// Share of requests that fail, in percent.
    pub percent: u64,
    pub seed: u64,
    pub faults: Faults,
    /// Added before each request is forwarded: a network's round trip.
    pub rtt: Duration,
    pub gate: Option<Gate>,
}

impl ProxyOptions {
    /// No faults, only `rtt` added to every request: a network's latency.
    pub fn latency(rtt: Duration) -> ProxyOptions {
        ProxyOptions {
            percent: 0,
            seed: 1,
            faults: Faults::Mixed,
            rtt,
            gate: None,
        }
    }
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

pub const INTERNAL_ERROR: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nContent-Length: 100\r\nConnection: close\r\n\r\n<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>x</Message></Error>";

pub const UNAVAILABLE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: 96\r\nConnection: close\r\n\r\n<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>x</Message></Error>";

impl FaultyProxy {
    /// Forwards to `upstream` (an `http://host:port` endpoint), failing `percent`% of connections.
    pub fn start(upstream: &str, percent: u64, seed: u64) -> FaultyProxy {
        FaultyProxy::start_with(
            upstream,
            ProxyOptions {
                percent,
                seed,
                faults: Faults::Mixed,
                rtt: Duration::ZERO,
                gate: None,
            },
        )
    }

    pub fn start_with(upstream: &str, options: ProxyOptions) -> FaultyProxy {
        let ProxyOptions {
            percent,
            seed,
            faults,
            rtt,
            gate,
        } = options;
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
            // Up to 8 threads: relaying a benchmark's listings must not be what it measures.
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
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
                    // Small writes go out at once, as a server's do: with Nagle's algorithm a
                    // response head and body written apart wait out the peer's delayed ACK
                    // (40 ms), which a benchmark would measure as the network.
                    let _ = client.set_nodelay(true);
                    counters.connections.fetch_add(1, Ordering::SeqCst);
                    let draw = next(&state) % 100;
                    let cut_draw = next(&state) % 100;
                    let stats = counters.clone();
                    tokio::spawn(async move {
                        let stats = &*stats;
                        match faults {
                            Faults::Answer(response) if draw < percent => {
                                let Some(mut flight) = read_request(&mut client, stats).await
                                else {
                                    return;
                                };
                                tokio::time::sleep(rtt).await;
                                stats.unavailable.fetch_add(1, Ordering::SeqCst);
                                flight.write_last(&mut client, response).await;
                                let _ = client.shutdown().await;
                            }
                            Faults::AnswerTo(needle, response)
                                if draw < percent
                                    && request_line(&client).await.contains(needle) =>
                            {
                                let Some(mut flight) = read_request(&mut client, stats).await
                                else {
                                    return;
                                };
                                let line = stats.requests.lock().unwrap().last().cloned();
                                stats.answered.lock().unwrap().extend(line);
                                stats.unavailable.fetch_add(1, Ordering::SeqCst);
                                flight.write_last(&mut client, response).await;
                                let _ = client.shutdown().await;
                            }
                            Faults::Answer(_) | Faults::AnswerTo(..) => {
                                forward(client, upstream, rtt, gate, false, stats).await
                            }
                            // Of the failed: half 503, a quarter resets, a quarter stalls.
                            Faults::Mixed if draw * 2 < percent => {
                                // Like a real server under load: read the whole request, then refuse it.
                                stats.unavailable.fetch_add(1, Ordering::SeqCst);
                                if let Some(mut flight) = read_request(&mut client, stats).await {
                                    flight.write_last(&mut client, UNAVAILABLE).await;
                                }
                                let _ = client.shutdown().await;
                            }
                            Faults::Mixed if draw * 4 < percent * 3 => {
                                // A connection dropped before the server read a byte.
                                stats.resets.fetch_add(1, Ordering::SeqCst);
                                let _ = client.set_zero_linger();
                                drop(client);
                            }
                            Faults::Mixed if draw < percent => {
                                // The request goes nowhere and no answer comes.
                                stats.stalls.fetch_add(1, Ordering::SeqCst);
                                let _flight = read_request(&mut client, stats).await;
                                tokio::time::sleep(STALL).await;
                            }
                            // Large bodies (engines) are cut half-way at the same rate.
                            Faults::Mixed => {
                                let cut = cut_draw < percent;
                                forward(client, upstream, rtt, gate, cut, stats).await
                            }
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
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // An idle keep-alive connection may wait long for its next request; a started one not.
    match from.read(&mut byte).await {
        Ok(1) => head.push(byte[0]),
        _ => return None,
    }
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

/// The first line of the request waiting on `client`, left unread.
async fn request_line(client: &TcpStream) -> String {
    let mut buf = [0u8; 512];
    loop {
        let seen = client.peek(&mut buf).await.unwrap_or(0);
        let line = &buf[..seen];
        if seen == 0 || seen == buf.len() || line.windows(2).any(|w| w == b"\r\n") {
            let line = line.split(|b| *b == b'\r').next().unwrap_or_default();
            return String::from_utf8_lossy(line).into_owned();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Reads one HTTP/1.1 request: the head, then `Content-Length` bytes of body.
async fn read_request<'a>(client: &mut TcpStream, stats: &'a FaultStats) -> Option<Flight<'a>> {
    let (head, length) = read_head(client).await?;
    let flight = stats.begin(&head);
    let _ = tokio::io::copy(&mut client.take(length), &mut tokio::io::sink()).await;
    Some(flight)
}

/// Forwards the exchanges of one client connection, each after `rtt`, over one upstream
/// connection while both sides keep it alive; with `cut`, a large response body stops half-way
/// and both connections close.
async fn forward(
    mut client: TcpStream,
    upstream: SocketAddr,
    rtt: Duration,
    gate: Option<Gate>,
    cut: bool,
    stats: &FaultStats,
) {
    let mut server: Option<TcpStream> = None;
    while let Some((head, length)) = read_head(&mut client).await {
        let mut flight = stats.begin(&head);
        if let Some(gate) = &gate {
            gate.pass(&String::from_utf8_lossy(&head), stats).await;
        }
        tokio::time::sleep(rtt).await;
        let mut to = match server.take() {
            Some(open) => open,
            None => match TcpStream::connect(upstream).await {
                Ok(opened) => {
                    let _ = opened.set_nodelay(true);
                    opened
                }
                Err(_) => return,
            },
        };
        if to.write_all(&head).await.is_err()
            || tokio::io::copy(&mut (&mut client).take(length), &mut to)
                .await
                .is_err()
        {
            return;
        }
        let Some(kept) = relay_response(&mut to, &mut client, &mut flight, cut, stats).await else {
            return;
        };
        if !kept {
            return;
        }
        server = Some(to);
    }
}

/// Relays one response; `Some(true)` when both sides may go on with the next exchange.
async fn relay_response(
    server: &mut TcpStream,
    client: &mut TcpStream,
    flight: &mut Flight<'_>,
    cut: bool,
    stats: &FaultStats,
) -> Option<bool> {
    let (head, length) = read_head(server).await?;
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let keep_alive = !text.contains("connection: close");
    if text.contains("transfer-encoding: chunked") {
        client.write_all(&head).await.ok()?;
        relay_chunked(server, client, flight).await?;
        return Some(keep_alive);
    }
    if flight.head_only || length == 0 {
        flight.write_last(client, &head).await;
        return Some(keep_alive);
    }
    client.write_all(&head).await.ok()?;
    if cut && length >= CUT_MIN {
        stats.truncated.fetch_add(1, Ordering::SeqCst);
        let _ = tokio::io::copy(&mut server.take(length / 2), client).await;
        return Some(false);
    }
    tokio::io::copy(&mut server.take(length - 1), client)
        .await
        .ok()?;
    let mut last = Vec::with_capacity(1);
    server.take(1).read_to_end(&mut last).await.ok()?;
    flight.write_last(client, &last).await;
    Some(keep_alive)
}

/// Relays a chunked body through its last chunk and trailers, so that both connections can
/// carry the next exchange: S3 streams the answer to a multipart upload's completion so, with
/// whitespace while it assembles the parts.
async fn relay_chunked(
    server: &mut TcpStream,
    client: &mut TcpStream,
    flight: &mut Flight<'_>,
) -> Option<()> {
    loop {
        let size_line = read_line(server).await?;
        client.write_all(&size_line).await.ok()?;
        let size = String::from_utf8_lossy(&size_line);
        let size = size.split([';', '\r']).next().unwrap_or_default().trim();
        let size = u64::from_str_radix(size, 16).ok()?;
        if size == 0 {
            break;
        }
        // The chunk's data and the CRLF after it.
        tokio::io::copy(&mut (&mut *server).take(size + 2), client)
            .await
            .ok()?;
    }
    // Trailers, if any, up to the empty line that ends the message.
    loop {
        let line = read_line(server).await?;
        if line == b"\r\n" {
            flight.write_last(client, &line).await;
            return Some(());
        }
        client.write_all(&line).await.ok()?;
    }
}

/// One CRLF-terminated line, the CRLF included.
async fn read_line(from: &mut TcpStream) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        match from.read(&mut byte).await {
            Ok(1) => line.push(byte[0]),
            _ => return None,
        }
    }
    Some(line)
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
