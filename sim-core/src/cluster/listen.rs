//! What a container really listens on (SCENARIO.md section 3).
//!
//! `containerPort` is documentation in Kubernetes: a process listens where its program
//! and configuration say. [`listen`] decides a container's sockets from, in order:
//!
//! 1. **The annotation** [`ANNOTATION`] (`simctl/listen: "8080,127.0.0.1:9090,53/udp"`)
//!    on the pod, which applies to the container at index 0, or
//!    `simctl/listen.<container-name>` for any container (it wins over the plain key
//!    for container 0). The syntax is [`parse_listen_annotation`]'s. An empty value
//!    means "listens on nothing".
//! 2. **The table of well-known images** ([`images`]): the image's defaults, moved by
//!    the flags and variables it reads (`redis --port 6380`, `-listen=:8080`,
//!    `PORT=9000`). containerPort is documentation: a declared port the table does not
//!    list is *not* listening (stock `nginx` declaring 8080 still serves 80: the
//!    containerPort myth) unless the pod shows that the image's configuration changed
//!    ([`images::ImageConfig`]): a volume mounted at, above or inside its configuration
//!    path (`/etc/nginx/conf.d`, ...), a command or args the table does not fully read,
//!    or an environment variable the image reads (`envFrom` too). With such evidence
//!    the declared port is trusted, and the trace says it is an assumption. Images
//!    whose ports come from a configuration simctl never sees (ingress-nginx's TCP
//!    services ConfigMap) always trust their declared ports; a declared port that is
//!    the image's default which a flag moved elsewhere (`redis --port 6380` declaring
//!    6379) never listens, nor does one on a general-purpose image (busybox, alpine,
//!    ...) whose command is known to serve nothing (`sleep 3600`). Probe ports are *not* added
//!    for a table image: a readinessProbe on a port the image does not serve fails, as
//!    it would in a cluster. The trace's [`ListenSource::Image`] `detail` says which
//!    rule applied.
//! 3. **The declared containerPorts and the ports the probes name** (readiness,
//!    liveness, startup; tcpSocket, httpGet, grpc; named ports resolved against the
//!    container's ports): [`ListenSource::Declared`].
//! 4. Nothing known: [`ListenSource::Assumed`] with no sockets. The data plane then
//!    accepts on any port and marks it as an assumption.
//!
//! Everything here is a pure function of the container and the pod's annotations.

pub mod argv;
pub mod images;
pub mod shell;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Bind, Listen, ListenSource, Socket};
use crate::net::Protocol;

/// The pod annotation that says what container 0 listens on.
pub const ANNOTATION: &str = "simctl/listen";

/// At most this many sockets are read from one annotation.
const MAX_ANNOTATION_SOCKETS: usize = 1024;

/// The sockets of `container` in a pod with `annotations`, and what decided them.
///
/// ```
/// use std::collections::BTreeMap;
/// use k8s_openapi::api::core::v1::Container;
/// use sim_core::cluster::ListenSource;
/// use sim_core::cluster::listen::listen;
///
/// let c = Container {
///     name: "web".into(),
///     image: Some("nginx:1.27".into()),
///     ..Container::default()
/// };
/// let l = listen(&c, &BTreeMap::new(), 0);
/// assert_eq!(l.sockets.len(), 1);
/// assert_eq!(l.sockets[0].port, 80);
/// assert!(matches!(l.source, ListenSource::Image { .. }));
/// ```
pub fn listen(
    container: &Container,
    annotations: &BTreeMap<String, String>,
    container_index: usize,
) -> Listen {
    if let Some((_, value)) = annotation_for(annotations, &container.name, container_index) {
        let (sockets, _errors) = parse_sockets(value);
        return Listen {
            sockets,
            source: ListenSource::Annotation,
            assumed: Vec::new(),
        };
    }
    let declared = declared_sockets(container);
    let image = container.image.as_deref().unwrap_or("");
    let argv = argv::Argv::of(container);
    if let Some(found) = images::lookup(image, &argv) {
        return from_image(container, image, found, &declared);
    }
    let mut sockets = declared;
    sockets.extend(probe_ports(container).into_iter().map(|port| Socket {
        bind: Bind::Any,
        port,
        protocol: Protocol::Tcp,
    }));
    sockets.sort();
    sockets.dedup();
    if sockets.is_empty() {
        Listen {
            sockets,
            source: ListenSource::Assumed,
            assumed: Vec::new(),
        }
    } else {
        Listen {
            assumed: sockets.clone(),
            sockets,
            source: ListenSource::Declared,
        }
    }
}

/// Rule 2: the table's sockets, with the declared ports it does not list when the pod
/// shows the image's configuration changed ([`images::Trust`]).
fn from_image(
    container: &Container,
    image: &str,
    found: images::ImageListen,
    declared: &[Socket],
) -> Listen {
    let evidence = match found.trust {
        images::Trust::OnEvidence => config_evidence(container, &found.config),
        _ => None,
    };
    let mut sockets = found.sockets;
    let mut notes = found.notes;
    let listed = |s: &Socket, sockets: &[Socket]| {
        sockets
            .iter()
            .any(|t| t.port == s.port && t.protocol == s.protocol)
    };
    let mut trusted = Vec::new();
    let mut stale = Vec::new();
    let mut ignored = Vec::new();
    for d in declared {
        if listed(d, &sockets) {
            continue;
        }
        if found.moved.contains(&(d.port, d.protocol)) {
            stale.push(*d);
        } else if found.trust == images::Trust::Always || evidence.is_some() {
            trusted.push(*d);
        } else {
            ignored.push(*d);
        }
    }
    let list = |v: &[Socket]| {
        v.iter()
            .map(|s| format!("{}/{}", s.port, s.protocol))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !trusted.is_empty() {
        notes.push(match &evidence {
            Some(why) => format!(
                "declared containerPort {} assumed to be listening: {why}, and simctl \
                 cannot read the configuration it gives",
                list(&trusted)
            ),
            None => format!(
                "declared containerPort {} also treated as listening (a configuration \
                 simctl cannot see may have moved the port)",
                list(&trusted)
            ),
        });
        sockets.extend(trusted.iter().copied());
    }
    if !stale.is_empty() {
        notes.push(format!(
            "declared containerPort {} is not listened on: the command line moved it",
            list(&stale)
        ));
    }
    if !ignored.is_empty() {
        notes.push(match found.trust {
            images::Trust::Never => format!(
                "declared containerPort {} is documentation only: nothing in the command serves it",
                list(&ignored)
            ),
            _ => format!(
                "declared containerPort {} is not listened on: containerPort is documentation, \
                 and nothing in the pod changes the image's configuration{}",
                list(&ignored),
                config_hint(&found.config)
            ),
        });
    }
    sockets.sort();
    sockets.dedup();
    Listen {
        sockets,
        source: ListenSource::Image {
            image: image.to_string(),
            detail: notes.join("; "),
        },
        assumed: trusted,
    }
}

/// What in the container shows that the image's configuration changed, said for the
/// trace; `None` when nothing does.
fn config_evidence(c: &Container, config: &images::ImageConfig) -> Option<String> {
    for m in c.volume_mounts.iter().flatten() {
        let mount = m.mount_path.trim_end_matches('/');
        if mount.is_empty() {
            continue;
        }
        if let Some(p) = config.paths.iter().find(|p| covers(mount, p)) {
            return Some(format!(
                "a volume is mounted at {} (the image's configuration {p})",
                m.mount_path
            ));
        }
    }
    if !config.args_read {
        if c.command.as_ref().is_some_and(|v| !v.is_empty()) {
            return Some("the pod overrides the image's command".to_string());
        }
        if c.args.as_ref().is_some_and(|v| !v.is_empty()) {
            return Some("the pod gives the image its own args".to_string());
        }
    }
    let reads = |name: &str| {
        config.env.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *p,
        })
    };
    if let Some(e) = c.env.iter().flatten().find(|e| reads(&e.name)) {
        return Some(format!("the pod sets {}, which the image reads", e.name));
    }
    if !config.env.is_empty() && c.env_from.as_ref().is_some_and(|v| !v.is_empty()) {
        return Some(format!(
            "envFrom may set variables the image reads ({})",
            config.env.join(", ")
        ));
    }
    None
}

/// Whether a volume at `mount` replaces the configuration at `path`: it is mounted
/// there, above it, or inside it.
fn covers(mount: &str, path: &str) -> bool {
    mount == path
        || path
            .strip_prefix(mount)
            .is_some_and(|rest| rest.starts_with('/'))
        || mount
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// ` (a volume at /etc/nginx/conf.d, a command or args)`: what would count.
fn config_hint(config: &images::ImageConfig) -> String {
    let mut what = Vec::new();
    if let Some(p) = config.paths.first() {
        what.push(format!("a volume at {p}"));
    }
    if !config.args_read {
        what.push("a command or args".to_string());
    }
    if let Some(e) = config.env.first() {
        what.push(format!("{e} in env"));
    }
    if what.is_empty() {
        String::new()
    } else {
        format!(" ({} would)", what.join(", "))
    }
}

/// The annotation that applies to container `name` at `index`: its own
/// `simctl/listen.<name>`, else `simctl/listen` for container 0. Returns the key too,
/// so a loader can point at it.
pub fn annotation_for<'a>(
    annotations: &'a BTreeMap<String, String>,
    name: &str,
    index: usize,
) -> Option<(&'a str, &'a str)> {
    if !name.is_empty() {
        let key = format!("{ANNOTATION}.{name}");
        if let Some((k, v)) = annotations.get_key_value(&key) {
            return Some((k.as_str(), v.as_str()));
        }
    }
    if index == 0 {
        return annotations
            .get_key_value(ANNOTATION)
            .map(|(k, v)| (k.as_str(), v.as_str()));
    }
    None
}

/// Parse `simctl/listen`: comma-separated `[ADDR:]PORT[/PROTO]`, where ADDR is
/// `0.0.0.0` (the default), `127.0.0.1` or `localhost` (only the pod itself can
/// connect), or an IPv4 address (`[::]` and `[::1]` are read as `0.0.0.0` and
/// loopback), and PROTO is `tcp` (default), `udp` or `sctp`.
///
/// ```
/// use sim_core::cluster::listen::parse_listen_annotation;
/// let s = parse_listen_annotation("8080, 127.0.0.1:9090, 53/udp").unwrap();
/// assert_eq!(s.len(), 3);
/// assert!(parse_listen_annotation("http").is_err());
/// ```
pub fn parse_listen_annotation(value: &str) -> Result<Vec<Socket>, String> {
    let (sockets, errors) = parse_sockets(value);
    if errors.is_empty() {
        Ok(sockets)
    } else {
        Err(errors.join("; "))
    }
}

/// What parses, and a message per item that does not.
fn parse_sockets(value: &str) -> (Vec<Socket>, Vec<String>) {
    let mut sockets = Vec::new();
    let mut errors = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if sockets.len() >= MAX_ANNOTATION_SOCKETS {
            errors.push(format!("more than {MAX_ANNOTATION_SOCKETS} sockets"));
            break;
        }
        match parse_item(item) {
            Ok(s) => sockets.push(s),
            Err(e) => errors.push(e),
        }
    }
    sockets.sort();
    sockets.dedup();
    (sockets, errors)
}

fn parse_item(item: &str) -> Result<Socket, String> {
    let (addr_port, protocol) = match item.rsplit_once('/') {
        Some((ap, proto)) => {
            let protocol = match proto.to_ascii_lowercase().as_str() {
                "tcp" => Protocol::Tcp,
                "udp" => Protocol::Udp,
                "sctp" => Protocol::Sctp,
                _ => {
                    return Err(format!(
                        "`{item}`: unknown protocol `{proto}` (tcp, udp or sctp)"
                    ));
                }
            };
            (ap, protocol)
        }
        None => (item, Protocol::Tcp),
    };
    let (bind, port_text) = match addr_port.rsplit_once(':') {
        Some((addr, port)) => {
            let bind = argv::bind(addr).ok_or_else(|| {
                format!(
                    "`{item}`: `{addr}` is not an address to bind (0.0.0.0, 127.0.0.1, \
                     localhost or an IPv4 address)"
                )
            })?;
            (bind, port)
        }
        None => (Bind::Any, addr_port),
    };
    let port = argv::port(port_text)
        .ok_or_else(|| format!("`{item}`: `{port_text}` is not a port number (1-65535)"))?;
    Ok(Socket {
        bind,
        port,
        protocol,
    })
}

/// The containerPorts, as sockets on every address.
fn declared_sockets(container: &Container) -> Vec<Socket> {
    let mut out: Vec<Socket> = container
        .ports
        .iter()
        .flatten()
        .filter_map(|p| {
            let port = u16::try_from(p.container_port).ok().filter(|p| *p != 0)?;
            let protocol = p
                .protocol
                .as_deref()
                .and_then(Protocol::parse)
                .unwrap_or_default();
            Some(Socket {
                bind: Bind::Any,
                port,
                protocol,
            })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A probe's port as a number: tcpSocket, httpGet or grpc; named ports resolved
/// against the container's ports.
fn probe_port(container: &Container, probe: &Probe) -> Option<u16> {
    let port = if let Some(t) = &probe.tcp_socket {
        &t.port
    } else if let Some(h) = &probe.http_get {
        &h.port
    } else if let Some(g) = &probe.grpc {
        return u16::try_from(g.port).ok().filter(|p| *p != 0);
    } else {
        return None;
    };
    resolve_port(container, port)
}

/// A number, or a port name resolved against the container's ports.
fn resolve_port(container: &Container, port: &IntOrString) -> Option<u16> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).ok().filter(|p| *p != 0),
        IntOrString::String(name) => container
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| u16::try_from(p.container_port).ok())
            .or_else(|| argv::port(name))
            .filter(|p| *p != 0),
    }
}

/// The ports the readiness, liveness and startup probes name.
fn probe_ports(container: &Container) -> Vec<u16> {
    let mut out: Vec<u16> = [
        &container.readiness_probe,
        &container.liveness_probe,
        &container.startup_probe,
    ]
    .into_iter()
    .flatten()
    .filter_map(|p| probe_port(container, p))
    .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The port name of a readinessProbe (httpGet or tcpSocket) that the container does
/// not declare and that is no number either: the kubelet cannot resolve it, and the
/// probe fails every time (`pkg/probe/util.go`, `ResolveContainerPort`).
pub fn readiness_unresolved(container: &Container) -> Option<String> {
    unresolved(container, container.readiness_probe.as_ref()?)
}

/// What a startupProbe checks: `Ok(port)`, or `Err(name)` for a port name the kubelet
/// cannot resolve; `None` for an exec probe or no probe.
pub fn startup_target(container: &Container) -> Option<Result<u16, String>> {
    let probe = container.startup_probe.as_ref()?;
    if let Some(name) = unresolved(container, probe) {
        return Some(Err(name));
    }
    probe_port(container, probe).map(Ok)
}

/// A probe's port name that resolves to no port of the container (nor is a number).
fn unresolved(container: &Container, probe: &Probe) -> Option<String> {
    let port = probe
        .http_get
        .as_ref()
        .map(|h| &h.port)
        .or_else(|| probe.tcp_socket.as_ref().map(|t| &t.port))?;
    match port {
        IntOrString::String(name) if resolve_port(container, port).is_none() => Some(name.clone()),
        _ => None,
    }
}

/// The port a readinessProbe checks (tcpSocket, httpGet or grpc), resolved against the
/// container's named ports; `None` for an exec probe, no probe, or a name that does
/// not resolve.
pub fn readiness_port(container: &Container) -> Option<u16> {
    container
        .readiness_probe
        .as_ref()
        .and_then(|p| probe_port(container, p))
}

#[cfg(test)]
mod tests;
