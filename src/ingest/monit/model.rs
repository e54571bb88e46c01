//! Monit's M/Monit document as typed data: what `xml` produces and `convert` and `inventory`
//! consume. Field names follow Monit's XML; units are Monit's (converted only in `convert`), and
//! every value Monit may leave out is an `Option`, so "not measured" never reads as zero.

/// One POST to `/collector`: a status document, possibly carrying one `<event>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Monit's stable id (`set idfile`): the host's identity, survives renames and restarts.
    pub id: String,
    /// When this Monit process started (epoch seconds): a change means Monit restarted.
    pub incarnation: i64,
    /// Monit's version, e.g. `5.33.0`.
    pub version: String,
    pub server: Server,
    pub platform: Platform,
    pub services: Vec<Service>,
    /// Present when the POST reports a state change (Monit sends the full status with it).
    pub event: Option<Event>,
}

/// `<server>`: the Monit daemon itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Server {
    /// Seconds since Monit started.
    pub uptime: Option<i64>,
    /// Seconds between check cycles (`set daemon N`): sets when a silent host counts as stale.
    pub poll: Option<u32>,
    /// Seconds Monit waits before its first cycle.
    pub startdelay: Option<u32>,
    /// The host name Monit reports as; the metric path's `<host>` node.
    pub localhostname: String,
    /// Path of the control file, shown in the inventory to find the config.
    pub controlfile: Option<String>,
    /// Monit's own HTTP interface, for an operator to reach it.
    pub httpd: Option<Httpd>,
}

/// `<server><httpd>`. `<credentials>` is deliberately not kept: it is a password.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Httpd {
    pub address: Option<String>,
    pub port: Option<u16>,
    pub ssl: bool,
}

/// `<platform>`: the machine Monit runs on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Platform {
    /// Kernel name, e.g. `Linux`.
    pub name: String,
    pub release: String,
    pub version: String,
    pub machine: String,
    /// Number of CPUs.
    pub cpu: Option<u32>,
    /// Total memory in kilobytes (1024 bytes).
    pub memory_kb: Option<u64>,
    /// Total swap in kilobytes (1024 bytes).
    pub swap_kb: Option<u64>,
}

/// Monit's service types, numbered as on the wire (`<type>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceType {
    Filesystem,
    Directory,
    File,
    Process,
    Host,
    #[default]
    System,
    Fifo,
    Program,
    Net,
    /// A type newer than this code knows; its common fields still count.
    Unknown(u32),
}

impl ServiceType {
    pub fn from_code(n: u32) -> ServiceType {
        match n {
            0 => ServiceType::Filesystem,
            1 => ServiceType::Directory,
            2 => ServiceType::File,
            3 => ServiceType::Process,
            4 => ServiceType::Host,
            5 => ServiceType::System,
            6 => ServiceType::Fifo,
            7 => ServiceType::Program,
            8 => ServiceType::Net,
            n => ServiceType::Unknown(n),
        }
    }

    /// The name Monit's UI uses, lowercase.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::Filesystem => "filesystem",
            ServiceType::Directory => "directory",
            ServiceType::File => "file",
            ServiceType::Process => "process",
            ServiceType::Host => "host",
            ServiceType::System => "system",
            ServiceType::Fifo => "fifo",
            ServiceType::Program => "program",
            ServiceType::Net => "net",
            ServiceType::Unknown(_) => "unknown",
        }
    }
}

/// One `<service name="...">`. The sections are filled from what the XML carries (Monit
/// sends a section only once it has data: a service still initializing has none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Service {
    pub name: String,
    pub kind: ServiceType,
    /// When Monit last checked it (epoch seconds): the metrics' timestamp.
    pub collected_sec: i64,
    pub collected_usec: i64,
    /// Bitmask of the event kinds currently failing (see [`event_name`]); 0 = all fine.
    pub status: u64,
    pub status_hint: u64,
    /// 0 not monitored, 1 monitored, 2 initializing, 4 waiting.
    pub monitor: u32,
    /// Permission bits as Monit prints them (octal digits), for files, directories, fifos.
    pub mode: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub timestamps: Option<Timestamps>,
    /// File size in bytes.
    pub size: Option<u64>,
    pub checksum: Option<Checksum>,
    pub filesystem: Option<FilesystemUsage>,
    pub process: Option<ProcessUsage>,
    pub system: Option<SystemUsage>,
    pub program: Option<ProgramResult>,
    pub link: Option<NetLink>,
    /// Filesystem or process I/O (`<read>`, `<write>`).
    pub read: Option<Io>,
    pub write: Option<Io>,
    /// Ping checks of a host service.
    pub icmp: Vec<Icmp>,
    /// TCP/UDP port checks (host and process services).
    pub ports: Vec<PortCheck>,
    /// Unix socket checks.
    pub unix: Vec<UnixCheck>,
}

impl Service {
    /// Monit counts a service as failing when any bit of its status is set.
    pub fn failing(&self) -> bool {
        self.status != 0
    }
}

/// `<timestamps>`: epoch seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timestamps {
    pub access: Option<i64>,
    pub change: Option<i64>,
    pub modify: Option<i64>,
}

/// `<checksum type="MD5">hex</checksum>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checksum {
    pub kind: String,
    pub value: String,
}

/// A filesystem's usage. Monit sends block figures in megabytes (2^20 bytes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilesystemUsage {
    pub fstype: Option<String>,
    pub flags: Option<String>,
    pub block_percent: Option<f64>,
    pub block_usage_mb: Option<f64>,
    pub block_total_mb: Option<f64>,
    pub inode_percent: Option<f64>,
    pub inode_usage: Option<u64>,
    pub inode_total: Option<u64>,
    /// Average time per read and write operation over the last cycle, in milliseconds.
    pub servicetime_read_ms: Option<f64>,
    pub servicetime_write_ms: Option<f64>,
}

/// `<read>` or `<write>`: each counter's `count` is per second over the last cycle, `total`
/// is since the process started (or since boot for a filesystem).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Io {
    /// Bytes through read()/write() calls, including cache hits (processes only).
    pub bytes_generic: Option<Counter>,
    /// Bytes that reached the storage layer.
    pub bytes: Option<Counter>,
    pub operations: Option<Counter>,
}

/// A rate and a running total.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counter {
    pub count: Option<f64>,
    pub total: Option<f64>,
}

/// A process's resources.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessUsage {
    pub pid: Option<i64>,
    pub ppid: Option<i64>,
    pub euid: Option<u32>,
    /// Seconds since the process started.
    pub uptime: Option<i64>,
    pub threads: Option<u64>,
    pub children: Option<u64>,
    /// Percent of total memory, the process alone and with its children.
    pub memory_percent: Option<f64>,
    pub memory_percent_total: Option<f64>,
    /// Resident memory in kilobytes, alone and with children.
    pub memory_kb: Option<u64>,
    pub memory_kb_total: Option<u64>,
    /// Percent of all CPUs (100 = every CPU busy), alone and with children.
    pub cpu_percent: Option<f64>,
    pub cpu_percent_total: Option<f64>,
    pub fd_open: Option<u64>,
    pub fd_open_total: Option<u64>,
    pub fd_limit_soft: Option<u64>,
    pub fd_limit_hard: Option<u64>,
}

/// The host's resources (`check system`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SystemUsage {
    pub load1: Option<f64>,
    pub load5: Option<f64>,
    pub load15: Option<f64>,
    /// CPU time shares in percent, by the names Monit uses (`user`, `system`, `nice`, `wait`,
    /// `hardirq`, `softirq`, `steal`, `guest`, `guestnice`), in document order.
    pub cpu: Vec<(String, f64)>,
    pub memory_percent: Option<f64>,
    pub memory_kb: Option<u64>,
    pub swap_percent: Option<f64>,
    pub swap_kb: Option<u64>,
    pub fd_allocated: Option<u64>,
    pub fd_unused: Option<u64>,
    pub fd_maximum: Option<u64>,
}

/// The last run of a `check program`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProgramResult {
    /// Epoch seconds of the last start.
    pub started: Option<i64>,
    /// Exit status.
    pub status: Option<i64>,
    /// What it printed (Monit keeps a bounded prefix).
    pub output: String,
}

/// A network interface (`check network`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetLink {
    /// 1 up, 0 down, -1 unknown.
    pub state: Option<i64>,
    /// Bits per second; -1 when the driver does not say.
    pub speed: Option<i64>,
    /// 1 full, 0 half, -1 unknown.
    pub duplex: Option<i64>,
    pub download: LinkDirection,
    pub upload: LinkDirection,
}

/// One direction of a link; `now` is per second over the last cycle, `total` since boot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkDirection {
    pub packets: Option<Counter>,
    pub bytes: Option<Counter>,
    pub errors: Option<Counter>,
}

/// A ping check. Response time in seconds; Monit sends -1 when there was no answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Icmp {
    pub kind: String,
    pub responsetime: Option<f64>,
}

/// A TCP/UDP port check. Response time in seconds (-1: failed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PortCheck {
    pub hostname: String,
    pub port: Option<u16>,
    pub protocol: String,
    pub kind: String,
    pub responsetime: Option<f64>,
}

/// A unix socket check. Response time in seconds (-1: failed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnixCheck {
    pub path: String,
    pub protocol: String,
    pub responsetime: Option<f64>,
}

/// `<event>`: a state change Monit reports at once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    pub collected_sec: i64,
    pub collected_usec: i64,
    /// The service it concerns (`Monit` for the daemon's own start/stop).
    pub service: String,
    pub kind: ServiceType,
    /// Which check (one bit, see [`event_name`]).
    pub id: u64,
    /// 0 succeeded, 1 failed, 2 changed, 4 changed back (see [`state_name`]).
    pub state: u32,
    /// What Monit did (see [`action_name`]).
    pub action: u32,
    pub message: String,
    /// The `<event>` element as sent, kept as the log record's raw bytes.
    pub raw: Vec<u8>,
}

/// Monit's event kinds by bit (`Event_Type` in Monit's sources).
pub fn event_name(id: u64) -> &'static str {
    match id {
        0x1 => "checksum",
        0x2 => "resource",
        0x4 => "timeout",
        0x8 => "timestamp",
        0x10 => "size",
        0x20 => "connection",
        0x40 => "permission",
        0x80 => "uid",
        0x100 => "gid",
        0x200 => "nonexist",
        0x400 => "invalid",
        0x800 => "data",
        0x1000 => "exec",
        0x2000 => "fsflags",
        0x4000 => "icmp",
        0x8000 => "content",
        0x10000 => "instance",
        0x20000 => "action",
        0x40000 => "pid",
        0x80000 => "ppid",
        0x100000 => "heartbeat",
        0x200000 => "status",
        0x400000 => "uptime",
        0x800000 => "link",
        0x1000000 => "speed",
        0x2000000 => "saturation",
        0x4000000 => "bytein",
        0x8000000 => "byteout",
        0x10000000 => "packetin",
        0x20000000 => "packetout",
        0x40000000 => "exist",
        _ => "unknown",
    }
}

/// Event states as Monit numbers them.
pub fn state_name(state: u32) -> &'static str {
    match state {
        0 => "succeeded",
        1 => "failed",
        2 => "changed",
        4 => "changednot",
        8 => "init",
        _ => "unknown",
    }
}

/// Monit's actions (`Action_Type`).
pub fn action_name(action: u32) -> &'static str {
    match action {
        0 => "ignored",
        1 => "alert",
        2 => "restart",
        3 => "stop",
        4 => "exec",
        5 => "unmonitor",
        6 => "start",
        7 => "monitor",
        _ => "unknown",
    }
}
