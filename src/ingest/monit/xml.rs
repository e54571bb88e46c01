//! Parses what Monit POSTs to an M/Monit collector into a [`Report`].
//!
//! The body is untrusted (anyone who knows the collector's password, or a proxy in between),
//! so parsing is bounded: the body (after gzip) is at most [`MAX_BODY`] bytes, elements nest at
//! most [`MAX_DEPTH`] deep, a text node holds at most [`MAX_TEXT`] bytes and a document at most
//! [`MAX_ELEMENTS`] elements. A `<!DOCTYPE>` is refused, so no entity can be declared and
//! expanded; only the five predefined entities and character references are resolved.
//!
//! Monit declares ISO-8859-1 but copies names and program output as raw bytes, which are UTF-8
//! on any current system: the body is read as UTF-8 when it is valid UTF-8, else as Latin-1
//! (every byte is a valid Latin-1 character, so decoding never fails).
//!
//! Parsing is two steps: the events become a small bounded tree, then the tree is read into
//! the typed model. Both Monit layouts are read: the collector's (`<monit id=..>` with
//! `<services><service name=..><type>`) and the one of Monit's own `/_status?format=xml`
//! (`<server><id>` and `<service type=..><name>`).

use std::io::Read;
use std::str::FromStr;

use quick_xml::events::Event as XmlEvent;

use super::model::{
    Checksum, Counter, Event, FilesystemUsage, Httpd, Icmp, Io, LinkDirection, NetLink, Platform,
    PortCheck, ProcessUsage, ProgramResult, Report, Server, Service, ServiceType, SystemUsage,
    Timestamps, UnixCheck,
};

/// Largest body accepted, after gzip decompression: a 1000-service status is about 1 MiB.
pub const MAX_BODY: usize = 4 << 20;
/// Deepest nesting accepted; Monit's documents are 6 deep.
pub const MAX_DEPTH: usize = 32;
/// Longest text node; Monit caps program output far below this.
pub const MAX_TEXT: usize = 64 << 10;
/// Most elements in one document (about 60 per service), bounding the tree's memory.
pub const MAX_ELEMENTS: usize = 100_000;

/// Why a body was refused. Every variant is the client's fault: the collector answers 400.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MonitXmlError {
    #[error("body is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("invalid gzip body: {0}")]
    Gzip(String),
    #[error("malformed xml at byte {pos}: {message}")]
    Malformed { pos: u64, message: String },
    #[error("document ends inside <{0}>")]
    Truncated(String),
    #[error("elements nest deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("a text node is longer than {MAX_TEXT} bytes")]
    TextTooLong,
    #[error("more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    #[error("document type declarations are not accepted")]
    Doctype,
    #[error("unknown entity '&{0};' (only the five xml entities are accepted)")]
    Entity(String),
    #[error("no root element")]
    Empty,
    #[error("root element is <{0}>, expected <monit>")]
    NotMonit(String),
    #[error("<{element}> is not a valid number: '{value}'")]
    BadNumber { element: String, value: String },
    #[error("missing {0}")]
    Missing(&'static str),
}

type Result<T> = std::result::Result<T, MonitXmlError>;

/// Decodes and parses a POST body; `gzip` when it came with `Content-Encoding: gzip`.
pub fn parse(body: &[u8], gzip: bool) -> Result<Report> {
    let text = decode_body(body, gzip)?;
    parse_document(&text)
}

/// Undoes gzip (bounded) and the character encoding.
pub fn decode_body(body: &[u8], gzip: bool) -> Result<String> {
    if body.len() > MAX_BODY {
        return Err(MonitXmlError::TooLarge);
    }
    let inflated;
    let bytes = if gzip {
        let mut out = Vec::new();
        // read one byte past the limit to tell "exactly at" from "over"
        flate2::read::GzDecoder::new(body)
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| MonitXmlError::Gzip(e.to_string()))?;
        if out.len() > MAX_BODY {
            return Err(MonitXmlError::TooLarge);
        }
        inflated = out;
        &inflated[..]
    } else {
        body
    };
    Ok(match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    })
}

/// Parses a decoded document.
pub fn parse_document(text: &str) -> Result<Report> {
    let root = build_tree(text)?;
    if root.name != "monit" {
        return Err(MonitXmlError::NotMonit(root.name.clone()));
    }
    read_report(&root, text)
}

/// An element: what the typed reader needs, nothing more.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    /// Text and CDATA directly inside, concatenated.
    text: String,
    children: Vec<Node>,
    /// Byte range of the whole element in the document (for an event's raw bytes).
    start: usize,
    end: usize,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Trimmed text of the first child `name`.
    fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    fn string(&self, name: &str) -> String {
        self.text_of(name).unwrap_or_default().to_string()
    }

    /// The first child `name` as a number; absent or empty is `None`, garbage an error.
    fn num<T: FromStr>(&self, name: &str) -> Result<Option<T>> {
        match self.text_of(name) {
            None | Some("") => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| MonitXmlError::BadNumber {
                element: name.to_string(),
                value: v.chars().take(64).collect(),
            }),
        }
    }
}

fn malformed(pos: u64, e: impl std::fmt::Display) -> MonitXmlError {
    MonitXmlError::Malformed {
        pos,
        message: e.to_string(),
    }
}

fn push_text(node: &mut Node, s: &str) -> Result<()> {
    if node.text.len() + s.len() > MAX_TEXT {
        return Err(MonitXmlError::TextTooLong);
    }
    node.text.push_str(s);
    Ok(())
}

fn start_node(e: &quick_xml::events::BytesStart<'_>, pos: u64, start: usize) -> Result<Node> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| malformed(pos, err))?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a.unescape_value().map_err(|err| malformed(pos, err))?;
        if value.len() > MAX_TEXT {
            return Err(MonitXmlError::TextTooLong);
        }
        attrs.push((key, value.into_owned()));
    }
    Ok(Node {
        name,
        attrs,
        start,
        ..Node::default()
    })
}

/// Reads the events into a tree, enforcing every limit.
fn build_tree(text: &str) -> Result<Node> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut elements = 0usize;
    loop {
        let before = reader.buffer_position();
        let ev = reader
            .read_event()
            .map_err(|e| malformed(reader.error_position(), e))?;
        let after = reader.buffer_position();
        let (start, end) = (
            usize::try_from(before).unwrap_or(usize::MAX),
            usize::try_from(after).unwrap_or(usize::MAX),
        );
        match ev {
            XmlEvent::Start(e) | XmlEvent::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(malformed(before, "content after the root element"));
            }
            XmlEvent::Start(e) => {
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(MonitXmlError::TooManyElements);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(MonitXmlError::TooDeep);
                }
                stack.push(start_node(&e, before, start)?);
            }
            XmlEvent::Empty(e) => {
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(MonitXmlError::TooManyElements);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(MonitXmlError::TooDeep);
                }
                let mut n = start_node(&e, before, start)?;
                n.end = end;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(n),
                    None => root = Some(n),
                }
            }
            XmlEvent::End(_) => {
                // quick-xml checks that the end name matches the open element
                let Some(mut n) = stack.pop() else {
                    return Err(malformed(before, "unmatched end tag"));
                };
                n.end = end;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(n),
                    None => root = Some(n),
                }
            }
            XmlEvent::Text(t) => {
                let s = t.decode().map_err(|e| malformed(before, e))?;
                match stack.last_mut() {
                    Some(n) => push_text(n, &s)?,
                    None if s.trim().is_empty() => {}
                    None => return Err(malformed(before, "text outside the root element")),
                }
            }
            XmlEvent::CData(t) => {
                let s = t.decode().map_err(|e| malformed(before, e))?;
                match stack.last_mut() {
                    Some(n) => push_text(n, &s)?,
                    None => return Err(malformed(before, "cdata outside the root element")),
                }
            }
            XmlEvent::GeneralRef(r) => {
                let name = r.decode().map_err(|e| malformed(before, e))?;
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| malformed(before, e))?
                        .map(String::from)
                } else {
                    quick_xml::escape::resolve_xml_entity(&name).map(String::from)
                };
                let Some(s) = resolved else {
                    return Err(MonitXmlError::Entity(name.chars().take(64).collect()));
                };
                match stack.last_mut() {
                    Some(n) => push_text(n, &s)?,
                    None => return Err(malformed(before, "reference outside the root element")),
                }
            }
            XmlEvent::DocType(_) => return Err(MonitXmlError::Doctype),
            XmlEvent::Decl(_) | XmlEvent::PI(_) | XmlEvent::Comment(_) => {}
            XmlEvent::Eof => {
                if let Some(open) = stack.last() {
                    return Err(MonitXmlError::Truncated(open.name.clone()));
                }
                return root.ok_or(MonitXmlError::Empty);
            }
        }
    }
}

fn read_report(root: &Node, text: &str) -> Result<Report> {
    let server_node = root.child("server");
    // collector layout: attributes on <monit>; status page layout: children of <server>
    let attr_or_server = |name: &str| -> Option<String> {
        root.attr(name).map(str::to_string).or_else(|| {
            server_node
                .and_then(|s| s.text_of(name))
                .map(str::to_string)
        })
    };
    let id = attr_or_server("id").unwrap_or_default();
    if id.is_empty() {
        return Err(MonitXmlError::Missing("monit id"));
    }
    let incarnation = match attr_or_server("incarnation") {
        Some(v) => v.parse().map_err(|_| MonitXmlError::BadNumber {
            element: "incarnation".into(),
            value: v.chars().take(64).collect(),
        })?,
        None => 0,
    };
    let version = attr_or_server("version").unwrap_or_default();
    let server = match server_node {
        Some(s) => read_server(s)?,
        None => return Err(MonitXmlError::Missing("<server>")),
    };
    if server.localhostname.is_empty() {
        return Err(MonitXmlError::Missing("<localhostname>"));
    }
    let platform = match root.child("platform") {
        Some(p) => Platform {
            name: p.string("name"),
            release: p.string("release"),
            version: p.string("version"),
            machine: p.string("machine"),
            cpu: p.num("cpu")?,
            memory_kb: p.num("memory")?,
            swap_kb: p.num("swap")?,
        },
        None => Platform::default(),
    };
    let mut services = Vec::new();
    let service_nodes = root
        .child("services")
        .into_iter()
        .flat_map(|s| s.children_named("service"))
        .chain(root.children_named("service"));
    for s in service_nodes {
        services.push(read_service(s)?);
    }
    let event = match root.child("event") {
        Some(e) => Some(read_event(e, text)?),
        None => None,
    };
    Ok(Report {
        id,
        incarnation,
        version,
        server,
        platform,
        services,
        event,
    })
}

fn read_server(s: &Node) -> Result<Server> {
    let httpd = match s.child("httpd") {
        Some(h) => Some(Httpd {
            address: h.text_of("address").map(str::to_string),
            port: h.num("port")?,
            ssl: h.text_of("ssl") == Some("1"),
        }),
        None => None,
    };
    Ok(Server {
        uptime: s.num("uptime")?,
        poll: s.num("poll")?,
        startdelay: s.num("startdelay")?,
        localhostname: s.string("localhostname"),
        controlfile: s.text_of("controlfile").map(str::to_string),
        httpd,
    })
}

fn counter(n: Option<&Node>, now: &str) -> Result<Option<Counter>> {
    let Some(n) = n else { return Ok(None) };
    Ok(Some(Counter {
        count: n.num(now)?,
        total: n.num("total")?,
    }))
}

fn io(n: Option<&Node>) -> Result<Option<Io>> {
    let Some(n) = n else { return Ok(None) };
    Ok(Some(Io {
        bytes_generic: counter(n.child("bytesgeneric"), "count")?,
        bytes: counter(n.child("bytes"), "count")?,
        operations: counter(n.child("operations"), "count")?,
    }))
}

fn direction(n: Option<&Node>) -> Result<LinkDirection> {
    let Some(n) = n else {
        return Ok(LinkDirection::default());
    };
    Ok(LinkDirection {
        packets: counter(n.child("packets"), "now")?,
        bytes: counter(n.child("bytes"), "now")?,
        errors: counter(n.child("errors"), "now")?,
    })
}

fn read_service(s: &Node) -> Result<Service> {
    let name = s
        .attr("name")
        .map(str::to_string)
        .or_else(|| s.text_of("name").map(str::to_string))
        .unwrap_or_default();
    if name.is_empty() {
        return Err(MonitXmlError::Missing("service name"));
    }
    let type_code: Option<u32> = match s.attr("type") {
        Some(t) => Some(t.parse().map_err(|_| MonitXmlError::BadNumber {
            element: "type".into(),
            value: t.chars().take(64).collect(),
        })?),
        None => s.num("type")?,
    };
    let Some(type_code) = type_code else {
        return Err(MonitXmlError::Missing("service type"));
    };
    let timestamps = match s.child("timestamps") {
        Some(t) => Some(Timestamps {
            access: t.num("access")?,
            change: t.num("change")?,
            modify: t.num("modify")?,
        }),
        None => None,
    };
    let checksum = s.child("checksum").map(|c| Checksum {
        kind: c.attr("type").unwrap_or_default().to_string(),
        value: c.text.trim().to_string(),
    });
    let block = s.child("block");
    let inode = s.child("inode");
    let filesystem = if block.is_some() || inode.is_some() || s.child("fstype").is_some() {
        let st = s.child("servicetime");
        Some(FilesystemUsage {
            fstype: s.text_of("fstype").map(str::to_string),
            flags: s.text_of("fsflags").map(str::to_string),
            block_percent: block.map(|b| b.num("percent")).transpose()?.flatten(),
            block_usage_mb: block.map(|b| b.num("usage")).transpose()?.flatten(),
            block_total_mb: block.map(|b| b.num("total")).transpose()?.flatten(),
            inode_percent: inode.map(|b| b.num("percent")).transpose()?.flatten(),
            inode_usage: inode.map(|b| b.num("usage")).transpose()?.flatten(),
            inode_total: inode.map(|b| b.num("total")).transpose()?.flatten(),
            servicetime_read_ms: st.map(|b| b.num("read")).transpose()?.flatten(),
            servicetime_write_ms: st.map(|b| b.num("write")).transpose()?.flatten(),
        })
    } else {
        None
    };
    let kind = ServiceType::from_code(type_code);
    let fds = s.child("filedescriptors");
    let process = if kind == ServiceType::Process && s.child("pid").is_some() {
        let mem = s.child("memory");
        let cpu = s.child("cpu");
        let limit = fds.and_then(|f| f.child("limit"));
        Some(ProcessUsage {
            pid: s.num("pid")?,
            ppid: s.num("ppid")?,
            euid: s.num("euid")?,
            uptime: s.num("uptime")?,
            threads: s.num("threads")?,
            children: s.num("children")?,
            memory_percent: mem.map(|m| m.num("percent")).transpose()?.flatten(),
            memory_percent_total: mem.map(|m| m.num("percenttotal")).transpose()?.flatten(),
            memory_kb: mem.map(|m| m.num("kilobyte")).transpose()?.flatten(),
            memory_kb_total: mem.map(|m| m.num("kilobytetotal")).transpose()?.flatten(),
            cpu_percent: cpu.map(|m| m.num("percent")).transpose()?.flatten(),
            cpu_percent_total: cpu.map(|m| m.num("percenttotal")).transpose()?.flatten(),
            fd_open: fds.map(|m| m.num("open")).transpose()?.flatten(),
            fd_open_total: fds.map(|m| m.num("opentotal")).transpose()?.flatten(),
            fd_limit_soft: limit.map(|m| m.num("soft")).transpose()?.flatten(),
            fd_limit_hard: limit.map(|m| m.num("hard")).transpose()?.flatten(),
        })
    } else {
        None
    };
    let system = match s.child("system") {
        Some(sys) => {
            let load = sys.child("load");
            let mem = sys.child("memory");
            let swap = sys.child("swap");
            let mut cpu = Vec::new();
            if let Some(c) = sys.child("cpu") {
                for part in &c.children {
                    if let Some(v) = c.num::<f64>(&part.name)? {
                        cpu.push((part.name.clone(), v));
                    }
                }
            }
            Some(SystemUsage {
                load1: load.map(|m| m.num("avg01")).transpose()?.flatten(),
                load5: load.map(|m| m.num("avg05")).transpose()?.flatten(),
                load15: load.map(|m| m.num("avg15")).transpose()?.flatten(),
                cpu,
                memory_percent: mem.map(|m| m.num("percent")).transpose()?.flatten(),
                memory_kb: mem.map(|m| m.num("kilobyte")).transpose()?.flatten(),
                swap_percent: swap.map(|m| m.num("percent")).transpose()?.flatten(),
                swap_kb: swap.map(|m| m.num("kilobyte")).transpose()?.flatten(),
                fd_allocated: fds.map(|m| m.num("allocated")).transpose()?.flatten(),
                fd_unused: fds.map(|m| m.num("unused")).transpose()?.flatten(),
                fd_maximum: fds.map(|m| m.num("maximum")).transpose()?.flatten(),
            })
        }
        None => None,
    };
    let program = match s.child("program") {
        Some(p) => Some(ProgramResult {
            started: p.num("started")?,
            status: p.num("status")?,
            output: p.text_of("output").unwrap_or_default().to_string(),
        }),
        None => None,
    };
    let link = match s.child("link") {
        Some(l) => Some(NetLink {
            state: l.num("state")?,
            speed: l.num("speed")?,
            duplex: l.num("duplex")?,
            download: direction(l.child("download"))?,
            upload: direction(l.child("upload"))?,
        }),
        None => None,
    };
    let mut icmp = Vec::new();
    for i in s.children_named("icmp") {
        icmp.push(Icmp {
            kind: i.string("type"),
            responsetime: i.num("responsetime")?,
        });
    }
    let mut ports = Vec::new();
    for p in s.children_named("port") {
        ports.push(PortCheck {
            hostname: p.string("hostname"),
            port: p.num("portnumber")?,
            protocol: p.string("protocol"),
            kind: p.string("type"),
            responsetime: p.num("responsetime")?,
        });
    }
    let mut unix = Vec::new();
    for u in s.children_named("unix") {
        unix.push(UnixCheck {
            path: u.string("path"),
            protocol: u.string("protocol"),
            responsetime: u.num("responsetime")?,
        });
    }
    Ok(Service {
        name,
        kind,
        collected_sec: s.num("collected_sec")?.unwrap_or(0),
        collected_usec: s.num("collected_usec")?.unwrap_or(0),
        status: s.num("status")?.unwrap_or(0),
        status_hint: s.num("status_hint")?.unwrap_or(0),
        monitor: s.num("monitor")?.unwrap_or(0),
        mode: s.text_of("mode").map(str::to_string),
        uid: s.num("uid")?,
        gid: s.num("gid")?,
        timestamps,
        size: s.num("size")?,
        checksum,
        filesystem,
        process,
        system,
        program,
        link,
        read: io(s.child("read"))?,
        write: io(s.child("write"))?,
        icmp,
        ports,
        unix,
    })
}

fn read_event(e: &Node, text: &str) -> Result<Event> {
    let raw = text
        .get(e.start..e.end)
        .map(|s| s.as_bytes().to_vec())
        .unwrap_or_default();
    Ok(Event {
        collected_sec: e.num("collected_sec")?.unwrap_or(0),
        collected_usec: e.num("collected_usec")?.unwrap_or(0),
        service: e.string("service"),
        kind: ServiceType::from_code(e.num("type")?.unwrap_or(u32::MAX)),
        id: e.num("id")?.unwrap_or(0),
        state: e.num("state")?.unwrap_or(0),
        action: e.num("action")?.unwrap_or(0),
        message: e.string("message"),
        raw,
    })
}
