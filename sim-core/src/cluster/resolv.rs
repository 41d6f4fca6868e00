//! A pod's `/etc/resolv.conf`, as the kubelet writes it (`pkg/kubelet/network/dns/dns.go`
//! `GetPodDNS`): `dnsPolicy` picks the base and `dnsConfig` is appended to it.
//!
//! - `ClusterFirst` (the default): the cluster DNS (kubelet's `--cluster-dns`, the
//!   `kube-system/kube-dns` ClusterIP) is the only nameserver, the search path is
//!   `<ns>.svc.<domain> svc.<domain> <domain>`, `options ndots:5`. On a hostNetwork pod
//!   it falls back to `Default`, unless the policy is `ClusterFirstWithHostNet`.
//! - `Default`: the node's own resolv.conf. simctl's nodes have one nameserver, their
//!   resolver outside the cluster, which knows node names and clients' `dnsNames` (not
//!   cluster names), no search path and no options (glibc's `ndots:1`).
//! - `None`: only `dnsConfig`.
//!
//! `dnsConfig` (`appendDNSConfig`): its nameservers and searches are appended with
//! duplicates left out, its options override those of the same name. Then the limits:
//! at most 3 nameservers (`MaxDNSNameservers`), 32 search domains
//! (`MaxDNSSearchPathsExpanded`), each at most 253 characters.

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::PodSpec;

use super::{Cluster, PodId};

/// `validation.MaxDNSNameservers`.
pub const MAX_NAMESERVERS: usize = 3;
/// `validation.MaxDNSSearchPathsExpanded`.
pub const MAX_SEARCHES: usize = 32;
/// glibc's `RES_MAXNDOTS`: a larger ndots is read as 15.
const MAX_NDOTS: usize = 15;
/// glibc's default ndots.
const GLIBC_NDOTS: usize = 1;
/// The kubelet's `defaultDNSOptions`.
const CLUSTER_NDOTS: usize = 5;

/// resolv.conf `options`: name and value.
type Options = Vec<(String, Option<String>)>;

/// `spec.dnsPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DnsPolicy {
    #[default]
    ClusterFirst,
    ClusterFirstWithHostNet,
    Default,
    None,
}

impl DnsPolicy {
    pub fn parse(s: &str) -> DnsPolicy {
        match s {
            "ClusterFirstWithHostNet" => DnsPolicy::ClusterFirstWithHostNet,
            "Default" => DnsPolicy::Default,
            "None" => DnsPolicy::None,
            _ => DnsPolicy::ClusterFirst,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            DnsPolicy::ClusterFirst => "ClusterFirst",
            DnsPolicy::ClusterFirstWithHostNet => "ClusterFirstWithHostNet",
            DnsPolicy::Default => "Default",
            DnsPolicy::None => "None",
        }
    }
}

/// A pod's DNS settings as written: `dnsPolicy` and `dnsConfig`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PodDns {
    pub policy: DnsPolicy,
    /// `dnsConfig.nameservers` (IPv6 ones are left out: simctl's network is IPv4).
    pub nameservers: Vec<Ipv4Addr>,
    pub searches: Vec<String>,
    /// `dnsConfig.options`: name and value.
    pub options: Vec<(String, Option<String>)>,
}

impl PodDns {
    pub fn from_spec(spec: &PodSpec) -> PodDns {
        let config = spec.dns_config.as_ref();
        PodDns {
            policy: DnsPolicy::parse(spec.dns_policy.as_deref().unwrap_or("")),
            nameservers: config
                .and_then(|c| c.nameservers.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|s| s.trim().parse().ok())
                .collect(),
            searches: config
                .and_then(|c| c.searches.as_ref())
                .into_iter()
                .flatten()
                .map(|s| s.trim_end_matches('.').to_ascii_lowercase())
                .collect(),
            options: config
                .and_then(|c| c.options.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|o| Some((o.name.clone()?, o.value.clone())))
                .collect(),
        }
    }
}

/// Which base the kubelet starts from (`podDNSType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsType {
    Cluster,
    Host,
    None,
}

/// One `nameserver` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nameserver {
    /// The node's own resolver (from its resolv.conf, under `Default`).
    Node,
    /// An address: the cluster DNS, or one `dnsConfig` names.
    Ip(Ipv4Addr),
}

/// The resolv.conf the kubelet writes for a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvConf {
    pub kind: DnsType,
    pub nameservers: Vec<Nameserver>,
    pub search: Vec<String>,
    pub ndots: usize,
}

impl ResolvConf {
    /// What a host outside the cluster (a client, a node) uses: its own resolver, no
    /// search path.
    pub fn outside() -> ResolvConf {
        ResolvConf {
            kind: DnsType::Host,
            nameservers: vec![Nameserver::Node],
            search: Vec::new(),
            ndots: GLIBC_NDOTS,
        }
    }
}

/// `getPodDNSType`.
pub fn dns_type(policy: DnsPolicy, host_network: bool) -> DnsType {
    match policy {
        DnsPolicy::None => DnsType::None,
        DnsPolicy::ClusterFirstWithHostNet => DnsType::Cluster,
        DnsPolicy::ClusterFirst if !host_network => DnsType::Cluster,
        DnsPolicy::ClusterFirst | DnsPolicy::Default => DnsType::Host,
    }
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

impl Cluster {
    /// The kubelet's `--cluster-dns`: the `kube-system/kube-dns` ClusterIP, or the
    /// tenth address of serviceCIDR where kubeadm puts it.
    pub fn cluster_dns(&self) -> Option<Ipv4Addr> {
        self.service_by_name("kube-system", "kube-dns")
            .and_then(|s| self.services[s].cluster_ip)
            .or_else(|| self.config.service_cidr.nth(10))
    }

    /// The resolv.conf of pod `p` (`GetPodDNS`).
    pub fn resolv_conf(&self, p: PodId) -> ResolvConf {
        let Some(pod) = self.pods.get(p) else {
            return ResolvConf::outside();
        };
        let kind = dns_type(pod.dns.policy, pod.host_network);
        let d = &self.config.cluster_domain;
        let (mut nameservers, mut search, mut options): (Vec<Nameserver>, Vec<String>, Options) =
            match kind {
                DnsType::None => (Vec::new(), Vec::new(), Vec::new()),
                DnsType::Host => (vec![Nameserver::Node], Vec::new(), Vec::new()),
                DnsType::Cluster => (
                    self.cluster_dns().map(Nameserver::Ip).into_iter().collect(),
                    vec![
                        format!("{}.svc.{d}", pod.namespace),
                        format!("svc.{d}"),
                        d.clone(),
                    ],
                    vec![("ndots".into(), Some(CLUSTER_NDOTS.to_string()))],
                ),
            };
        for ns in &pod.dns.nameservers {
            push_unique(&mut nameservers, Nameserver::Ip(*ns));
        }
        for s in &pod.dns.searches {
            push_unique(&mut search, s.clone());
        }
        for (name, value) in &pod.dns.options {
            options.retain(|(n, _)| n != name);
            options.push((name.clone(), value.clone()));
        }
        nameservers.truncate(MAX_NAMESERVERS);
        search.truncate(MAX_SEARCHES);
        search.retain(|s| s.len() <= 253 && !s.is_empty());
        let ndots = options
            .iter()
            .find(|(n, _)| n == "ndots")
            .and_then(|(_, v)| v.as_deref()?.parse::<usize>().ok())
            .map_or(GLIBC_NDOTS, |n| n.min(MAX_NDOTS));
        ResolvConf {
            kind,
            nameservers,
            search,
            ndots,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_type_follows_get_pod_dns_type() {
        assert_eq!(dns_type(DnsPolicy::ClusterFirst, false), DnsType::Cluster);
        assert_eq!(dns_type(DnsPolicy::ClusterFirst, true), DnsType::Host);
        assert_eq!(
            dns_type(DnsPolicy::ClusterFirstWithHostNet, true),
            DnsType::Cluster
        );
        assert_eq!(
            dns_type(DnsPolicy::ClusterFirstWithHostNet, false),
            DnsType::Cluster
        );
        assert_eq!(dns_type(DnsPolicy::Default, false), DnsType::Host);
        assert_eq!(dns_type(DnsPolicy::None, true), DnsType::None);
    }
}
