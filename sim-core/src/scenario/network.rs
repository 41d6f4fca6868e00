//! The Scenario's address plan: `clusterCIDR`, `serviceCIDR` and the nodes' addresses,
//! checked as the components that own them check them.
//!
//! - serviceCIDR: kube-apiserver refuses a range of more than 2^20 addresses
//!   (`validateMaxCIDRRange`, pkg/controlplane/apiserver/options/validation.go:
//!   "specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask
//!   must be >= 12"); kubeadm wants at least 10 addresses.
//! - clusterCIDR: kubeadm's `ValidatePodSubnetNodeMask` and `ValidateIPNetFromString`
//!   (cmd/kubeadm/app/apis/kubeadm/validation/validation.go): at least 14 addresses, and
//!   at most 16 bits between its mask and the node mask (24).
//! - Overlaps: neither kubeadm nor the API server checks that the two ranges are apart;
//!   kube-controller-manager's range allocator leaves the Service range out of the
//!   podCIDRs it hands out (`filterOutServiceRange`, pkg/controller/nodeipam/ipam/
//!   range_allocator.go), but CNI plugins with their own IPAM (Calico, Cilium) do not, and
//!   a pod at an address kube-proxy translates as a ClusterIP is unreachable. simctl
//!   cannot tell which plugin a cluster runs, so an overlap is an error, as is a node
//!   address inside either range (a packet to it is both a node's and a pod's or a
//!   Service's).
//! - The number of nodes against the podCIDRs clusterCIDR holds is checked with the
//!   objects, in [`crate::limits::check_cluster`].

use std::net::{IpAddr, Ipv4Addr};

use super::{Cluster, parse_cidr};
use crate::net::Cidr;
use crate::validation::field::{ErrorList, FieldError, Path};

/// The defaults SCENARIO.md section 2 gives.
const DEFAULT_CLUSTER_CIDR: &str = "10.244.0.0/16";
const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
/// Where simctl puts nodes that have no address (`172.18.0.(2+i)`, as kind does).
const DEFAULT_NODE_RANGE: &str = "172.18.0.0/16";

/// kubeadm's `MinimumAddressesInServiceSubnet`.
const MIN_SERVICE_ADDRESSES: u64 = 10;
/// kubeadm's `MinimumAddressesInPodSubnet`.
const MIN_POD_ADDRESSES: u64 = 14;
/// kube-apiserver's and kubeadm's `MaximumBitsForServiceSubnet`.
const MAX_SERVICE_BITS: u8 = 20;
/// kubeadm's `PodSubnetNodeMaskMaxDiff`.
const POD_SUBNET_NODE_MASK_MAX_DIFF: u8 = 16;

const SINGLE_STACK: &str = "simctl simulates IPv4 single-stack clusters";

/// An address field: an IPv4 address.
pub fn ipv4(errs: &mut ErrorList, path: &Path, value: &str) {
    match value.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => {}
        Ok(IpAddr::V6(_)) => errs.push(FieldError::invalid(
            path,
            value,
            format!("must be an IPv4 address: {SINGLE_STACK}"),
        )),
        Err(_) => errs.push(FieldError::invalid(
            path,
            value,
            "must be a valid IP address",
        )),
    }
}

/// A prefix field: an IPv4 CIDR (`example` shows one in the message).
pub fn cidr(errs: &mut ErrorList, path: &Path, value: &str, example: &str) {
    match parse_cidr(value) {
        Some((IpAddr::V4(_), _)) => {}
        Some((IpAddr::V6(_), _)) => errs.push(FieldError::invalid(
            path,
            value,
            format!("must be an IPv4 CIDR: {SINGLE_STACK}"),
        )),
        None => errs.push(FieldError::invalid(
            path,
            value,
            format!("must be a valid CIDR (e.g. {example})"),
        )),
    }
}

/// A prefix field's value as an IPv4 prefix, if it is one.
fn v4_cidr(value: &str) -> Option<Cidr> {
    match parse_cidr(value)? {
        (IpAddr::V4(ip), len) => Some(Cidr::new(ip, len)),
        _ => None,
    }
}

fn overlap(a: &Cidr, b: &Cidr) -> bool {
    a.covers(b) || b.covers(a)
}

/// clusterCIDR, serviceCIDR and the nodes' addresses.
pub fn validate(c: &Cluster, cluster: &Path, errs: &mut ErrorList) {
    let pod_path = cluster.child("clusterCIDR");
    let svc_path = cluster.child("serviceCIDR");
    let before = errs.len();
    if let Some(v) = &c.cluster_cidr {
        cidr(errs, &pod_path, v, "10.244.0.0/16");
    }
    if let Some(v) = &c.service_cidr {
        cidr(errs, &svc_path, v, "10.96.0.0/12");
    }
    if errs.len() > before {
        return;
    }
    let (Some(pods), Some(services)) = (
        v4_cidr(c.cluster_cidr.as_deref().unwrap_or(DEFAULT_CLUSTER_CIDR)),
        v4_cidr(c.service_cidr.as_deref().unwrap_or(DEFAULT_SERVICE_CIDR)),
    ) else {
        return;
    };
    if let Some(v) = &c.service_cidr {
        if 32 - services.len > MAX_SERVICE_BITS {
            errs.push(FieldError::invalid(
                &svc_path,
                v.as_str(),
                format!(
                    "specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= {}",
                    32 - MAX_SERVICE_BITS
                ),
            ));
        } else if services.size() < MIN_SERVICE_ADDRESSES {
            errs.push(too_small(&svc_path, &services, MIN_SERVICE_ADDRESSES));
        }
    }
    if let Some(v) = &c.cluster_cidr {
        let node_mask = crate::cluster::build::NODE_CIDR_MASK;
        if pods.size() < MIN_POD_ADDRESSES {
            errs.push(too_small(&pod_path, &pods, MIN_POD_ADDRESSES));
        } else if pods.len <= node_mask && node_mask - pods.len > POD_SUBNET_NODE_MASK_MAX_DIFF {
            errs.push(FieldError::invalid(
                &pod_path,
                v.as_str(),
                format!(
                    "pod subnet mask ({}) and node-mask ({node_mask}) difference is greater than {POD_SUBNET_NODE_MASK_MAX_DIFF}",
                    pods.len
                ),
            ));
        }
    }
    if overlap(&pods, &services) {
        // Point at what the user wrote (clusterCIDR first); a default is named as one.
        let (path, value, other, other_name) = match (&c.cluster_cidr, &c.service_cidr) {
            (Some(v), _) => (&pod_path, v.as_str(), services, "serviceCIDR"),
            (None, Some(v)) => (&svc_path, v.as_str(), pods, "clusterCIDR"),
            (None, None) => return,
        };
        errs.push(FieldError::invalid(
            path,
            value,
            format!(
                "overlaps {other_name} {other}: pods would get addresses inside the Service range, which kube-proxy translates as ClusterIPs; give the two ranges no address in common (kubeadm's defaults: podSubnet 10.244.0.0/16, serviceSubnet 10.96.0.0/12)"
            ),
        ));
        return;
    }
    node_addresses(c, cluster, &pods, &services, errs);
}

/// kubeadm's `subnet with N address(es) is too small, the minimum is M`.
fn too_small(path: &Path, cidr: &Cidr, min: u64) -> FieldError {
    FieldError::invalid(
        path,
        cidr.to_string(),
        format!(
            "subnet with {} address(es) is too small, the minimum is {min}",
            cidr.size()
        ),
    )
}

/// No node address inside clusterCIDR or serviceCIDR, given or simctl's default.
fn node_addresses(c: &Cluster, cluster: &Path, pods: &Cidr, services: &Cidr, errs: &mut ErrorList) {
    let inside = |ip: Ipv4Addr| {
        if pods.contains(ip) {
            Some(("clusterCIDR", pods))
        } else if services.contains(ip) {
            Some(("serviceCIDR", services))
        } else {
            None
        }
    };
    let nodes = c.nodes.as_deref().unwrap_or_default();
    for (i, n) in nodes.iter().enumerate() {
        let p = cluster.child("nodes").index(i);
        let given = n.ip.iter().map(|ip| (p.child("ip"), ip)).chain(
            n.extra_ips
                .iter()
                .enumerate()
                .map(|(j, ip)| (p.child("extraIPs").index(j), ip)),
        );
        for (path, ip) in given {
            let Ok(addr) = ip.parse::<Ipv4Addr>() else {
                continue;
            };
            if let Some((name, range)) = inside(addr) {
                errs.push(FieldError::invalid(
                    &path,
                    ip.as_str(),
                    format!(
                        "is inside {name} {range}: a node's address must be outside the pods' and the Services' ranges"
                    ),
                ));
            }
        }
    }
    // Nodes without an address get 172.18.0.(2+i): that range must be free too.
    let defaulted = nodes.is_empty() || nodes.iter().any(|n| n.ip.is_none());
    if let Some(range) = Cidr::parse(DEFAULT_NODE_RANGE)
        && defaulted
    {
        for (field, value, cidr) in [
            ("clusterCIDR", &c.cluster_cidr, pods),
            ("serviceCIDR", &c.service_cidr, services),
        ] {
            if let Some(v) = value
                && overlap(&range, cidr)
            {
                errs.push(FieldError::invalid(
                    &cluster.child(field),
                    v.as_str(),
                    format!(
                        "overlaps {DEFAULT_NODE_RANGE}, where simctl puts nodes that have no `ip`: give every node an address outside {field} (spec.cluster.nodes[].ip)"
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(yaml: &str) -> Vec<String> {
        let c: Cluster = serde_json::from_str(yaml).expect("cluster");
        let mut errs = ErrorList::new();
        validate(&c, &Path::new("spec").child("cluster"), &mut errs);
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_are_apart() {
        assert!(errors("{}").is_empty());
        assert!(
            errors(r#"{"clusterCIDR": "10.100.0.0/16", "serviceCIDR": "10.0.0.0/16"}"#).is_empty()
        );
    }

    #[test]
    fn sizes_as_kube_apiserver_and_kubeadm_check_them() {
        assert_eq!(
            errors(r#"{"serviceCIDR": "11.0.0.0/8"}"#),
            [
                "spec.cluster.serviceCIDR: Invalid value: \"11.0.0.0/8\": specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12"
            ]
        );
        assert_eq!(
            errors(r#"{"serviceCIDR": "10.96.0.0/29"}"#),
            [
                "spec.cluster.serviceCIDR: Invalid value: \"10.96.0.0/29\": subnet with 8 address(es) is too small, the minimum is 10"
            ]
        );
        assert_eq!(
            errors(r#"{"clusterCIDR": "10.244.0.0/29"}"#),
            [
                "spec.cluster.clusterCIDR: Invalid value: \"10.244.0.0/29\": subnet with 8 address(es) is too small, the minimum is 14"
            ]
        );
        assert_eq!(
            errors(r#"{"clusterCIDR": "4.0.0.0/6", "serviceCIDR": "10.96.0.0/12"}"#),
            [
                "spec.cluster.clusterCIDR: Invalid value: \"4.0.0.0/6\": pod subnet mask (6) and node-mask (24) difference is greater than 16"
            ]
        );
    }

    #[test]
    fn overlaps_and_node_addresses_are_errors() {
        let e = errors(r#"{"clusterCIDR": "10.96.0.0/16"}"#);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("spec.cluster.clusterCIDR: Invalid value: \"10.96.0.0/16\": overlaps serviceCIDR 10.96.0.0/12"), "{e:?}");
        let e = errors(r#"{"serviceCIDR": "10.244.128.0/20"}"#);
        assert!(e[0].starts_with("spec.cluster.serviceCIDR: Invalid value: \"10.244.128.0/20\": overlaps clusterCIDR 10.244.0.0/16"), "{e:?}");
        let e = errors(
            r#"{"nodes": [{"name": "a", "ip": "10.96.0.1", "extraIPs": ["10.244.3.3", "192.168.1.1"]}]}"#,
        );
        assert_eq!(
            e,
            [
                "spec.cluster.nodes[0].ip: Invalid value: \"10.96.0.1\": is inside serviceCIDR 10.96.0.0/12: a node's address must be outside the pods' and the Services' ranges",
                "spec.cluster.nodes[0].extraIPs[0]: Invalid value: \"10.244.3.3\": is inside clusterCIDR 10.244.0.0/16: a node's address must be outside the pods' and the Services' ranges",
            ]
        );
        let e = errors(r#"{"clusterCIDR": "172.16.0.0/12"}"#);
        assert!(
            e[0].contains("overlaps 172.18.0.0/16, where simctl puts nodes"),
            "{e:?}"
        );
        assert!(
            errors(
                r#"{"clusterCIDR": "172.16.0.0/12", "nodes": [{"name": "a", "ip": "192.168.0.2"}]}"#
            )
            .is_empty()
        );
    }

    #[test]
    fn ipv6_is_named_as_unsupported() {
        let e = errors(r#"{"clusterCIDR": "fd00::/48"}"#);
        assert_eq!(
            e,
            [
                "spec.cluster.clusterCIDR: Invalid value: \"fd00::/48\": must be an IPv4 CIDR: simctl simulates IPv4 single-stack clusters"
            ]
        );
    }
}
