//! The `simctl/v1alpha1` Scenario document (SCENARIO.md section 2), as typed Rust.
//!
//! The document is checked field by field against the JSON Schema derived from these
//! types (the same strict walk as Kubernetes objects, so a misspelt field gets a
//! did-you-mean), then deserialized, then validated here ([`validate`]).

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::limits;
use crate::validation::field::{ErrorList, FieldError, Path};

pub mod network;

pub const API_VERSION: &str = "simctl/v1alpha1";
pub const KIND: &str = "Scenario";

/// The whole document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioDoc {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: ScenarioMeta,
    #[serde(default)]
    pub spec: ScenarioSpec,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioMeta {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioSpec {
    /// Shown by the tutorial.
    pub title: Option<String>,
    /// Markdown, shown by the tutorial.
    pub description: Option<String>,
    /// Default 0; `--seed` overrides.
    pub seed: Option<u64>,
    #[serde(default)]
    pub cluster: Cluster,
    pub clients: Option<Vec<Client>>,
    #[serde(default)]
    pub traffic: Vec<Traffic>,
    #[serde(default)]
    pub events: Vec<Event>,
    #[serde(default)]
    pub expect: Vec<Expectation>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub nodes: Option<Vec<NodeSpec>>,
    #[serde(rename = "clusterCIDR")]
    pub cluster_cidr: Option<String>,
    #[serde(rename = "serviceCIDR")]
    pub service_cidr: Option<String>,
    /// `30000-32767`.
    pub service_node_port_range: Option<String>,
    pub cluster_domain: Option<String>,
    /// `none` | `cloud`.
    pub load_balancer: Option<String>,
    #[serde(default)]
    pub kube_proxy: KubeProxy,
    #[serde(default)]
    pub network: Network,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSpec {
    pub name: String,
    pub ip: Option<String>,
    #[serde(default, rename = "extraIPs")]
    pub extra_ips: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(rename = "podCIDR")]
    pub pod_cidr: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KubeProxy {
    /// `iptables` | `ipvs` | `nftables`.
    pub mode: Option<String>,
    /// `rr` | `lc` | `sh`.
    pub ipvs_scheduler: Option<String>,
    /// CIDRs, or `primary`.
    pub node_port_addresses: Option<Vec<String>>,
    /// `ClusterCIDR` | `NodeCIDR` | `None`.
    pub detect_local_mode: Option<String>,
    pub localhost_node_ports: Option<bool>,
    pub masquerade_all: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    /// A Go duration, per link: `100us`.
    pub latency: Option<String>,
    /// Probability a packet is lost on a link.
    pub loss: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub name: String,
    pub ip: Option<String>,
    #[serde(default)]
    pub dns_names: Vec<String>,
}

/// Where traffic comes from: a named endpoint, or a raw source address on a node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum From {
    /// A client, a node, or a pod (`name`, `namespace/name`, `pod/name`, `pod/ns/name`).
    Name(String),
    /// A packet with this source address appearing on this node.
    Address { ip: String, node: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Traffic {
    pub name: String,
    pub from: From,
    /// `HOST:PORT`.
    pub to: Option<String>,
    /// A DNS name to resolve (a query alone).
    pub resolve: Option<String>,
    /// The query type for `resolve`: `A` (default) or `SRV`.
    #[serde(rename = "type")]
    pub query_type: Option<String>,
    /// `TCP` | `UDP` | `SCTP`; default TCP.
    pub protocol: Option<String>,
    /// Connections (TCP) or datagrams (UDP); default 1.
    pub requests: Option<u64>,
    /// Between requests; default `1ms`.
    pub interval: Option<String>,
    /// When the first request leaves; default `0s`.
    pub start: Option<String>,
    /// Default: a new ephemeral port per request from the seeded RNG.
    pub source_port: Option<u16>,
}

/// One timed event: `at` and exactly one verb.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub at: String,
    pub delete_pod: Option<String>,
    pub set_ready: Option<SetReady>,
    pub node_down: Option<String>,
    pub node_up: Option<String>,
    pub scale: Option<Scale>,
    /// Any manifest of SCENARIO.md section 1, as text.
    pub apply: Option<String>,
    pub delete: Option<DeleteRef>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetReady {
    pub pod: String,
    pub ready: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Scale {
    pub deployment: String,
    pub replicas: i32,
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteRef {
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Expectation {
    pub traffic: Option<String>,
    /// `delivered` | `refused` | `timeout` | `unreachable` | `nxdomain`.
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub backends: Option<Backends>,
    /// The container port reached.
    pub port: Option<u16>,
    /// `client` | `node` | an IP: what the backend sees.
    #[serde(rename = "sourceIP")]
    pub source_ip: Option<String>,
    /// Each backend gets at least this share.
    pub min_share: Option<f64>,
    pub diagnostic: Option<DiagnosticExpectation>,
}

/// The backends a flow may reach.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Backends {
    /// `{selector: app=web}`.
    Selector { selector: String },
    /// Pod names or `ip:port` endpoints.
    List(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticExpectation {
    pub field: Option<String>,
    pub contains: Option<String>,
    pub code: Option<String>,
}

/// The timed action of an [`Event`], once validated.
#[derive(Clone, Debug, PartialEq)]
pub enum EventAction {
    DeletePod(String),
    SetReady(SetReady),
    NodeDown(String),
    NodeUp(String),
    Scale(Scale),
    Apply(String),
    Delete(DeleteRef),
}

impl Event {
    /// The one verb this event carries, if exactly one is set.
    pub fn action(&self) -> Option<EventAction> {
        let mut all = Vec::new();
        if let Some(p) = &self.delete_pod {
            all.push(EventAction::DeletePod(p.clone()));
        }
        if let Some(s) = &self.set_ready {
            all.push(EventAction::SetReady(s.clone()));
        }
        if let Some(n) = &self.node_down {
            all.push(EventAction::NodeDown(n.clone()));
        }
        if let Some(n) = &self.node_up {
            all.push(EventAction::NodeUp(n.clone()));
        }
        if let Some(s) = &self.scale {
            all.push(EventAction::Scale(s.clone()));
        }
        if let Some(a) = &self.apply {
            all.push(EventAction::Apply(a.clone()));
        }
        if let Some(d) = &self.delete {
            all.push(EventAction::Delete(d.clone()));
        }
        if all.len() == 1 { all.pop() } else { None }
    }
}

/// Parse a Go duration (`250us`, `10ms`, `1.5s`, `2m`, `1h30m`) into nanoseconds.
///
/// Follows `time.ParseDuration`: a sequence of decimal numbers each with a unit
/// (ns, us, µs, ms, s, m, h); `0` alone is allowed. Negative durations are refused here:
/// virtual time only moves forward.
pub fn parse_duration_ns(s: &str) -> Result<u64, String> {
    let orig = s;
    let s = s.trim();
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err("invalid duration \"\"".into());
    }
    let bad = || {
        format!(
            "invalid duration {}",
            crate::validation::field::go_quote(orig)
        )
    };
    let mut rest = s;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad());
        }
        let (num, after) = rest.split_at(num_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => {
                return Err(format!(
                    "missing unit in duration {}",
                    crate::validation::field::go_quote(orig)
                ));
            }
            _ => {
                return Err(format!(
                    "unknown unit {} in duration {}",
                    crate::validation::field::go_quote(unit),
                    crate::validation::field::go_quote(orig)
                ));
            }
        };
        let (int_part, frac_part) = num.split_once('.').unwrap_or((num, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad());
        }
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| bad())?
        };
        let mut value = int.checked_mul(scale).ok_or_else(bad)?;
        let mut frac_scale = scale;
        for d in frac_part.chars() {
            frac_scale /= 10;
            let digit = d.to_digit(10).ok_or_else(bad)? as u128;
            value += digit * frac_scale;
        }
        total = total.checked_add(value).ok_or_else(bad)?;
        rest = next;
    }
    u64::try_from(total).map_err(|_| bad())
}

/// Check what the schema cannot: enumerations, durations, names, addresses, limits,
/// references between entries. Linear in the document's size (names are checked against
/// sets, never against lists).
pub fn validate(doc: &ScenarioDoc) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = Path::new("spec");
    let cluster = spec.child("cluster");
    validate_settings(doc, &cluster, &mut errs);
    network::validate(&doc.spec.cluster, &cluster, &mut errs);
    validate_nodes(doc, &cluster, &mut errs);
    validate_clients(doc, &spec, &mut errs);
    validate_traffic(doc, &spec, &mut errs);
    validate_events(doc, &spec, &mut errs);
    validate_expectations(doc, &spec, &mut errs);
    errs
}

/// Push `Unsupported value` when `v` is set and not one of `valid`.
fn one_of(errs: &mut ErrorList, path: &Path, v: &Option<String>, valid: &[&str]) {
    if let Some(v) = v
        && !valid.contains(&v.as_str())
    {
        errs.push(FieldError::not_supported(path, v.as_str(), valid));
    }
}

/// The cluster's enumerations, port range and network settings.
fn validate_settings(doc: &ScenarioDoc, cluster: &Path, errs: &mut ErrorList) {
    let c = &doc.spec.cluster;
    one_of(
        errs,
        &cluster.child("loadBalancer"),
        &c.load_balancer,
        &["cloud", "none"],
    );
    let kp = cluster.child("kubeProxy");
    one_of(
        errs,
        &kp.child("mode"),
        &c.kube_proxy.mode,
        &["iptables", "ipvs", "nftables"],
    );
    one_of(
        errs,
        &kp.child("ipvsScheduler"),
        &c.kube_proxy.ipvs_scheduler,
        &["lc", "rr", "sh"],
    );
    one_of(
        errs,
        &kp.child("detectLocalMode"),
        &c.kube_proxy.detect_local_mode,
        &["ClusterCIDR", "NodeCIDR", "None"],
    );
    if let Some(r) = &c.service_node_port_range
        && parse_port_range(r).is_none()
    {
        errs.push(FieldError::invalid(
            &cluster.child("serviceNodePortRange"),
            r.as_str(),
            "must be a port range FROM-TO with 1 <= FROM <= TO <= 65535",
        ));
    }
    if let Some(l) = &c.network.latency
        && let Err(e) = parse_duration_ns(l)
    {
        errs.push(FieldError::invalid(
            &cluster.child("network").child("latency"),
            l.as_str(),
            e,
        ));
    }
    if let Some(loss) = c.network.loss
        && !(0.0..=1.0).contains(&loss)
    {
        errs.push(FieldError::invalid(
            &cluster.child("network").child("loss"),
            crate::validation::BadValue::Raw(loss.to_string()),
            "must be a probability between 0 and 1",
        ));
    }
}

/// A name that must be unique among its kind: required, and not seen before.
fn unique_name<'a>(
    errs: &mut ErrorList,
    path: &Path,
    name: &'a str,
    seen: &mut BTreeSet<&'a str>,
) -> bool {
    if name.is_empty() {
        errs.push(FieldError::required(path, ""));
        return false;
    }
    if !seen.insert(name) {
        errs.push(FieldError::duplicate(path, name));
        return false;
    }
    true
}

/// A node's or client's name: a DNS subdomain, as the API server requires of a Node's
/// `metadata.name` (`ValidateNodeName` in pkg/apis/core/validation/validation.go).
fn dns_subdomain_name(errs: &mut ErrorList, path: &Path, name: &str) {
    for msg in crate::validation::names::is_dns1123_subdomain(name) {
        errs.push(FieldError::invalid(path, name, msg));
    }
}

fn validate_nodes(doc: &ScenarioDoc, cluster: &Path, errs: &mut ErrorList) {
    let nodes = doc.spec.cluster.nodes.as_deref().unwrap_or_default();
    if nodes.len() > limits::MAX_NODES {
        let mut e = FieldError::too_many(&cluster.child("nodes"), nodes.len(), limits::MAX_NODES);
        e.detail
            .push_str(": simctl's limit of nodes per cluster (Kubernetes' own envelope)");
        errs.push(e);
    }
    let mut names = BTreeSet::new();
    for (i, n) in nodes.iter().enumerate() {
        let p = cluster.child("nodes").index(i);
        if unique_name(errs, &p.child("name"), &n.name, &mut names) {
            dns_subdomain_name(errs, &p.child("name"), &n.name);
        }
        if let Some(ip) = &n.ip {
            network::ipv4(errs, &p.child("ip"), ip);
        }
        for (j, ip) in n.extra_ips.iter().enumerate() {
            network::ipv4(errs, &p.child("extraIPs").index(j), ip);
        }
        if let Some(c) = &n.pod_cidr {
            network::cidr(errs, &p.child("podCIDR"), c, "10.244.1.0/24");
        }
    }
}

fn validate_clients(doc: &ScenarioDoc, spec: &Path, errs: &mut ErrorList) {
    let mut names = BTreeSet::new();
    for (i, c) in doc.spec.clients.iter().flatten().enumerate() {
        let p = spec.child("clients").index(i);
        if unique_name(errs, &p.child("name"), &c.name, &mut names) {
            dns_subdomain_name(errs, &p.child("name"), &c.name);
        }
        if let Some(ip) = &c.ip {
            network::ipv4(errs, &p.child("ip"), ip);
        }
        for (j, name) in c.dns_names.iter().enumerate() {
            let name = name.strip_suffix('.').unwrap_or(name);
            dns_subdomain_name(errs, &p.child("dnsNames").index(j), name);
        }
    }
}

/// A traffic entry's name is a label people read in stories and tables: printable, and
/// no longer than a DNS subdomain.
fn traffic_name(errs: &mut ErrorList, path: &Path, name: &str) {
    let max = crate::validation::names::DNS1123_SUBDOMAIN_MAX_LENGTH;
    if name.chars().count() > max {
        errs.push(FieldError::too_long(path, max));
    } else if name.chars().any(char::is_control) {
        errs.push(FieldError::invalid(
            path,
            name,
            "must not contain control characters (newlines, tabs)",
        ));
    }
}

/// The traffic entries (expectations' references to them are `crate::admit`'s).
fn validate_traffic(doc: &ScenarioDoc, spec: &Path, errs: &mut ErrorList) {
    let mut names = BTreeSet::new();
    let mut total: u64 = 0;
    for (i, t) in doc.spec.traffic.iter().enumerate() {
        let p = spec.child("traffic").index(i);
        if unique_name(errs, &p.child("name"), &t.name, &mut names) {
            traffic_name(errs, &p.child("name"), &t.name);
        }
        match (&t.to, &t.resolve) {
            (None, None) => errs.push(FieldError::required(
                &p.child("to"),
                "one of `to` or `resolve` is required",
            )),
            (Some(_), Some(_)) => errs.push(FieldError::forbidden(
                &p.child("resolve"),
                "may not be set together with `to`",
            )),
            (Some(to), None) => {
                if split_host_port(to).is_none() {
                    errs.push(FieldError::invalid(
                        &p.child("to"),
                        to.as_str(),
                        "must be HOST:PORT with a port between 1 and 65535",
                    ));
                }
            }
            (None, Some(_)) => {}
        }
        one_of(
            errs,
            &p.child("protocol"),
            &t.protocol,
            &["SCTP", "TCP", "UDP"],
        );
        one_of(errs, &p.child("type"), &t.query_type, &["A", "SRV"]);
        if let From::Address { ip, .. } = &t.from {
            network::ipv4(errs, &p.child("from").child("ip"), ip);
        }
        for (field, d) in [("interval", &t.interval), ("start", &t.start)] {
            if let Some(d) = d
                && let Err(e) = parse_duration_ns(d)
            {
                errs.push(FieldError::invalid(&p.child(field), d.as_str(), e));
            }
        }
        if t.source_port == Some(0) {
            errs.push(FieldError::invalid(
                &p.child("sourcePort"),
                0,
                "must be between 1 and 65535, inclusive",
            ));
        }
        let requests = t.requests.unwrap_or(1);
        let before = total;
        total = total.saturating_add(requests);
        if total > limits::MAX_REQUESTS && before <= limits::MAX_REQUESTS {
            let detail = if requests > limits::MAX_REQUESTS {
                format!(
                    "must be no more than {}: simctl's limit of requests per run (use `interval` and a few thousand requests to see a spread)",
                    limits::MAX_REQUESTS
                )
            } else {
                format!(
                    "the traffic entries ask for more than {} requests in all: simctl's limit of requests per run",
                    limits::MAX_REQUESTS
                )
            };
            errs.push(FieldError::invalid(
                &p.child("requests"),
                crate::validation::BadValue::Raw(requests.to_string()),
                detail,
            ));
        }
    }
}

fn validate_events(doc: &ScenarioDoc, spec: &Path, errs: &mut ErrorList) {
    for (i, e) in doc.spec.events.iter().enumerate() {
        let p = spec.child("events").index(i);
        if let Err(msg) = parse_duration_ns(&e.at) {
            errs.push(FieldError::invalid(&p.child("at"), e.at.as_str(), msg));
        }
        if e.action().is_none() {
            errs.push(FieldError::invalid(
                &p,
                crate::validation::BadValue::Omit,
                "must set exactly one of deletePod, setReady, nodeDown, nodeUp, scale, apply, delete",
            ));
        }
        if let Some(s) = &e.scale
            && usize::try_from(s.replicas).is_ok_and(|r| r > limits::MAX_REPLICAS)
        {
            errs.push(FieldError::invalid(
                &p.child("scale").child("replicas"),
                s.replicas,
                format!(
                    "must be no more than {}: simctl's limit of replicas per workload",
                    limits::MAX_REPLICAS
                ),
            ));
        }
    }
}

fn validate_expectations(doc: &ScenarioDoc, spec: &Path, errs: &mut ErrorList) {
    for (i, x) in doc.spec.expect.iter().enumerate() {
        let p = spec.child("expect").index(i);
        one_of(
            errs,
            &p.child("outcome"),
            &x.outcome,
            &["delivered", "nxdomain", "refused", "timeout", "unreachable"],
        );
        // A `traffic` naming no entry is a reference error (crate::admit::references).
        if x.traffic.is_none() && x.diagnostic.is_none() {
            errs.push(FieldError::required(
                &p.child("traffic"),
                "one of `traffic` or `diagnostic` is required",
            ));
        }
        if let Some(s) = x.min_share
            && !(0.0..=1.0).contains(&s)
        {
            errs.push(FieldError::invalid(
                &p.child("minShare"),
                crate::validation::BadValue::Raw(s.to_string()),
                "must be between 0 and 1",
            ));
        }
    }
}

/// `30000-32767` -> (30000, 32767).
pub fn parse_port_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.trim().split_once('-')?;
    let (a, b): (u16, u16) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a >= 1 && a <= b).then_some((a, b))
}

/// `10.96.0.0/12` -> (address, prefix length).
pub fn parse_cidr(s: &str) -> Option<(std::net::IpAddr, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: std::net::IpAddr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (len <= max).then_some((ip, len))
}

/// `HOST:PORT` (`[v6]:PORT` too) -> (host, port).
pub fn split_host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().ok()?;
    (!host.is_empty() && port != 0).then_some((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration_ns("250us"), Ok(250_000));
        assert_eq!(parse_duration_ns("10ms"), Ok(10_000_000));
        assert_eq!(parse_duration_ns("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration_ns("2m"), Ok(120_000_000_000));
        assert_eq!(parse_duration_ns("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration_ns("0"), Ok(0));
        assert!(parse_duration_ns("10").is_err());
        assert!(parse_duration_ns("1x").is_err());
        assert!(parse_duration_ns("-1s").is_err());
        assert!(parse_duration_ns("99999999999999999999h").is_err());
    }

    #[test]
    fn host_port() {
        assert_eq!(split_host_port("node-1:30080"), Some(("node-1", 30080)));
        assert_eq!(split_host_port("[fd00::1]:80"), Some(("fd00::1", 80)));
        assert_eq!(split_host_port("web"), None);
        assert_eq!(split_host_port("web:0"), None);
    }
}
