//! Validation, as the API server does it: the same rules, messages and field paths.
//!
//! Read off `pkg/apis/core/validation/validation.go` and
//! `pkg/apis/networking/validation/validation.go` in kubernetes/kubernetes (and
//! apimachinery's `pkg/util/validation`). Each validator takes a defaulted object and
//! returns an [`ErrorList`] whose entries print exactly as kubectl prints them.

pub mod endpoints;
pub mod field;
pub mod meta;
pub mod names;
pub mod networkpolicy;
pub mod pod;
pub mod service;
pub mod update;
pub mod warnings;
pub mod workloads;

pub use field::{BadValue, ErrorList, ErrorType, FieldError, Path};

use crate::objects::Object;

/// Cluster settings that validation depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// `--service-node-port-range` of the API server (default 30000-32767).
    pub node_port_range: (u16, u16),
}

impl Default for Options {
    fn default() -> Self {
        Options {
            node_port_range: (30000, 32767),
        }
    }
}

/// Validate one defaulted object. The errors are in the API server's order.
pub fn validate(object: &Object, opts: &Options) -> ErrorList {
    match object {
        Object::Service(s) => service::validate_service(s, opts),
        Object::Pod(p) => pod::validate_pod(p, opts),
        Object::Deployment(d) => workloads::validate_deployment(d, opts),
        Object::ReplicaSet(r) => workloads::validate_replica_set(r, opts),
        Object::StatefulSet(s) => workloads::validate_stateful_set(s, opts),
        Object::DaemonSet(d) => workloads::validate_daemon_set(d, opts),
        Object::ReplicationController(r) => workloads::validate_replication_controller(r, opts),
        Object::NetworkPolicy(n) => networkpolicy::validate_network_policy(n, opts),
        Object::EndpointSlice(e) => endpoints::validate_endpoint_slice(e, opts),
        Object::Endpoints(e) => endpoints::validate_endpoints(e, opts),
        Object::Namespace(n) => meta::validate_namespace(n),
        Object::Node(n) => meta::validate_node(n),
    }
}
