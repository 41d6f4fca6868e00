//! `simctl serve`: the browser sandbox's static files over HTTP/1.1, with std only.
//!
//! What it guarantees (docs/web.md says the same to users):
//!
//! - it listens on 127.0.0.1 unless `--host` widens it on purpose (with a warning), and
//!   while on loopback it answers only requests addressed to a loopback name (`Host:
//!   localhost`, `127.0.0.1`, `[::1]`), so a web page cannot reach it by DNS rebinding;
//! - it serves files inside the site directory and nothing else: `..`, `.` and hidden
//!   segments, backslashes, NUL and colons are refused, and the path is canonicalized
//!   (symlinks resolved) and must still lie under the canonical site directory;
//! - GET and HEAD only; a request head is at most [`MAX_HEAD_BYTES`], read under a timeout;
//!   one request per connection (`Connection: close`), at most [`MAX_CONNECTIONS`] at once;
//! - every answer carries [`CSP`], `X-Content-Type-Options: nosniff` and the MIME type of
//!   the file's extension (`.wasm` is `application/wasm`, as streaming compilation needs).

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use clap::Args;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The site to serve (`scripts/build-web.sh` builds it).
    #[arg(value_name = "DIR", default_value = "sim-web/www")]
    dir: PathBuf,
    /// The port; 0 picks a free one.
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// The address to listen on. Anything but loopback exposes the sandbox to the network.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
}

/// The Content-Security-Policy of every answer: this origin only, wasm compilation allowed,
/// no plugins, no framing, no `<base>`.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The longest request head (request line and headers) read.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Connections served at once; more get a 503.
pub const MAX_CONNECTIONS: usize = 32;
/// How long a client may take to send its request, or to take the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// After answering: how long, and how much, unread input is drained before closing.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: u64 = 64 * 1024;

/// `simctl serve`: print the URL, then serve until the process ends.
pub fn serve(args: &ServeArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<i32> {
    let server = match Server::bind(SocketAddr::new(args.host, args.port), &args.dir) {
        Ok(s) => s,
        Err(e) => {
            writeln!(err, "simctl: cannot serve {}: {e}", args.dir.display())?;
            return Ok(crate::EXIT_INVALID);
        }
    };
    if !args.host.is_loopback() {
        writeln!(
            err,
            "warning: listening on {}: the sandbox is reachable from other machines",
            args.host
        )?;
    }
    if !server.root.join("index.html").is_file() {
        writeln!(
            err,
            "warning: {} has no index.html: run scripts/build-web.sh first",
            args.dir.display()
        )?;
    }
    writeln!(
        out,
        "serving {} at {} (Ctrl-C to stop)",
        args.dir.display(),
        server.url()
    )?;
    out.flush()?;
    server.run(&AtomicBool::new(false));
    Ok(crate::EXIT_OK)
}

/// A listening socket over a site directory.
pub struct Server {
    listener: TcpListener,
    /// Canonical: every file served is under it.
    root: PathBuf,
}

impl Server {
    pub fn bind(addr: SocketAddr, dir: &Path) -> io::Result<Server> {
        let root = dir.canonicalize()?;
        if !root.is_dir() {
            return Err(io::Error::other("not a directory"));
        }
        Ok(Server {
            listener: TcpListener::bind(addr)?,
            root,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn url(&self) -> String {
        match self.local_addr() {
            Ok(a) if a.ip().is_unspecified() => format!("http://localhost:{}/", a.port()),
            Ok(a) => format!("http://{a}/"),
            Err(_) => "(unknown address)".to_string(),
        }
    }

    /// Accept and answer until `stop` is set (checked after each connection: wake the loop
    /// with one more connection to stop it).
    pub fn run(&self, stop: &AtomicBool) {
        let root = Arc::new(self.root.clone());
        let loopback = self.local_addr().is_ok_and(|a| a.ip().is_loopback());
        let active = Arc::new(AtomicUsize::new(0));
        for conn in self.listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Ok(mut stream) = conn else { continue };
            if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
                let _ = respond_error(&mut stream, Status::Unavailable, false);
                continue;
            }
            active.fetch_add(1, Ordering::SeqCst);
            let guard = Active(Arc::clone(&active));
            let root = Arc::clone(&root);
            let spawned = std::thread::Builder::new()
                .name("simctl-serve".into())
                .spawn(move || {
                    let _guard = guard;
                    handle_and_close(&mut stream, &root, loopback);
                });
            // Could not spawn: the guard went down with the closure, the client sees a reset.
            drop(spawned);
        }
    }
}

/// Counts a connection while it lives.
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The answers this server gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    Misdirected,
    HeadTooLarge,
    Unavailable,
    VersionNotSupported,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::Misdirected => 421,
            Status::HeadTooLarge => 431,
            Status::Unavailable => 503,
            Status::VersionNotSupported => 505,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::BadRequest => "Bad Request",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::Misdirected => "Misdirected Request",
            Status::HeadTooLarge => "Request Header Fields Too Large",
            Status::Unavailable => "Service Unavailable",
            Status::VersionNotSupported => "HTTP Version Not Supported",
        }
    }
}

/// A request as far as this server cares.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    /// HEAD: the headers of GET, no body.
    pub head_only: bool,
    /// The path of the target, query and fragment removed, not yet decoded.
    pub path: String,
    /// The `Host` header, if any.
    pub host: Option<String>,
}

/// Parse a request head (everything before the blank line).
pub fn parse_request(head: &[u8]) -> Result<Request, Status> {
    let text = std::str::from_utf8(head).map_err(|_| Status::BadRequest)?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().ok_or(Status::BadRequest)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Status::BadRequest);
    };
    if !version.starts_with("HTTP/") {
        return Err(Status::BadRequest);
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(Status::VersionNotSupported);
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Err(Status::MethodNotAllowed),
    };
    // Origin form only ("/path?query"); absolute and authority forms are for proxies.
    if !target.starts_with('/') {
        return Err(Status::BadRequest);
    }
    let path = target.split(['?', '#']).next().unwrap_or("/").to_string();
    let mut host = None;
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or(Status::BadRequest)?;
        if name.eq_ignore_ascii_case("host") {
            if host.is_some() {
                return Err(Status::BadRequest);
            }
            host = Some(value.trim().to_string());
        }
    }
    if version == "HTTP/1.1" && host.is_none() {
        return Err(Status::BadRequest);
    }
    Ok(Request {
        head_only,
        path,
        host,
    })
}

/// Whether a `Host` header names this machine's loopback (any port): `localhost`,
/// `127.0.0.1` (or another 127/8 address), `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((inside, _)) => inside,
            None => return false,
        },
        None => host.rsplit_once(':').map_or(host, |(n, _)| n),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<IpAddr>()
            .is_ok_and(|ip: IpAddr| ip.is_loopback())
}

/// Decode `%XX` escapes; `None` when an escape is malformed or the result is not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file a request path names under `root` (canonical), or why there is none. A
/// directory means its `index.html`.
pub fn resolve(root: &Path, path: &str) -> Result<PathBuf, Status> {
    let decoded = percent_decode(path).ok_or(Status::BadRequest)?;
    let mut candidate = root.to_path_buf();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        // `..` and `.` would climb or loop; hidden files (`.git`) are not part of a site;
        // `\` and `:` are separators or drive letters on some systems; NUL ends C strings.
        if segment.starts_with('.') || segment.contains(['\\', ':', '\0']) {
            return Err(Status::NotFound);
        }
        candidate.push(segment);
    }
    let mut real = candidate.canonicalize().map_err(|_| Status::NotFound)?;
    if real.is_dir() {
        real = real
            .join("index.html")
            .canonicalize()
            .map_err(|_| Status::NotFound)?;
    }
    // Symlinks are resolved by now: what is left must still be inside the site.
    if !real.starts_with(root) || !real.is_file() {
        return Err(Status::NotFound);
    }
    Ok(real)
}

/// The MIME type of a file, by extension.
pub fn mime(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" | "yaml" | "yml" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The status line and headers of an answer, blank line included.
pub fn response_head(status: Status, content_type: &str, content_length: u64) -> String {
    let mut h = format!("HTTP/1.1 {} {}\r\n", status.code(), status.reason());
    h.push_str(&format!("Content-Type: {content_type}\r\n"));
    h.push_str(&format!("Content-Length: {content_length}\r\n"));
    h.push_str(&format!("Content-Security-Policy: {CSP}\r\n"));
    h.push_str("X-Content-Type-Options: nosniff\r\n");
    h.push_str("Referrer-Policy: no-referrer\r\n");
    h.push_str("Cross-Origin-Opener-Policy: same-origin\r\n");
    // The page is rebuilt in place by scripts/build-web.sh: never serve a stale module.
    h.push_str("Cache-Control: no-cache\r\n");
    if status == Status::MethodNotAllowed {
        h.push_str("Allow: GET, HEAD\r\n");
    }
    h.push_str("Connection: close\r\n\r\n");
    h
}

fn respond_error(stream: &mut TcpStream, status: Status, head_only: bool) -> io::Result<()> {
    let body = format!("{} {}\n", status.code(), status.reason());
    let head = response_head(status, "text/plain; charset=utf-8", body.len() as u64);
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()
}

/// Read a request head: up to the blank line, at most [`MAX_HEAD_BYTES`].
fn read_head(stream: &mut TcpStream) -> Result<Vec<u8>, Status> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    // Bounded: each pass adds at least one byte, and the head is capped.
    loop {
        let n = stream.read(&mut buf).map_err(|_| Status::BadRequest)?;
        if n == 0 {
            return Err(Status::BadRequest);
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = find_blank_line(&head).filter(|&end| end <= MAX_HEAD_BYTES) {
            head.truncate(end);
            return Ok(head);
        }
        if head.len() > MAX_HEAD_BYTES {
            return Err(Status::HeadTooLarge);
        }
    }
}

fn find_blank_line(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = bytes.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn handle(stream: &mut TcpStream, root: &Path, loopback: bool) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let request = match read_head(stream).and_then(|h| parse_request(&h)) {
        Ok(r) => r,
        Err(status) => return respond_error(stream, status, false),
    };
    if loopback && !request.host.as_deref().is_none_or(is_loopback_host) {
        return respond_error(stream, Status::Misdirected, request.head_only);
    }
    let file = match resolve(root, &request.path) {
        Ok(f) => f,
        Err(status) => return respond_error(stream, status, request.head_only),
    };
    let Ok(mut f) = std::fs::File::open(&file) else {
        return respond_error(stream, Status::NotFound, request.head_only);
    };
    let len = f.metadata()?.len();
    stream.write_all(response_head(Status::Ok, mime(&file), len).as_bytes())?;
    if !request.head_only {
        // At most the length announced, even if the file grew meanwhile.
        io::copy(&mut (&mut f).take(len), stream)?;
    }
    stream.flush()
}

/// Answer, then close gently: closing with unread input would send a reset, and a client
/// could lose the answer (a 431 to an oversized head) before reading it.
fn handle_and_close(stream: &mut TcpStream, root: &Path, loopback: bool) {
    let _ = handle(stream, root, loopback);
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(LINGER));
    let _ = io::copy(&mut stream.take(LINGER_BYTES), &mut io::sink());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temporary one, removed on drop.
    struct TempSite(PathBuf);

    impl TempSite {
        fn new(tag: &str) -> TempSite {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "simctl-serve-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            let site = dir.join("site");
            std::fs::create_dir_all(site.join("pkg")).expect("mkdir");
            std::fs::write(site.join("index.html"), "<!doctype html><title>t</title>\n")
                .expect("write");
            std::fs::write(site.join("pkg").join("sim_web_bg.wasm"), b"\0asm\x01\0\0\0")
                .expect("write");
            std::fs::write(dir.join("secret.txt"), "outside\n").expect("write");
            TempSite(dir)
        }

        fn root(&self) -> PathBuf {
            self.0.join("site").canonicalize().expect("canonical")
        }
    }

    impl Drop for TempSite {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn paths_resolve_inside_the_site_only() {
        let t = TempSite::new("resolve");
        let root = t.root();
        assert_eq!(resolve(&root, "/"), Ok(root.join("index.html")));
        assert_eq!(resolve(&root, "/index.html"), Ok(root.join("index.html")));
        assert_eq!(
            resolve(&root, "/pkg/sim_web_bg.wasm"),
            Ok(root.join("pkg/sim_web_bg.wasm"))
        );
        assert_eq!(
            resolve(&root, "//pkg//sim_web_bg.wasm"),
            Ok(root.join("pkg/sim_web_bg.wasm"))
        );
        for bad in [
            "/../secret.txt",
            "/pkg/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2E%2Fsecret.txt",
            "/..%5csecret.txt",
            "/./index.html",
            "/.hidden",
            "/missing.html",
            "/pkg",
            "/C:/Windows",
            "/index.html%00.png",
        ] {
            assert_eq!(resolve(&root, bad), Err(Status::NotFound), "{bad}");
        }
        // `/etc/passwd` is a path under the site, not the system's file.
        assert_eq!(resolve(&root, "/etc/passwd"), Err(Status::NotFound));
        assert_eq!(resolve(&root, "/%zz"), Err(Status::BadRequest));
        assert_eq!(resolve(&root, "/%ff"), Err(Status::BadRequest));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_leaving_the_site_is_not_followed() {
        let t = TempSite::new("symlink");
        let root = t.root();
        std::os::unix::fs::symlink(t.0.join("secret.txt"), root.join("leak.txt")).expect("ln");
        std::os::unix::fs::symlink(&t.0, root.join("up")).expect("ln");
        std::os::unix::fs::symlink(root.join("index.html"), root.join("home.html")).expect("ln");
        assert_eq!(resolve(&root, "/leak.txt"), Err(Status::NotFound));
        assert_eq!(resolve(&root, "/up/secret.txt"), Err(Status::NotFound));
        // A link that stays inside is fine.
        assert_eq!(resolve(&root, "/home.html"), Ok(root.join("index.html")));
    }

    #[test]
    fn requests_parse_with_limits() {
        let r =
            parse_request(b"GET /pkg/a.js?v=1#x HTTP/1.1\r\nHost: localhost:8000\r\nAccept: */*")
                .expect("parse");
        assert_eq!(
            r,
            Request {
                head_only: false,
                path: "/pkg/a.js".into(),
                host: Some("localhost:8000".into())
            }
        );
        assert!(parse_request(b"HEAD / HTTP/1.0").expect("parse").head_only);
        assert_eq!(
            parse_request(b"POST / HTTP/1.1\r\nHost: x"),
            Err(Status::MethodNotAllowed)
        );
        assert_eq!(
            parse_request(b"GET http://evil/ HTTP/1.1\r\nHost: x"),
            Err(Status::BadRequest)
        );
        assert_eq!(parse_request(b"GET / HTTP/1.1"), Err(Status::BadRequest));
        assert_eq!(
            parse_request(b"GET / HTTP/2.0\r\nHost: x"),
            Err(Status::VersionNotSupported)
        );
        assert_eq!(
            parse_request(b"GET  / HTTP/1.1\r\nHost: x"),
            Err(Status::BadRequest)
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b"),
            Err(Status::BadRequest)
        );
    }

    #[test]
    fn only_loopback_names_are_answered_on_loopback() {
        for ok in [
            "localhost",
            "localhost:8000",
            "LOCALHOST:1",
            "127.0.0.1:8000",
            "127.1.2.3",
            "[::1]:8000",
            "[::1]",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8000",
            "10.0.0.1:8000",
            "[::1",
            "localhost.evil.example",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn answers_carry_the_security_headers_and_the_mime_type() {
        let h = response_head(Status::Ok, mime(Path::new("pkg/sim_web_bg.wasm")), 8);
        assert!(h.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(h.contains("Content-Type: application/wasm\r\n"));
        assert!(h.contains("Content-Length: 8\r\n"));
        assert!(h.contains(&format!("Content-Security-Policy: {CSP}\r\n")));
        assert!(h.contains("X-Content-Type-Options: nosniff\r\n"));
        assert!(h.ends_with("Connection: close\r\n\r\n"));
        assert!(
            response_head(Status::MethodNotAllowed, "text/plain", 0)
                .contains("Allow: GET, HEAD\r\n")
        );
        for (file, want) in [
            ("index.html", "text/html; charset=utf-8"),
            ("main.js", "text/javascript; charset=utf-8"),
            ("style.CSS", "text/css; charset=utf-8"),
            ("a.json", "application/json"),
            ("logo.svg", "image/svg+xml"),
            ("logo.png", "image/png"),
            ("sim_web.d.ts", "application/octet-stream"),
            ("Makefile", "application/octet-stream"),
        ] {
            assert_eq!(mime(Path::new(file)), want, "{file}");
        }
    }

    /// One request over loopback; the server closes the connection after its answer.
    fn fetch(addr: SocketAddr, request: &str) -> (String, Vec<u8>) {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        s.write_all(request.as_bytes()).expect("send");
        let mut answer = Vec::new();
        s.take(1 << 20).read_to_end(&mut answer).expect("read");
        let split = find_blank_line(&answer).expect("a head");
        let head = String::from_utf8_lossy(&answer[..split]).into_owned();
        let body = answer[split + 4..].to_vec();
        (head, body)
    }

    fn get(addr: SocketAddr, path: &str) -> (String, Vec<u8>) {
        fetch(
            addr,
            &format!(
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
                addr.port()
            ),
        )
    }

    #[test]
    fn serves_the_site_over_loopback() {
        let t = TempSite::new("http");
        let server = Server::bind(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            &t.0.join("site"),
        )
        .expect("bind");
        let addr = server.local_addr().expect("addr");
        assert!(addr.ip().is_loopback());
        assert_eq!(server.url(), format!("http://127.0.0.1:{}/", addr.port()));
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| server.run(&stop));
            // Stops the server even when an assertion fails, or the scope would wait forever.
            let _stop = Stopper(&stop, addr);

            let (head, body) = get(addr, "/");
            assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
            assert!(
                head.contains("Content-Type: text/html; charset=utf-8"),
                "{head}"
            );
            assert!(
                head.contains(&format!("Content-Security-Policy: {CSP}")),
                "{head}"
            );
            assert!(head.contains("X-Content-Type-Options: nosniff"), "{head}");
            assert_eq!(body, b"<!doctype html><title>t</title>\n");

            let (head, body) = get(addr, "/pkg/sim_web_bg.wasm");
            assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
            assert!(head.contains("Content-Type: application/wasm"), "{head}");
            assert!(head.contains("Content-Length: 8"), "{head}");
            assert_eq!(body, b"\0asm\x01\0\0\0");

            let (head, body) = get(addr, "/../Cargo.toml");
            assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
            assert_eq!(body, b"404 Not Found\n");
            let (head, _) = get(addr, "/../secret.txt");
            assert!(head.starts_with("HTTP/1.1 404 "), "{head}");

            let (head, body) = fetch(
                addr,
                &format!(
                    "HEAD /index.html HTTP/1.1\r\nHost: localhost:{}\r\n\r\n",
                    addr.port()
                ),
            );
            assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
            assert!(head.contains("Content-Length: 32"), "{head}");
            assert!(body.is_empty());

            let (head, _) = fetch(addr, "DELETE / HTTP/1.1\r\nHost: localhost\r\n\r\n");
            assert!(head.starts_with("HTTP/1.1 405 "), "{head}");
            let (head, _) = fetch(addr, "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n");
            assert!(head.starts_with("HTTP/1.1 421 "), "{head}");
            let huge = format!(
                "GET / HTTP/1.1\r\nHost: localhost\r\nX: {}\r\n\r\n",
                "a".repeat(MAX_HEAD_BYTES)
            );
            let (head, _) = fetch(addr, &huge);
            assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
        });
    }

    struct Stopper<'a>(&'a AtomicBool, SocketAddr);

    impl Drop for Stopper<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
            // Wake the accept loop so that it sees the flag.
            let _ = TcpStream::connect_timeout(&self.1, Duration::from_secs(5));
        }
    }
}
