//! A hop as JSON (SCENARIO.md section 5, docs/scenario-format.md "Hops"): where, when,
//! the action, the packet and its rewrite, the rendered `detail` and `rules`, and the
//! YAML that caused it.

use serde_json::{Value, json};

use crate::net::{FiveTuple, Protocol, SockAddr};
use crate::trace::{Flow, Hop, Place, Step};

use super::{View, place_name};

/// `hop` of `flow` as JSON; `at` is the `file:line` of its cause, when it has one.
pub fn hop(v: &View, flow: &Flow, h: &Hop, at: Option<String>) -> Value {
    let c = v.cluster;
    let node = match h.place {
        Place::Node(n) => c.nodes.get(n).map(|n| n.name.clone()),
        Place::Pod(p) => c
            .pods
            .get(p)
            .and_then(|p| c.nodes.get(p.node))
            .map(|n| n.name.clone()),
        _ => None,
    };
    let mut m = serde_json::Map::new();
    m.insert("node".into(), node.map_or(Value::Null, Value::from));
    m.insert("place".into(), place_name(c, h.place).into());
    m.insert("at".into(), h.at_ns.into());
    m.insert("action".into(), h.action().as_str().into());
    if let Some(nat) = &h.nat {
        m.insert(
            "nat".into(),
            json!({"kind": super::words::nat_label(nat.kind), "before": tuple(&nat.before), "after": tuple(&nat.after)}),
        );
    }
    let packet = h.packet.unwrap_or_else(|| unspecified(&h.step));
    m.insert("packet".into(), tuple(&packet));
    m.insert("detail".into(), v.detail(flow, h).into());
    let rules = v.rules(h);
    if !rules.is_empty() {
        m.insert(
            "rules".into(),
            rules
                .iter()
                .map(|r| json!({"table": r.table, "chain": r.chain, "rule": r.rule}))
                .collect::<Vec<_>>()
                .into(),
        );
    }
    if let Some(cause) = h.cause(c)
        && let Some(at) = at
    {
        m.insert("source".into(), json!({"field": cause.field, "at": at}));
    }
    Value::Object(m)
}

fn unspecified(step: &Step) -> FiveTuple {
    let zero = SockAddr {
        ip: std::net::Ipv4Addr::UNSPECIFIED,
        port: 0,
    };
    FiveTuple {
        protocol: match step {
            Step::Lookup => Protocol::Udp,
            _ => Protocol::Tcp,
        },
        src: zero,
        dst: zero,
    }
}

/// A 5-tuple: `{"protocol", "src", "dst"}`.
pub fn tuple(t: &FiveTuple) -> Value {
    json!({"protocol": t.protocol.as_str(), "src": t.src.to_string(), "dst": t.dst.to_string()})
}
