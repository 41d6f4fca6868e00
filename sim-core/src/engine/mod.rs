//! The discrete-event engine: virtual time, one seeded RNG, and packets walked hop by hop.
//!
//! A run is a pure function of (loaded input, options). Scenario events and requests are
//! events in one queue ordered by (virtual time, kind, sequence), so ties break the same
//! way every run. Each request walks its packet over the topology ([`topology`]): through
//! kube-proxy on the nodes ([`crate::proxy`]), NetworkPolicy at the pods
//! ([`crate::policy`]), conntrack ([`conntrack`]) and the links (latency, loss), to a
//! socket or a verdict; every step is a [`Hop`]. A packet's walk happens at its request's
//! time: the cluster does not change while a packet is in flight (a few hundred
//! microseconds of virtual time), only between requests.

pub mod conntrack;
pub mod expect;
pub mod report;
pub mod topology;
pub mod traffic;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::Ipv4Addr;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::cluster::dns::{Asker, QueryType, Rcode};
use crate::cluster::{self, Bind, Cluster, ListenSource, NodeId, PodId, ProxyMode};
use crate::diag::Diagnostic;
use crate::manifest::Loaded;
use crate::net::{FiveTuple, Protocol, SockAddr};
use crate::policy::{self, Direction, Peer};
use crate::proxy::{ProxyAction, ProxyInput, ProxyState};
use crate::scenario::EventAction;
use crate::trace::{Action, Backend, Flow, Hop, Nat, NatKind, Outcome, Place, Reason, RuleStep};

use conntrack::Conntrack;
use topology::Topology;
use traffic::{Sender, Target, TrafficPlan};

/// Options of one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunOptions {
    /// `--seed`, over the Scenario's.
    pub seed: Option<u64>,
    /// `--proxy-mode`, over the Scenario's.
    pub proxy_mode: Option<ProxyMode>,
    /// How much of each flow's path to keep.
    pub trace: TraceLevel,
}

/// How much of the flows' paths a run keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TraceLevel {
    /// Every hop of every flow.
    #[default]
    Full,
    /// Every hop of the first flow of each traffic entry that ends a given way (outcome,
    /// reason); the others keep their outcome, reason and backend only. Memory then grows
    /// with the number of distinct stories, not of requests: a million flows fit.
    Summary,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The cluster as it stands at the end of the run.
    pub cluster: Cluster,
    pub traffic: Vec<TrafficPlan>,
    pub flows: Vec<Flow>,
    /// Control-plane and run-time diagnostics (allocation conflicts, rejected `apply`
    /// events, traffic naming nothing).
    pub diagnostics: Vec<Diagnostic>,
    pub seed: u64,
    /// The virtual time the run ended at.
    pub end_ns: u64,
}

/// The hop limit: no packet crosses more places than this (a routing loop ends here).
pub const MAX_HOPS: usize = 64;

/// Linux's default `ip_local_port_range`.
const EPHEMERAL_PORTS: std::ops::RangeInclusive<u16> = 32768..=60999;

/// Build the cluster and run every traffic entry and event of the scenario (without
/// traffic in the Scenario, the reachability matrix).
pub fn run(loaded: &Loaded, opts: &RunOptions) -> RunResult {
    run_on(loaded, cluster::build(loaded, &build_options(opts)), opts)
}

/// [`run`] on a cluster already built from `loaded` with `opts`' seed and mode (by
/// [`crate::admit::admit`], which `simctl run` asks first), so it is built once.
pub fn run_on(loaded: &Loaded, cluster: Cluster, opts: &RunOptions) -> RunResult {
    let events: Vec<(u64, EventAction)> = loaded
        .scenario
        .iter()
        .flat_map(|s| s.doc.spec.events.iter())
        .filter_map(|e| Some((crate::scenario::parse_duration_ns(&e.at).ok()?, e.action()?)))
        .collect();
    let traffic = loaded
        .scenario
        .as_ref()
        .map(|s| &s.doc.spec.traffic)
        .filter(|t| !t.is_empty());
    simulate(
        cluster,
        opts,
        |cluster| match traffic {
            Some(t) => t.iter().map(TrafficPlan::from_spec).collect(),
            None => reachability_matrix(cluster),
        },
        &events,
    )
}

/// Build the cluster and run the traffic `plans` computes from it, instead of the
/// Scenario's traffic; the Scenario's events are not applied (the cluster stays as built).
/// `simctl reach` sends its probes this way.
pub fn run_plans(
    loaded: &Loaded,
    opts: &RunOptions,
    plans: impl FnOnce(&Cluster) -> Vec<TrafficPlan>,
) -> RunResult {
    simulate(
        cluster::build(loaded, &build_options(opts)),
        opts,
        plans,
        &[],
    )
}

/// The control plane's options for a run's.
pub fn build_options(opts: &RunOptions) -> cluster::build::BuildOptions {
    cluster::build::BuildOptions {
        seed: opts.seed,
        proxy_mode: opts.proxy_mode,
    }
}

fn simulate(
    cluster: Cluster,
    opts: &RunOptions,
    plans: impl FnOnce(&Cluster) -> Vec<TrafficPlan>,
    events: &[(u64, EventAction)],
) -> RunResult {
    let seed = cluster.config.seed;
    let plans = plans(&cluster);
    let mut engine = Engine::new(cluster, seed);
    engine.trace = opts.trace;
    engine.run(&plans, events);
    let Engine {
        cluster,
        flows,
        diagnostics,
        now_ns,
        ..
    } = engine;
    let mut all = cluster.diagnostics.clone();
    all.extend(diagnostics);
    RunResult {
        cluster,
        traffic: plans,
        flows,
        diagnostics: all,
        seed,
        end_ns: now_ns,
    }
}

/// Without traffic in the Scenario: every Service port from inside the cluster (a pod
/// address on the first node) and every NodePort and LoadBalancer entrance from the
/// default client.
pub fn reachability_matrix(cluster: &Cluster) -> Vec<TrafficPlan> {
    let mut plans = Vec::new();
    let client = cluster.clients.first().map(|c| c.name.clone());
    // An unused pod address on the first node stands for "a pod inside the cluster".
    let probe = cluster.nodes.first().and_then(|n| {
        n.pod_cidr
            .nth(n.pod_cidr.size().saturating_sub(2))
            .map(|ip| (ip, n.name.clone()))
    });
    let plan =
        |name: String, from: crate::scenario::From, host: String, port: u16, protocol: Protocol| {
            TrafficPlan {
                name,
                from,
                to: Target::Connect { host, port },
                protocol,
                requests: 1,
                interval_ns: 1_000_000,
                start_ns: 0,
                source_port: None,
                generated: true,
            }
        };
    // simctl's own Services (kube-dns, kubernetes) are not the user's: leave them out.
    for svc in cluster
        .services
        .iter()
        .filter(|s| s.alive && s.origin != crate::cluster::Origin::Default)
    {
        for p in &svc.ports {
            let id = format!("{}/{}:{}", svc.namespace, svc.name, p.port);
            if let (Some(ip), Some((probe_ip, node))) = (svc.cluster_ip, &probe) {
                plans.push(plan(
                    format!("pod -> {id} (ClusterIP)"),
                    crate::scenario::From::Address {
                        ip: probe_ip.to_string(),
                        node: node.clone(),
                    },
                    ip.to_string(),
                    p.port,
                    p.protocol,
                ));
            }
            let Some(client) = &client else { continue };
            if let Some(np) = p.node_port {
                for n in &cluster.nodes {
                    plans.push(plan(
                        format!("{client} -> {id} (NodePort {}:{np})", n.name),
                        crate::scenario::From::Name(client.clone()),
                        n.ip.to_string(),
                        np,
                        p.protocol,
                    ));
                }
            }
            for lb in &svc.lb_ips {
                plans.push(plan(
                    format!("{client} -> {id} (LoadBalancer {lb})"),
                    crate::scenario::From::Name(client.clone()),
                    lb.to_string(),
                    p.port,
                    p.protocol,
                ));
            }
        }
    }
    plans
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum QueueItem {
    /// Scenario events first at a given instant, so a request at the same time sees them.
    Event(usize),
    Request {
        plan: usize,
        index: u32,
    },
}

struct Engine {
    cluster: Cluster,
    proxy: ProxyState,
    topology: Topology,
    conntrack: Conntrack,
    rng: ChaCha8Rng,
    flows: Vec<Flow>,
    diagnostics: Vec<Diagnostic>,
    now_ns: u64,
    trace: TraceLevel,
    /// (traffic, outcome, reason) whose full story is already kept (summary traces).
    stories: std::collections::BTreeSet<(usize, Outcome, Option<Reason>)>,
}

/// How a packet arrives at a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Arrival {
    /// From the wire (another node, a client, a load balancer).
    Wire,
    /// From one of the node's pods (or a raw pod address on it).
    LocalPod(Option<PodId>),
    /// From the node itself (a host process).
    Host,
}

/// A packet in flight, during one walk.
struct Walk {
    tuple: FiveTuple,
    original: FiveTuple,
    t_ns: u64,
    hops: Vec<Hop>,
    masqueraded: bool,
    /// Places the packet passed, for the reply's way back.
    path: Vec<Place>,
    sender_pod: Option<PodId>,
    /// The sender as people name it.
    sender_name: String,
    /// Nodes that translated the packet (conntrack entries to un-NAT the reply).
    nat_nodes: Vec<(NodeId, FiveTuple, FiveTuple)>,
}

/// How a walk ended.
struct End {
    outcome: Outcome,
    reason: Option<Reason>,
    backend: Option<Backend>,
    source_seen: Option<Ipv4Addr>,
}

impl End {
    /// A failure with no backend reached.
    fn failed(outcome: Outcome, reason: Reason) -> End {
        End {
            outcome,
            reason: Some(reason),
            backend: None,
            source_seen: None,
        }
    }
}

impl Walk {
    /// Record a step that does not change the packet.
    fn note(&mut self, place: Place, action: Action, detail: String) {
        self.hops.push(Hop {
            at_ns: self.t_ns,
            place,
            action,
            tuple: self.tuple,
            nat: None,
            rules: Vec::new(),
            detail,
            cause: None,
        });
    }
}

impl Engine {
    fn new(cluster: Cluster, seed: u64) -> Engine {
        let proxy = ProxyState::new(&cluster);
        let topology = Topology::new(&cluster);
        Engine {
            cluster,
            proxy,
            topology,
            conntrack: Conntrack::default(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            flows: Vec::new(),
            diagnostics: Vec::new(),
            now_ns: 0,
            trace: TraceLevel::Full,
            stories: std::collections::BTreeSet::new(),
        }
    }

    fn run(&mut self, plans: &[TrafficPlan], events: &[(u64, EventAction)]) {
        let mut queue: BinaryHeap<Reverse<(u64, QueueItem)>> = BinaryHeap::new();
        for (i, (at, _)) in events.iter().enumerate() {
            queue.push(Reverse((*at, QueueItem::Event(i))));
        }
        for (p, plan) in plans.iter().enumerate() {
            if plan.requests > 0 {
                queue.push(Reverse((
                    plan.start_ns,
                    QueueItem::Request { plan: p, index: 0 },
                )));
            }
        }
        while let Some(Reverse((at, item))) = queue.pop() {
            self.now_ns = at;
            // A terminating pod whose grace period ended is gone: its endpoints leave
            // the EndpointSlice, and kube-proxy resyncs (a stale rule would DNAT to
            // an address nobody has).
            if self.cluster.advance(at) {
                self.proxy.sync(&self.cluster);
                self.topology = Topology::new(&self.cluster);
            }
            match item {
                QueueItem::Event(i) => {
                    if let Some((_, action)) = events.get(i) {
                        self.apply_event(i, action);
                        self.proxy.sync(&self.cluster);
                        self.topology = Topology::new(&self.cluster);
                    }
                }
                QueueItem::Request { plan, index } => {
                    let Some(p) = plans.get(plan) else { continue };
                    let mut flow = self.request(plan, p, index);
                    if self.trace == TraceLevel::Summary
                        && !self.stories.insert((plan, flow.outcome, flow.reason))
                    {
                        flow.hops = Vec::new();
                        flow.dns = None;
                    }
                    self.flows.push(flow);
                    if index + 1 < p.requests {
                        let next = at.saturating_add(p.interval_ns);
                        queue.push(Reverse((
                            next,
                            QueueItem::Request {
                                plan,
                                index: index + 1,
                            },
                        )));
                    }
                }
            }
        }
    }

    fn apply_event(&mut self, i: usize, action: &EventAction) {
        let now = self.now_ns;
        let result = match action {
            EventAction::DeletePod(pod) => {
                let (ns, name) = split_ns(pod);
                self.cluster.delete_pod(ns, name, now)
            }
            EventAction::SetReady(s) => {
                let (ns, name) = split_ns(&s.pod);
                self.cluster.set_ready(ns, name, s.ready, now)
            }
            EventAction::NodeDown(n) => self.cluster.node_down(n, now),
            EventAction::NodeUp(n) => self.cluster.node_up(n, now),
            EventAction::Scale(s) => self.cluster.scale(
                s.namespace.as_deref().unwrap_or("default"),
                &s.deployment,
                s.replicas,
                now,
            ),
            EventAction::Apply(text) => {
                let diags = self.cluster.apply(text, i, now);
                self.diagnostics.extend(diags);
                Ok(())
            }
            EventAction::Delete(d) => self.cluster.delete(
                &d.kind,
                d.namespace.as_deref().unwrap_or("default"),
                &d.name,
                now,
            ),
        };
        if let Err(why) = result {
            self.diagnostics.push(
                Diagnostic::warning(
                    "EventFailed",
                    format!("event spec.events[{i}] at {}: {why}", fmt_ns(now)),
                )
                .field(format!("spec.events[{i}]")),
            );
        }
    }

    /// One request of a traffic entry: resolve, then walk the packet.
    fn request(&mut self, plan_index: usize, plan: &TrafficPlan, index: u32) -> Flow {
        let start = self.now_ns;
        let mut flow = Flow {
            traffic: plan_index,
            index,
            tuple: FiveTuple {
                protocol: plan.protocol,
                src: SockAddr {
                    ip: Ipv4Addr::UNSPECIFIED,
                    port: 0,
                },
                dst: SockAddr {
                    ip: Ipv4Addr::UNSPECIFIED,
                    port: 0,
                },
            },
            outcome: Outcome::Timeout,
            reason: None,
            backend: None,
            source_seen: None,
            masqueraded: false,
            hops: Vec::new(),
            dns: None,
            started_ns: start,
            ended_ns: start,
            lookup_hops: 0,
        };
        let sender = match traffic::resolve_sender(&self.cluster, &plan.from) {
            Ok(s) => s,
            Err(why) => {
                flow.outcome = Outcome::Unreachable;
                flow.reason = Some(Reason::NoRoute);
                flow.hops.push(self.note_hop(
                    Place::Internet,
                    Action::Drop,
                    format!("cannot send: {why}"),
                ));
                return flow;
            }
        };
        let (src_ip, first_place) = self.sender_address(sender);
        let src_port = plan
            .source_port
            .unwrap_or_else(|| self.rng.random_range(EPHEMERAL_PORTS));
        match &plan.to {
            Target::Resolve { name, srv } => {
                let qtype = if *srv { QueryType::Srv } else { QueryType::A };
                flow.tuple.src = SockAddr {
                    ip: src_ip,
                    port: src_port,
                };
                match self.name_lookup(sender, name, qtype, start, &mut flow.hops) {
                    Ok((result, _)) => {
                        flow.outcome = if result.rcode == Rcode::NoError {
                            Outcome::Delivered
                        } else {
                            Outcome::Nxdomain
                        };
                        flow.reason = (result.rcode == Rcode::NxDomain).then_some(Reason::NxDomain);
                        flow.dns = Some(result);
                    }
                    Err(end) => {
                        flow.outcome = end.outcome;
                        flow.reason = end.reason;
                    }
                }
                flow.ended_ns = flow.hops.last().map_or(start, |h| h.at_ns);
                return flow;
            }
            Target::Connect { host, port } => {
                let mut t_connect = start;
                let dst_ip = match host.parse::<Ipv4Addr>() {
                    Ok(ip) => Some(ip),
                    Err(_) => {
                        match self.name_lookup(sender, host, QueryType::A, start, &mut flow.hops) {
                            Ok((result, answered_ns)) => {
                                t_connect = answered_ns;
                                flow.lookup_hops = flow.hops.len();
                                let ip = result.addresses.first().copied();
                                flow.dns = Some(result);
                                ip
                            }
                            Err(end) => {
                                flow.outcome = end.outcome;
                                flow.reason = end.reason;
                                flow.ended_ns = flow.hops.last().map_or(start, |h| h.at_ns);
                                return flow;
                            }
                        }
                    }
                };
                let Some(dst_ip) = dst_ip else {
                    // The lookup is the whole story.
                    flow.lookup_hops = 0;
                    flow.outcome = Outcome::Nxdomain;
                    flow.reason = Some(Reason::NxDomain);
                    flow.ended_ns = flow.hops.last().map_or(start, |h| h.at_ns);
                    return flow;
                };
                flow.tuple = FiveTuple {
                    protocol: plan.protocol,
                    src: SockAddr {
                        ip: src_ip,
                        port: src_port,
                    },
                    dst: SockAddr {
                        ip: dst_ip,
                        port: *port,
                    },
                };
                let end = self.walk(
                    sender,
                    first_place,
                    flow.tuple,
                    t_connect,
                    &mut flow.hops,
                    &mut flow.masqueraded,
                );
                flow.outcome = end.outcome;
                flow.reason = end.reason;
                flow.backend = end.backend;
                flow.source_seen = end.source_seen;
            }
        }
        flow.ended_ns = flow.hops.last().map_or(start, |h| h.at_ns);
        flow
    }

    /// Look a name up as `sender` would. A pod asking for a DNS name sends a real query:
    /// a UDP packet to its nameserver (the `kube-system/kube-dns` ClusterIP) that crosses
    /// kube-proxy, NetworkPolicy and the CoreDNS pods' sockets like any other packet, so
    /// a default-deny egress policy that forgets port 53 breaks name resolution. Node
    /// names and `pod/...` references need no query. Returns the answer and when it
    /// arrives, or how the query failed.
    fn name_lookup(
        &mut self,
        sender: Sender,
        name: &str,
        qtype: QueryType,
        t0: u64,
        hops: &mut Vec<Hop>,
    ) -> Result<(crate::cluster::dns::DnsResult, u64), End> {
        let pod = match sender {
            Sender::Pod(p) => Some(p),
            _ => None,
        };
        let dns_service = self.cluster.service_by_name("kube-system", "kube-dns");
        let nameserver = dns_service.and_then(|s| self.cluster.services[s].cluster_ip);
        let needs_query = self.cluster.node_by_name(name).is_none() && !name.starts_with("pod/");
        let (Some(p), Some(ns_ip), true) = (pod, nameserver, needs_query) else {
            let result = match qtype {
                QueryType::A => self.lookup(name, sender),
                QueryType::Srv => self.cluster.resolve(name, Asker::Outside, qtype),
            };
            let (_, place) = self.sender_address(sender);
            hops.push(Hop {
                at_ns: t0,
                place,
                action: Action::Resolve,
                tuple: FiveTuple {
                    protocol: Protocol::Udp,
                    src: SockAddr {
                        ip: Ipv4Addr::UNSPECIFIED,
                        port: 0,
                    },
                    dst: SockAddr {
                        ip: Ipv4Addr::UNSPECIFIED,
                        port: 0,
                    },
                },
                nat: None,
                rules: Vec::new(),
                detail: dns_detail(&result),
                cause: None,
            });
            return Ok((result, t0));
        };
        let query = FiveTuple {
            protocol: Protocol::Udp,
            src: SockAddr {
                ip: self.cluster.pods[p].ip,
                port: self.rng.random_range(EPHEMERAL_PORTS),
            },
            dst: SockAddr {
                ip: ns_ip,
                port: 53,
            },
        };
        let mut masq = false;
        let mut query_hops = Vec::new();
        let end = self.walk(sender, Place::Pod(p), query, t0, &mut query_hops, &mut masq);
        if let Some(first) = query_hops.first_mut() {
            first.detail = format!(
                "{} asks kube-dns {} for {name}",
                self.place_name(Place::Pod(p)),
                query.dst
            );
        }
        let sent_until = query_hops.last().map_or(t0, |h| h.at_ns);
        hops.extend(query_hops);
        if end.outcome != Outcome::Delivered {
            hops.push(Hop {
                at_ns: sent_until,
                place: Place::Pod(p),
                action: Action::Resolve,
                tuple: query,
                nat: None,
                rules: Vec::new(),
                detail: format!(
                    "the DNS query for {name} got no answer ({}{}): the name cannot be resolved, so no connection is attempted",
                    end.outcome,
                    end.reason.map(|r| format!(", {r}")).unwrap_or_default()
                ),
                cause: None,
            });
            return Err(End {
                backend: None,
                source_seen: None,
                ..end
            });
        }
        let result = self.cluster.resolve(name, Asker::Pod(p), qtype);
        // The answer travels back over the same links, in the same time.
        let answered = sent_until.saturating_add(sent_until.saturating_sub(t0));
        hops.push(Hop {
            at_ns: answered,
            place: Place::Pod(p),
            action: Action::Resolve,
            tuple: query.reversed(),
            nat: None,
            rules: Vec::new(),
            detail: format!("kube-dns answers: {}", dns_detail(&result)),
            cause: None,
        });
        Ok((result, answered))
    }

    /// Resolve a host name as `sender` would: pods through the cluster DNS, others by
    /// node names and clients' dnsNames.
    fn lookup(&self, host: &str, sender: Sender) -> crate::cluster::dns::DnsResult {
        let asker = match sender {
            Sender::Pod(p) => Asker::Pod(p),
            _ => Asker::Outside,
        };
        let mut result = self.cluster.resolve(host, asker, QueryType::A);
        if result.addresses.is_empty() {
            if let Some(n) = self.cluster.node_by_name(host) {
                result.addresses.push(self.cluster.nodes[n].ip);
                result.rcode = Rcode::NoError;
            } else if let Some(rest) = host.strip_prefix("pod/")
                && let Some(p) = traffic::find_pod(&self.cluster, rest)
            {
                result.addresses.push(self.cluster.pods[p].ip);
                result.rcode = Rcode::NoError;
            }
        }
        result
    }

    /// The sender's source address and the place its packet starts from.
    fn sender_address(&self, sender: Sender) -> (Ipv4Addr, Place) {
        match sender {
            Sender::Client(c) => (self.cluster.clients[c].ip, Place::Client(c)),
            Sender::Node(n) => (self.cluster.nodes[n].ip, Place::Node(n)),
            Sender::Pod(p) => (self.cluster.pods[p].ip, Place::Pod(p)),
            Sender::Raw { ip, node } => (ip, Place::Node(node)),
        }
    }

    fn note_hop(&self, place: Place, action: Action, detail: String) -> Hop {
        let zero = SockAddr {
            ip: Ipv4Addr::UNSPECIFIED,
            port: 0,
        };
        Hop {
            at_ns: self.now_ns,
            place,
            action,
            tuple: FiveTuple {
                protocol: Protocol::Tcp,
                src: zero,
                dst: zero,
            },
            nat: None,
            rules: Vec::new(),
            detail,
            cause: None,
        }
    }

    /// Walk one packet from `first` until it is delivered, refused or lost.
    fn walk(
        &mut self,
        sender: Sender,
        first: Place,
        tuple: FiveTuple,
        t0: u64,
        hops: &mut Vec<Hop>,
        masqueraded: &mut bool,
    ) -> End {
        let mut w = Walk {
            tuple,
            original: tuple,
            t_ns: t0,
            hops: Vec::new(),
            masqueraded: false,
            path: Vec::new(),
            sender_pod: match sender {
                Sender::Pod(p) => Some(p),
                Sender::Raw { ip, .. } => self.cluster.pod_by_ip(ip),
                _ => None,
            },
            nat_nodes: Vec::new(),
            sender_name: String::new(),
        };
        let sender_name = match sender {
            Sender::Raw { ip, node } => {
                let node_name = &self.cluster.nodes[node].name;
                match self.raw_arrival(ip, node) {
                    Arrival::Host => format!("{node_name} (as {ip})"),
                    Arrival::LocalPod(_) => format!("a pod at {ip} on {node_name}"),
                    Arrival::Wire => format!("{ip} (arriving at {node_name})"),
                }
            }
            _ => self.place_name(first),
        };
        let sent = format!("{sender_name} sends {}", describe(&tuple));
        w.sender_name.clone_from(&sender_name);
        w.hops.push(Hop {
            at_ns: t0,
            place: first,
            action: Action::Send,
            tuple,
            nat: None,
            rules: Vec::new(),
            detail: sent,
            cause: None,
        });
        let mut place = first;
        let mut arrival = match sender {
            Sender::Node(_) => Arrival::Host,
            Sender::Raw { ip, node } => self.raw_arrival(ip, node),
            _ => Arrival::Wire,
        };
        let mut end = None;
        for _ in 0..MAX_HOPS {
            w.path.push(place);
            let next = match place {
                Place::Client(c) if w.path.len() > 1 => Err(self.deliver_to_client(c, &mut w)),
                Place::Client(_) => Ok((Place::Internet, Arrival::Wire)),
                Place::Pod(p) if w.path.len() == 1 => {
                    // Leaving the sending pod: to its node, over its veth.
                    Ok((
                        Place::Node(self.cluster.pods[p].node),
                        Arrival::LocalPod(Some(p)),
                    ))
                }
                Place::Internet => self.internet(&mut w),
                Place::LoadBalancer => self.load_balancer(&mut w),
                Place::Node(n) => self.node(n, arrival, &mut w),
                Place::Pod(p) => Err(self.at_pod(p, &mut w)),
                Place::External => Err(End {
                    outcome: Outcome::Delivered,
                    reason: None,
                    backend: Some(Backend::External {
                        ip: w.tuple.dst.ip,
                        port: w.tuple.dst.port,
                    }),
                    source_seen: Some(w.tuple.src.ip),
                }),
            };
            match next {
                Ok((to, how)) => {
                    if let Some(lost) = self.cross_link(place, to, &mut w) {
                        end = Some(lost);
                        break;
                    }
                    place = to;
                    arrival = how;
                }
                Err(e) => {
                    end = Some(e);
                    break;
                }
            }
        }
        let end = end.unwrap_or_else(|| {
            w.hops.push(Hop {
                at_ns: w.t_ns,
                place,
                action: Action::Drop,
                tuple: w.tuple,
                nat: None,
                rules: Vec::new(),
                detail: format!("hop limit of {MAX_HOPS} reached: the packet is going in circles"),
                cause: None,
            });
            End::failed(Outcome::Timeout, Reason::HopLimit)
        });
        if matches!(end.outcome, Outcome::Delivered | Outcome::Refused) {
            self.reply(&mut w, &end);
        }
        for (node, original, _) in &w.nat_nodes {
            if let Some(ep) = self.conntrack.endpoint_of(*node, original) {
                self.proxy.connection_closed(*node, ep);
            }
        }
        *masqueraded = w.masqueraded;
        hops.extend(w.hops);
        end
    }

    /// How a raw `{ip, node}` packet enters its node (SCENARIO.md section 2).
    fn raw_arrival(&self, ip: Ipv4Addr, node: NodeId) -> Arrival {
        let n = &self.cluster.nodes[node];
        if ip.is_loopback() || n.addresses().any(|a| a == ip) {
            Arrival::Host
        } else if self.cluster.config.cluster_cidr.contains(ip) {
            Arrival::LocalPod(self.cluster.pod_by_ip(ip))
        } else {
            Arrival::Wire
        }
    }

    /// Latency and loss of the link between two places.
    fn cross_link(&mut self, from: Place, to: Place, w: &mut Walk) -> Option<End> {
        w.t_ns = w
            .t_ns
            .saturating_add(self.topology.latency_ns(from, to, &self.cluster));
        let loss = self.cluster.config.loss;
        if loss > 0.0 && self.rng.random::<f64>() < loss {
            w.note(
                to,
                Action::Lost,
                format!(
                    "the link {} -> {} lost the packet",
                    self.place_name(from),
                    self.place_name(to)
                ),
            );
            return Some(End::failed(Outcome::Timeout, Reason::PacketLost));
        }
        None
    }

    /// The outside network: clients, load-balancer addresses and node addresses.
    fn internet(&mut self, w: &mut Walk) -> Result<(Place, Arrival), End> {
        let dst = w.tuple.dst.ip;
        if let Some(c) = self.cluster.client_by_ip(dst) {
            return Ok((Place::Client(c), Arrival::Wire));
        }
        if let Some(n) = self.cluster.node_by_ip(dst) {
            return Ok((Place::Node(n), Arrival::Wire));
        }
        // externalIPs are routed to the cluster by the network's admin; simctl's network
        // sends them to the first node that is up (kube-proxy there takes them).
        if self
            .cluster
            .services
            .iter()
            .any(|s| s.alive && s.external_ips.contains(&dst))
            && let Some(n) = self.cluster.nodes.iter().position(|n| n.up)
        {
            return Ok((Place::Node(n), Arrival::Wire));
        }
        if self
            .cluster
            .services
            .iter()
            .any(|s| s.alive && s.lb_ips.contains(&dst))
        {
            return Ok((Place::LoadBalancer, Arrival::Wire));
        }
        if self.is_given_external(dst) {
            return Ok((Place::External, Arrival::Wire));
        }
        let reason = Reason::NoRoute;
        w.note(Place::Internet, Action::Unreachable, format!(
                "no host has {dst}: ICMP host unreachable{}",
                if self.cluster.config.service_cidr.contains(dst) {
                    " (a ClusterIP exists only inside the cluster, on its nodes)"
                } else if self.cluster.config.cluster_cidr.contains(dst) {
                    " (pod addresses are reachable only inside the cluster)"
                } else if self.cluster.services.iter().any(|s| {
                    s.alive && s.type_ == crate::cluster::ServiceType::LoadBalancer && s.lb_ips.is_empty()
                }) {
                    " (the LoadBalancer Services here are <pending>: with cluster.loadBalancer none, as on bare metal, nothing hands out their addresses; use their NodePorts)"
                } else {
                    ""
                }
            ));
        Err(End::failed(reason.outcome(), reason))
    }

    fn deliver_to_client(&mut self, c: usize, w: &mut Walk) -> End {
        w.note(
            Place::Client(c),
            Action::Deliver,
            format!(
                "{} accepts the connection (simctl assumes hosts outside the cluster do)",
                self.cluster.clients[c].name
            ),
        );
        End {
            outcome: Outcome::Delivered,
            reason: None,
            backend: Some(Backend::Client {
                client: c,
                port: w.tuple.dst.port,
            }),
            source_seen: Some(w.tuple.src.ip),
        }
    }

    fn is_given_external(&self, ip: Ipv4Addr) -> bool {
        self.cluster
            .given_endpoints
            .iter()
            .any(|g| g.addresses.iter().any(|a| a.0 == ip))
            && self.cluster.pod_by_ip(ip).is_none()
            && self.cluster.node_by_ip(ip).is_none()
    }

    /// A cloud load balancer: it forwards the packet, unchanged, to a healthy node.
    fn load_balancer(&mut self, w: &mut Walk) -> Result<(Place, Arrival), End> {
        let dst = w.tuple.dst.ip;
        let svc = self
            .cluster
            .services
            .iter()
            .position(|s| s.alive && s.lb_ips.contains(&dst));
        let local = svc.is_some_and(|s| self.cluster.services[s].external_traffic_local);
        let candidates: Vec<NodeId> = (0..self.cluster.nodes.len())
            .filter(|&n| self.cluster.nodes[n].up)
            .filter(|&n| !local || svc.is_some_and(|s| self.has_local_ready_endpoint(s, n)))
            .collect();
        let Some(&node) = candidates.get(hash_tuple(&w.tuple) as usize % candidates.len().max(1))
        else {
            w.note(
                Place::LoadBalancer,
                Action::Drop,
                "the load balancer has no healthy node to send to".into(),
            );
            let reason = if local {
                Reason::NoLocalEndpoint
            } else {
                Reason::NodeDown
            };
            return Err(End::failed(reason.outcome(), reason));
        };
        w.note(
            Place::LoadBalancer,
            Action::Forward,
            format!(
                "the load balancer for {dst} sends it to {}{}",
                self.cluster.nodes[node].name,
                if local {
                    " (a node whose health check passes: externalTrafficPolicy Local)"
                } else {
                    ""
                }
            ),
        );
        Ok((Place::Node(node), Arrival::Wire))
    }

    fn has_local_ready_endpoint(&self, svc: usize, node: NodeId) -> bool {
        (0..self.cluster.services[svc].ports.len()).any(|p| {
            self.cluster
                .endpoints(svc, p)
                .iter()
                .any(|e| e.ready && e.node == Some(node))
        })
    }

    /// A node's netfilter and routing.
    fn node(&mut self, n: NodeId, arrival: Arrival, w: &mut Walk) -> Result<(Place, Arrival), End> {
        let node_name = self.cluster.nodes[n].name.clone();
        if !self.cluster.nodes[n].up {
            w.note(
                Place::Node(n),
                Action::Drop,
                format!("{node_name} is down: nothing answers"),
            );
            return Err(End::failed(Outcome::Timeout, Reason::NodeDown));
        }
        // conntrack: a packet of a known connection reuses its translation.
        let before = w.tuple;
        let decision = if let Some(entry) = self.conntrack.lookup(n, &w.tuple, w.t_ns) {
            w.tuple = entry.translated;
            w.masqueraded |= entry.masquerade;
            w.hops.push(Hop {
                at_ns: w.t_ns,
                place: Place::Node(n),
                action: Action::Dnat,
                tuple: w.tuple,
                nat: Some(Nat { kind: NatKind::Dnat, before, after: w.tuple }),
                rules: vec![RuleStep {
                    table: "conntrack".into(),
                    chain: String::new(),
                    rule: format!("existing connection {} -> {}", describe(&before), w.tuple.dst),
                }],
                detail: format!("{node_name}: conntrack already knows this connection; same translation as before"),
                cause: None,
            });
            None
        } else {
            let input = ProxyInput {
                node: n,
                tuple: w.tuple,
                from_host: arrival == Arrival::Host,
                from_pod: match arrival {
                    Arrival::LocalPod(p) => p,
                    _ => None,
                },
                now_ns: w.t_ns,
            };
            Some(self.proxy.process(&self.cluster, &input, &mut self.rng))
        };
        let mut masquerade = false;
        if let Some(decision) = decision {
            let cause = decision.service.map(|(s, p, _)| crate::trace::Cause {
                origin: self.cluster.services[s].origin,
                field: format!("spec.ports[{p}]"),
            });
            let svc_name = decision.service.map(|(s, _, _)| {
                let s = &self.cluster.services[s];
                format!("{}/{}", s.namespace, s.name)
            });
            match decision.action {
                ProxyAction::NotMatched => {}
                ProxyAction::Dnat {
                    endpoint,
                    to,
                    masquerade: m,
                } => {
                    w.tuple.dst = to;
                    masquerade = m;
                    w.masqueraded |= m;
                    let who = endpoint
                        .pod
                        .map(|p| self.cluster.pods[p].name.clone())
                        .unwrap_or_else(|| to.ip.to_string());
                    w.hops.push(Hop {
                        at_ns: w.t_ns,
                        place: Place::Node(n),
                        action: Action::Dnat,
                        tuple: w.tuple,
                        nat: Some(Nat { kind: NatKind::Dnat, before, after: w.tuple }),
                        rules: decision.steps.clone(),
                        detail: format!(
                            "{node_name}: kube-proxy ({}) matches Service {} and picks endpoint {who} {to}",
                            self.cluster.config.proxy.mode.as_str(),
                            svc_name.clone().unwrap_or_default()
                        ),
                        cause: cause.clone(),
                    });
                    self.conntrack
                        .insert(n, before, w.tuple, m, w.t_ns, before.protocol);
                    w.nat_nodes.push((n, before, w.tuple));
                }
                ProxyAction::Reject(reason) => {
                    w.hops.push(Hop {
                        at_ns: w.t_ns,
                        place: Place::Node(n),
                        action: Action::Reject,
                        tuple: w.tuple,
                        nat: None,
                        rules: decision.steps.clone(),
                        detail: format!(
                            "{node_name}: kube-proxy rejects it ({}){}",
                            reject_words(before.protocol),
                            match reason {
                                Reason::NoEndpoints => format!(
                                    ": Service {} has no ready endpoints",
                                    svc_name.unwrap_or_default()
                                ),
                                Reason::NoServicePort => format!(
                                    ": {} is a Service address, but no Service exposes port {}",
                                    before.dst.ip, before.dst.port
                                ),
                                _ => String::new(),
                            }
                        ),
                        cause,
                    });
                    return Err(End::failed(reason.outcome(), reason));
                }
                ProxyAction::Drop(reason) => {
                    w.hops.push(Hop {
                        at_ns: w.t_ns,
                        place: Place::Node(n),
                        action: Action::Drop,
                        tuple: w.tuple,
                        nat: None,
                        rules: decision.steps.clone(),
                        detail: format!(
                            "{node_name}: kube-proxy drops it ({})",
                            drop_words(reason)
                        ),
                        cause,
                    });
                    // A drop is silence, whatever the reason (ipvs drops a Service
                    // with affinity and no endpoints where iptables rejects).
                    return Err(End::failed(Outcome::Timeout, reason));
                }
                ProxyAction::HealthCheck {
                    healthy,
                    local_endpoints,
                } => {
                    w.hops.push(Hop {
                        at_ns: w.t_ns,
                        place: Place::Node(n),
                        action: Action::HealthCheck,
                        tuple: w.tuple,
                        nat: None,
                        rules: decision.steps.clone(),
                        detail: format!(
                            "{node_name}: kube-proxy's health check answers {} ({local_endpoints} local endpoint{})",
                            if healthy { "200 OK" } else { "503 Service Unavailable" },
                            if local_endpoints == 1 { "" } else { "s" }
                        ),
                        cause,
                    });
                    return Err(End {
                        outcome: Outcome::Delivered,
                        reason: None,
                        backend: Some(Backend::KubeProxy {
                            node: n,
                            port: w.tuple.dst.port,
                        }),
                        source_seen: Some(w.tuple.src.ip),
                    });
                }
            }
        }
        // Egress NetworkPolicy of the sending pod, against the translated destination.
        if let (Arrival::LocalPod(Some(p)), Some(sp)) = (arrival, w.sender_pod)
            && p == sp
            && let Some(end) = self.policy_hop(p, Direction::Egress, w)
        {
            return Err(end);
        }
        // Routing.
        let dst = w.tuple.dst.ip;
        let next = if let Some(p) = self.cluster.pod_by_ip(dst) {
            let pod_node = self.cluster.pods[p].node;
            if pod_node == n {
                (Place::Pod(p), Arrival::Wire)
            } else {
                (Place::Node(pod_node), Arrival::Wire)
            }
        } else if let Some(owner) = self.cluster.node_by_ip(dst) {
            if owner == n {
                return Err(self.host_socket(n, w));
            }
            (Place::Node(owner), Arrival::Wire)
        } else if dst.is_loopback() {
            return Err(self.host_socket(n, w));
        } else if let Some(owner) = self.cluster.node_for_pod_ip(dst) {
            if owner == n {
                w.note(
                    Place::Node(n),
                    Action::Drop,
                    format!("{node_name}: no pod has {dst}"),
                );
                return Err(End::failed(Outcome::Timeout, Reason::NoHost));
            }
            (Place::Node(owner), Arrival::Wire)
        } else if self.cluster.config.service_cidr.contains(dst) {
            w.note(Place::Node(n), Action::Drop, format!(
                    "{node_name}: no kube-proxy rule matches {}:{} ({}); the address belongs to no host, so the packet goes nowhere",
                    dst,
                    w.tuple.dst.port,
                    w.tuple.protocol
                ));
            return Err(End::failed(Outcome::Timeout, Reason::NoHost));
        } else {
            (Place::Internet, Arrival::Wire)
        };
        // POSTROUTING: masquerade to the address of the interface the packet leaves by.
        if masquerade {
            let before = w.tuple;
            let out_ip = match next.0 {
                // To a local pod: out of the bridge, whose address is the podCIDR's first.
                Place::Pod(_) => self.cluster.nodes[n]
                    .pod_cidr
                    .nth(1)
                    .unwrap_or(self.cluster.nodes[n].ip),
                _ => self.cluster.nodes[n].ip,
            };
            w.tuple.src.ip = out_ip;
            // conntrack keeps the whole translation (DNAT and SNAT) of this node.
            if let Some(entry) = w.nat_nodes.last_mut()
                && entry.0 == n
            {
                entry.2 = w.tuple;
            }
            w.hops.push(Hop {
                at_ns: w.t_ns,
                place: Place::Node(n),
                action: Action::Masquerade,
                tuple: w.tuple,
                nat: Some(Nat { kind: NatKind::Masquerade, before, after: w.tuple }),
                rules: vec![masquerade_rule(self.cluster.config.proxy.mode)],
                detail: format!("{node_name}: masquerade: the source becomes {out_ip}, so the reply comes back through {node_name}"),
                cause: None,
            });
        }
        // Pod traffic leaving the cluster network: the CNI (or ip-masq-agent) masquerades
        // it to the node's address, since nothing outside routes pod addresses back.
        let cidr = self.cluster.config.cluster_cidr;
        if next.0 == Place::Internet
            && cidr.contains(w.tuple.src.ip)
            && !cidr.contains(w.tuple.dst.ip)
        {
            let before = w.tuple;
            w.tuple.src.ip = self.cluster.nodes[n].ip;
            w.nat_nodes.push((n, before, w.tuple));
            w.hops.push(Hop {
                at_ns: w.t_ns,
                place: Place::Node(n),
                action: Action::Masquerade,
                tuple: w.tuple,
                nat: Some(Nat { kind: NatKind::Masquerade, before, after: w.tuple }),
                rules: vec![RuleStep {
                    table: "CNI nat".into(),
                    chain: "POSTROUTING".into(),
                    rule: format!("-s {cidr} ! -d {cidr} -j MASQUERADE"),
                }],
                detail: format!(
                    "{node_name}: the packet leaves the cluster network, so the CNI masquerades it: the source becomes {}",
                    w.tuple.src.ip
                ),
                cause: None,
            });
        }
        w.note(
            Place::Node(n),
            Action::Forward,
            format!("{node_name} routes it to {}", self.place_name(next.0)),
        );
        Ok(next)
    }

    /// A packet for the node's own address on a port that no Service owns.
    fn host_socket(&mut self, n: NodeId, w: &mut Walk) -> End {
        // The control plane: the API server listens on 6443 of the first node, which the
        // `default/kubernetes` Service points at.
        if n == 0 && w.tuple.dst.port == 6443 && w.tuple.protocol == Protocol::Tcp {
            w.hops.push(Hop {
                at_ns: w.t_ns,
                place: Place::Node(n),
                action: Action::Deliver,
                tuple: w.tuple,
                nat: None,
                rules: vec![RuleStep {
                    table: "socket".into(),
                    chain: "kube-apiserver".into(),
                    rule: "listening on 6443/TCP".into(),
                }],
                detail: format!(
                    "{}: kube-apiserver accepts on 6443/TCP",
                    self.cluster.nodes[n].name
                ),
                cause: None,
            });
            return End {
                outcome: Outcome::Delivered,
                reason: None,
                backend: Some(Backend::Node {
                    node: n,
                    port: 6443,
                }),
                source_seen: Some(w.tuple.src.ip),
            };
        }
        w.note(
            Place::Node(n),
            Action::Refuse,
            format!(
                "{}: nothing on the node listens on {}/{} and it is no NodePort: {}",
                self.cluster.nodes[n].name,
                w.tuple.dst.port,
                w.tuple.protocol,
                reject_words(w.tuple.protocol)
            ),
        );
        End::failed(Outcome::Refused, Reason::NoListener)
    }

    /// NetworkPolicy for `pod` in `direction` on the packet as it is now (the peer is its
    /// source for ingress, its destination for egress): record the verdict as a hop;
    /// `Some(end)` when it drops the packet.
    fn policy_hop(&self, pod: PodId, direction: Direction, w: &mut Walk) -> Option<End> {
        let peer_ip = match direction {
            Direction::Ingress => w.tuple.src.ip,
            Direction::Egress => w.tuple.dst.ip,
        };
        let peer = Peer {
            ip: peer_ip,
            pod: self.cluster.pod_by_ip(peer_ip),
        };
        let verdict = policy::check(
            &self.cluster,
            pod,
            direction,
            peer,
            w.tuple.dst.port,
            w.tuple.protocol,
        );
        if verdict.isolating.is_empty() {
            return None;
        }
        let dir = match direction {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        };
        let names = |ids: &[usize]| {
            ids.iter()
                .map(|&i| self.cluster.policies[i].name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let pod_name = self.cluster.pods[pod].name.clone();
        let first = verdict.isolating.first().copied().unwrap_or(0);
        if verdict.allowed {
            let by: Vec<String> = verdict
                .allowed_by
                .iter()
                .map(|(p, r)| format!("{} {dir}[{r}]", self.cluster.policies[*p].name))
                .collect();
            w.hops.push(Hop {
                at_ns: w.t_ns,
                place: Place::Pod(pod),
                action: Action::PolicyAllow,
                tuple: w.tuple,
                nat: None,
                rules: vec![RuleStep {
                    table: "NetworkPolicy".into(),
                    chain: dir.into(),
                    rule: format!("allowed by {}", by.join(", ")),
                }],
                detail: format!("{pod_name}: {dir} allowed by {}", by.join(", ")),
                cause: verdict
                    .allowed_by
                    .first()
                    .map(|(p, r)| crate::trace::Cause {
                        origin: self.cluster.policies[*p].origin,
                        field: format!("spec.{dir}[{r}]"),
                    }),
            });
            return None;
        }
        w.hops.push(Hop {
            at_ns: w.t_ns,
            place: Place::Pod(pod),
            action: Action::PolicyDrop,
            tuple: w.tuple,
            nat: None,
            rules: vec![RuleStep {
                table: "NetworkPolicy".into(),
                chain: dir.into(),
                rule: format!("selected by {}; no rule allows {}", names(&verdict.isolating), describe(&w.tuple)),
            }],
            detail: format!(
                "{pod_name}: {dir} denied: the pod is selected by NetworkPolicy {} and no {dir} rule allows {}",
                names(&verdict.isolating),
                describe(&w.tuple)
            ),
            cause: Some(crate::trace::Cause { origin: self.cluster.policies[first].origin, field: format!("spec.{dir}") }),
        });
        Some(End::failed(Outcome::Timeout, Reason::PolicyDenied))
    }

    /// The packet reaches a pod: ingress policy, then a socket.
    fn at_pod(&mut self, p: PodId, w: &mut Walk) -> End {
        if let Some(end) = self.policy_hop(p, Direction::Ingress, w) {
            return end;
        }
        let pod = &self.cluster.pods[p];
        let from_inside = w.sender_pod == Some(p) && w.tuple.src.ip == pod.ip;
        let (dst, port, proto) = (w.tuple.dst.ip, w.tuple.dst.port, w.tuple.protocol);
        let accepting = pod
            .containers
            .iter()
            .position(|c| c.listen.accepts(dst, port, proto, from_inside));
        match accepting {
            Some(ci) => {
                let c = &pod.containers[ci];
                let how = match &c.listen.source {
                    ListenSource::Annotation => "per its simctl/listen annotation".to_string(),
                    ListenSource::Image { detail, .. } => detail.clone(),
                    ListenSource::Declared => "it declares that port (containerPort or a probe)".to_string(),
                    ListenSource::Assumed => "assumed: simctl does not know this image and the pod declares no port, so it is taken to accept on any port".to_string(),
                };
                w.hops.push(Hop {
                    at_ns: w.t_ns,
                    place: Place::Pod(p),
                    action: Action::Deliver,
                    tuple: w.tuple,
                    nat: None,
                    rules: vec![RuleStep {
                        table: "socket".into(),
                        chain: c.name.clone(),
                        rule: format!("listening on {port}/{} ({how})", proto),
                    }],
                    detail: format!(
                        "{}: container {} accepts on {port}/{proto}",
                        pod.name, c.name
                    ),
                    cause: Some(crate::trace::Cause {
                        origin: pod.origin,
                        field: format!("{}.containers[{ci}]", pod.spec_path),
                    }),
                });
                End {
                    outcome: Outcome::Delivered,
                    reason: None,
                    backend: Some(Backend::Pod { pod: p, port }),
                    source_seen: Some(w.tuple.src.ip),
                }
            }
            None => {
                let loopback = pod.containers.iter().any(|c| {
                    c.listen
                        .sockets
                        .iter()
                        .any(|s| s.port == port && s.protocol == proto && s.bind == Bind::Loopback)
                });
                let listening: Vec<String> = pod
                    .containers
                    .iter()
                    .flat_map(|c| {
                        c.listen
                            .sockets
                            .iter()
                            .map(|s| format!("{}/{}", s.port, s.protocol))
                    })
                    .collect();
                let reason = if loopback {
                    Reason::BoundToLoopback
                } else {
                    Reason::NoListener
                };
                let detail = if loopback {
                    format!(
                        "{}: a socket listens on {port}/{proto} but is bound to 127.0.0.1: only the pod itself can connect; {}",
                        pod.name,
                        reject_words(proto)
                    )
                } else {
                    format!(
                        "{}: nothing listens on {port}/{proto} (it listens on {}): {}",
                        pod.name,
                        if listening.is_empty() {
                            "nothing".to_string()
                        } else {
                            listening.join(", ")
                        },
                        reject_words(proto)
                    )
                };
                w.hops.push(Hop {
                    at_ns: w.t_ns,
                    place: Place::Pod(p),
                    action: Action::Refuse,
                    tuple: w.tuple,
                    nat: None,
                    rules: Vec::new(),
                    detail,
                    cause: Some(crate::trace::Cause {
                        origin: pod.origin,
                        field: format!("{}.containers", pod.spec_path),
                    }),
                });
                End {
                    outcome: Outcome::Refused,
                    reason: Some(reason),
                    backend: Some(Backend::Pod { pod: p, port }),
                    source_seen: Some(w.tuple.src.ip),
                }
            }
        }
    }

    /// The answer (SYN-ACK, or RST / ICMP) travels back; conntrack un-NATs it on the
    /// nodes that translated the request.
    fn reply(&mut self, w: &mut Walk, end: &End) {
        let mut t = w.t_ns;
        let mut reply = w.tuple.reversed();
        let refused = end.outcome == Outcome::Refused;
        let last = w.path.last().copied().unwrap_or(Place::Internet);
        if end.outcome == Outcome::Delivered && w.tuple.protocol == Protocol::Udp {
            return; // A datagram needs no answer to count as delivered.
        }
        w.hops.push(Hop {
            at_ns: t,
            place: last,
            action: Action::Reply,
            tuple: reply,
            nat: None,
            rules: Vec::new(),
            detail: format!(
                "{} answers {} {}",
                self.place_name(last),
                if refused {
                    reject_words(reply.protocol)
                } else {
                    "SYN-ACK".to_string()
                },
                describe(&reply)
            ),
            cause: None,
        });
        // Back along the way the request came, over the same links: each node that
        // translated the request un-NATs the reply (conntrack); the others forward it.
        let mut prev = last;
        let middle = w.path.len().saturating_sub(1);
        for &place in w.path.get(1..middle).unwrap_or(&[]).iter().rev() {
            t = t.saturating_add(self.topology.latency_ns(prev, place, &self.cluster));
            prev = place;
            if place == Place::Internet {
                continue; // The outside network is not a hop of the request either.
            }
            let node = match place {
                Place::Node(n) => Some(n),
                _ => None,
            };
            let translations: Vec<(FiveTuple, FiveTuple)> = w
                .nat_nodes
                .iter()
                .rev()
                .filter(|(n, _, _)| Some(*n) == node)
                .map(|(_, o, tr)| (*o, *tr))
                .collect();
            if translations.is_empty() {
                w.hops.push(Hop {
                    at_ns: t,
                    place,
                    action: Action::Forward,
                    tuple: reply,
                    nat: None,
                    rules: Vec::new(),
                    detail: format!("{} forwards the reply", self.place_name(place)),
                    cause: None,
                });
                continue;
            }
            let before = reply;
            for (original, translated) in &translations {
                // The reply of `translated` becomes the reply of `original`.
                if reply.src == translated.dst {
                    reply.src = original.dst;
                }
                if reply.dst == translated.src {
                    reply.dst = original.src;
                }
            }
            let mut changes = Vec::new();
            if before.src != reply.src {
                changes.push(format!("source {} -> {}", before.src, reply.src));
            }
            if before.dst != reply.dst {
                changes.push(format!("destination {} -> {}", before.dst, reply.dst));
            }
            w.hops.push(Hop {
                at_ns: t,
                place,
                action: Action::UnNat,
                tuple: reply,
                nat: Some(Nat {
                    kind: NatKind::Dnat,
                    before,
                    after: reply,
                }),
                rules: translations
                    .iter()
                    .map(|(original, _)| RuleStep {
                        table: "conntrack".into(),
                        chain: String::new(),
                        rule: format!("reply of {}", describe(original)),
                    })
                    .collect(),
                detail: format!(
                    "{}: conntrack un-NATs the reply: {}",
                    self.place_name(place),
                    changes.join(", ")
                ),
                cause: None,
            });
        }
        t = t.saturating_add(self.topology.latency_ns(
            prev,
            w.path.first().copied().unwrap_or(Place::Internet),
            &self.cluster,
        ));
        let first = w.path.first().copied().unwrap_or(Place::Internet);
        reply.dst = w.original.src;
        reply.src = w.original.dst;
        w.hops.push(Hop {
            at_ns: t,
            place: first,
            action: if refused {
                Action::Refuse
            } else {
                Action::Complete
            },
            tuple: reply,
            nat: None,
            rules: Vec::new(),
            detail: if refused {
                format!(
                    "{} gets {}: connection refused",
                    w.sender_name,
                    reject_words(reply.protocol)
                )
            } else {
                format!(
                    "{} gets the SYN-ACK from {}: connected",
                    w.sender_name, reply.src
                )
            },
            cause: None,
        });
        w.t_ns = t;
    }

    pub(crate) fn place_name(&self, place: Place) -> String {
        place_name(&self.cluster, place)
    }
}

/// A place as people name it: `laptop`, `node-1`, `pod/web-6d8c5-abcde`.
pub fn place_name(cluster: &Cluster, place: Place) -> String {
    match place {
        Place::Client(c) => cluster
            .clients
            .get(c)
            .map_or("client".into(), |c| c.name.clone()),
        Place::Internet => "the network".into(),
        Place::LoadBalancer => "the load balancer".into(),
        Place::Node(n) => cluster
            .nodes
            .get(n)
            .map_or("node".into(), |n| n.name.clone()),
        Place::Pod(p) => cluster.pods.get(p).map_or("pod".into(), |p| {
            if p.namespace == "default" {
                format!("pod/{}", p.name)
            } else {
                format!("pod/{}/{}", p.namespace, p.name)
            }
        }),
        Place::External => "an external host".into(),
    }
}

fn describe(t: &FiveTuple) -> String {
    format!("{} -> {} ({})", t.src, t.dst, t.protocol)
}

fn reject_words(protocol: Protocol) -> String {
    match protocol {
        Protocol::Tcp => "TCP RST".into(),
        _ => "ICMP port unreachable".into(),
    }
}

/// kube-proxy's masquerade rule, as each mode writes it.
fn masquerade_rule(mode: ProxyMode) -> RuleStep {
    match mode {
        ProxyMode::Nftables => RuleStep {
            table: "nftables ip kube-proxy".into(),
            chain: "masquerading".into(),
            rule: "meta mark & 0x00004000 != 0 masquerade fully-random".into(),
        },
        // ipvs mode marks and masquerades with the same iptables chains.
        ProxyMode::Iptables | ProxyMode::Ipvs => RuleStep {
            table: "iptables nat".into(),
            chain: "KUBE-POSTROUTING".into(),
            rule: "-m mark --mark 0x4000/0x4000 -j MASQUERADE --random-fully".into(),
        },
    }
}

fn drop_words(reason: Reason) -> &'static str {
    match reason {
        Reason::NoLocalEndpoint => {
            "externalTrafficPolicy: Local, and this node has no ready endpoint of the Service"
        }
        Reason::NoLocalInternalEndpoint => {
            "internalTrafficPolicy: Local, and this node has no endpoint of the Service"
        }
        Reason::SourceRangeDenied => "the source is outside loadBalancerSourceRanges",
        _ => "DROP",
    }
}

fn dns_detail(r: &crate::cluster::dns::DnsResult) -> String {
    match r.rcode {
        // An SRV answer carries targets, not addresses: show its records.
        Rcode::NoError if r.qtype == crate::cluster::dns::QueryType::Srv => {
            let srv: Vec<&str> = r
                .answers
                .iter()
                .filter(|a| a.rtype == "SRV")
                .map(|a| a.data.as_str())
                .collect();
            if srv.is_empty() {
                format!("{} has no SRV record (NODATA)", r.query)
            } else {
                format!("{} resolves to SRV {}", r.query, srv.join(", "))
            }
        }
        Rcode::NoError => format!(
            "{} resolves to {}",
            r.query,
            r.addresses
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Rcode::NxDomain => {
            if r.tried.is_empty() {
                format!("{} does not resolve (NXDOMAIN)", r.query)
            } else {
                format!(
                    "{} does not resolve (NXDOMAIN); tried {}",
                    r.query,
                    r.tried.join(", ")
                )
            }
        }
    }
}

pub(crate) fn split_ns(s: &str) -> (&str, &str) {
    match s.split_once('/') {
        Some((ns, name)) => (ns, name),
        None => ("default", s),
    }
}

/// `1.5s`, `250ms`, `100us`: virtual time for people.
pub fn fmt_ns(ns: u64) -> String {
    if ns == 0 {
        "0s".into()
    } else if ns.is_multiple_of(1_000_000_000) {
        format!("{}s", ns / 1_000_000_000)
    } else if ns >= 1_000_000_000 {
        format!("{:.3}s", ns as f64 / 1e9)
    } else if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else if ns >= 1_000_000 {
        format!("{:.3}ms", ns as f64 / 1e6)
    } else if ns.is_multiple_of(1_000) {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

/// A stable hash of a tuple (FNV-1a), for choices that must not consume the RNG.
fn hash_tuple(t: &FiveTuple) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in u32::from(t.src.ip)
        .to_be_bytes()
        .into_iter()
        .chain(t.src.port.to_be_bytes())
        .chain(u32::from(t.dst.ip).to_be_bytes())
        .chain(t.dst.port.to_be_bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}
