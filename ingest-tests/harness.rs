//! Starts the real `telltale` binary on free loopback ports with a temporary data directory,
//! and talks to it over real sockets.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running server; killed on drop.
pub struct Server {
    child: Option<Child>,
    pub http: String,
    pub syslog: SocketAddr,
    /// Graphite plaintext (TCP and UDP).
    pub carbon: SocketAddr,
    /// statsd (UDP and TCP).
    pub statsd: SocketAddr,
    pub data_dir: PathBuf,
    config: String,
    /// The test's own TOML, merged into every (re)configuration.
    extra: String,
    _tmp: Option<tempfile::TempDir>,
}

/// Merges `extra` TOML (whose tables may repeat the harness's) into the harness's sections:
/// a table named in both gets both bodies, `extra`'s last, so its keys are the test's.
fn merge_config(sections: &mut Vec<(String, String)>, extra: &str) -> String {
    let mut current = String::new();
    for line in extra.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') && !t.starts_with("[[") {
            current = t[1..t.len() - 1].trim().to_string();
            if !sections.iter().any(|(n, _)| *n == current) {
                sections.push((current.clone(), String::new()));
            }
            continue;
        }
        if let Some((_, body)) = sections.iter_mut().find(|(n, _)| *n == current) {
            body.push_str(line);
            body.push('\n');
        }
    }
    if let Some((_, body)) = sections.iter_mut().find(|(n, _)| n == "metrics")
        && !body.contains("self_interval_ms")
    {
        body.push_str("self_interval_ms = 0\n");
    }
    let mut out = String::new();
    for (name, body) in sections.iter() {
        if !name.is_empty() {
            out.push_str(&format!("[{name}]\n"));
        }
        out.push_str(body);
    }
    out
}

/// A port free for both TCP and UDP on 127.0.0.1 (syslog serves both on one port).
pub fn free_port() -> u16 {
    for _ in 0..100 {
        let t = TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        let port = t.local_addr().expect("addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port")
}

impl Server {
    /// Starts a server with the default config plus `extra` TOML.
    pub fn start(extra: &str) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let mut s = Server::start_in(&data, extra);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server whose disk floor is 100 % of the filesystem, which is never met, and
    /// waits until ingestion pauses. `extra` TOML follows the `[logs]` section naming the
    /// policy file; returns that file, which [`Server::lower_floor`] rewrites.
    pub fn start_paused(extra: &str) -> (Server, PathBuf) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let policy = tmp.path().join("logs.toml");
        std::fs::write(&policy, "disk_floor = \"100%\"\n").expect("write policy");
        let config = format!(
            "[logs]\nretention = {:?}\n{extra}",
            policy.display().to_string()
        );
        let mut s = Server::start_in(&tmp.path().join("data"), &config);
        s._tmp = Some(tmp);
        s.wait_floor(true);
        (s, policy)
    }

    /// Whether `/health` reports ingestion paused by the disk floor.
    pub fn floor_paused(&self) -> bool {
        String::from_utf8_lossy(&self.get("/health").1).contains("disk_floor: paused")
    }

    /// Turns the disk floor off by rewriting `policy` (the server reloads it when it changes)
    /// and waits until ingestion resumes.
    pub fn lower_floor(&self, policy: &Path) {
        std::fs::write(policy, "disk_floor = \"off\"\n").expect("write policy");
        self.wait_floor(false);
    }

    fn wait_floor(&self, paused: bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.floor_paused() != paused {
            assert!(
                Instant::now() < deadline,
                "disk floor never {}: {}",
                if paused { "paused" } else { "resumed" },
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts a server on an existing data directory (for restart tests).
    pub fn start_in(data_dir: &Path, extra: &str) -> Server {
        let mut s = Server {
            child: None,
            http: String::new(),
            syslog: SocketAddr::from(([127, 0, 0, 1], 0)),
            carbon: SocketAddr::from(([127, 0, 0, 1], 0)),
            statsd: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_path_buf(),
            config: String::new(),
            extra: extra.to_string(),
            _tmp: None,
        };
        s.spawn();
        s
    }

    /// Picks free ports and writes the config for them.
    fn configure(&mut self) {
        let http_port = free_port();
        let syslog_port = free_port();
        let carbon_port = free_port();
        let statsd_port = free_port();
        let mut sections: Vec<(String, String)> = vec![
            (
                String::new(),
                format!("data_dir = {:?}\n", self.data_dir.display().to_string()),
            ),
            (
                "http".into(),
                format!("listen = \"127.0.0.1:{http_port}\"\n"),
            ),
            (
                "syslog".into(),
                format!("listen = \"127.0.0.1:{syslog_port}\"\n"),
            ),
            (
                "statsd".into(),
                format!("listen = \"127.0.0.1:{statsd_port}\"\n"),
            ),
            (
                "carbon".into(),
                format!("listen = \"127.0.0.1:{carbon_port}\"\n"),
            ),
            // telltale's own metrics would move the point counters tests watch; a test that
            // wants them sets [metrics] self_interval_ms itself
            ("metrics".into(), String::new()),
        ];
        self.config = merge_config(&mut sections, &self.extra);
        self.http = format!("http://127.0.0.1:{http_port}");
        self.syslog = SocketAddr::from(([127, 0, 0, 1], syslog_port));
        self.carbon = SocketAddr::from(([127, 0, 0, 1], carbon_port));
        self.statsd = SocketAddr::from(([127, 0, 0, 1], statsd_port));
    }

    /// Starts the binary. A port taken between our probe and the server's bind (other tests
    /// open sockets concurrently) is retried on fresh ports, so a restart may move ports.
    fn spawn(&mut self) {
        for _attempt in 0..5 {
            self.configure();
            if self.spawn_once() {
                return;
            }
        }
        panic!("could not find free ports for telltale: {}", self.log());
    }

    /// Returns false when the server exited because a port was taken.
    fn spawn_once(&mut self) -> bool {
        std::fs::create_dir_all(&self.data_dir).expect("data dir");
        let cfg_path = self.data_dir.with_extension("toml");
        std::fs::write(&cfg_path, &self.config).expect("write config");
        let log = std::fs::File::create(self.data_dir.with_extension("log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_telltale"))
            .arg("serve")
            .arg("--config")
            .arg(&cfg_path)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn telltale");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = telltale::cli::http_get(&self.http, "/health") {
                return true;
            }
            if let Some(st) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                let log = self.log();
                if log.contains("Address already in use") {
                    return false;
                }
                panic!("telltale exited during start-up with {st}: {log}");
            }
            assert!(Instant::now() < deadline, "server did not become healthy");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.with_extension("log")).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn sigterm(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        child.wait().expect("wait")
    }

    /// Kills the server with SIGKILL (no shutdown path at all).
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Sends a signal (e.g. "HUP") to the running server.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &pid])
            .status()
            .expect("kill");
        assert!(st.success());
    }

    /// Starts the same configuration again on the same data directory.
    pub fn restart(&mut self) {
        if self.child.is_some() {
            self.sigterm();
        }
        self.spawn();
    }

    /// GETs a Graphite render as JSON.
    pub fn render(&self, params: &str) -> Value {
        let (status, body) = self.get(&format!("/render?format=json&{params}"));
        assert_eq!(
            status,
            200,
            "render {params}: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).expect("json")
    }

    /// Polls a counter until it reaches `n` (or the deadline passes); returns its value.
    pub fn wait_counter(&self, name: &str, n: u64, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let v = self.counter(name);
            if v >= n || Instant::now() > deadline {
                return v;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// GET /api/logs/search; panics on non-200.
    pub fn search(&self, q: &str, params: &str) -> Value {
        let (status, body) = self.get(&format!(
            "/api/logs/search?q={}&{params}",
            telltale::cli::urlencode(q)
        ));
        assert_eq!(
            status,
            200,
            "search {q:?} failed: {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).expect("json")
    }

    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        telltale::cli::http_get(&self.http, path).expect("http get")
    }

    /// Polls until `q` matches at least `n` records (or the deadline passes); returns the total.
    pub fn wait_total(&self, q: &str, n: u64, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let total = self.search(q, "limit=0")["total"].as_u64().unwrap_or(0);
            if total >= n || Instant::now() > deadline {
                return total;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// A counter from /metrics (without the `telltale_` prefix and `_total` suffix).
    pub fn counter(&self, name: &str) -> u64 {
        let (_, body) = self.get("/metrics");
        let text = String::from_utf8_lossy(&body);
        let key = format!("telltale_{name}_total ");
        text.lines()
            .find_map(|l| l.strip_prefix(&key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no counter {name} in /metrics"))
    }

    /// Opens a TCP connection to the syslog port and writes `bytes`, then closes it.
    pub fn send_tcp(&self, bytes: &[u8]) {
        let mut s = TcpStream::connect(self.syslog).expect("connect syslog");
        s.write_all(bytes).expect("write");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Installs a Debian package when its command is missing (tests drive real tools); returns
/// false when that is impossible here, and the caller fails with a clear message.
pub fn ensure_command(cmd: &str, package: &str) -> bool {
    let found = |c: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {c} || test -x /usr/sbin/{c}"))
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if found(cmd) {
        return true;
    }
    let _ = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "(apt-get install -y -q {package} || (apt-get update -q && apt-get install -y -q {package})) >/dev/null 2>&1"
        ))
        .status();
    found(cmd)
}
