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
mod node;
mod pod;
mod portmap;
pub mod ports;
mod reply;
pub mod report;
mod request;
#[cfg(test)]
mod tests;
pub mod topology;
pub mod traffic;
mod walk;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::Ipv4Addr;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::cluster::{self, Cluster, NodeId, PodId, ProxyMode};
use crate::diag::Diagnostic;
use crate::manifest::Loaded;
use crate::net::{FiveTuple, Protocol};
use crate::proxy::ProxyState;
use crate::scenario::EventAction;
use crate::trace::{
    Backend, ConntrackEntry, Flow, Hop, Nat, NatKind, Outcome, Place, Reason, SenderRef, Step,
};

use conntrack::Conntrack;
use topology::Topology;
use traffic::{Target, TrafficPlan};

pub use crate::render::place_name;

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
pub const MAX_HOPS: usize = crate::limits::MAX_HOPS;

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
    let note = engine.traces_note();
    engine.diagnostics.extend(note);
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
    // An unused pod address on the first node stands for "a pod inside the cluster":
    // one no pod has and the input does not name.
    let probe = cluster
        .nodes
        .first()
        .and_then(|n| cluster::pods::unused_pod_address(cluster, 0).map(|ip| (ip, n.name.clone())));
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
    ports: ports::Ports,
    rng: ChaCha8Rng,
    flows: Vec<Flow>,
    diagnostics: Vec<Diagnostic>,
    now_ns: u64,
    trace: TraceLevel,
    /// Full stories kept so far per (traffic, outcome, reason), and in all.
    stories: std::collections::BTreeMap<(usize, Outcome, Option<Reason>), usize>,
    kept: usize,
    /// Flows whose hops were not kept under `--trace full` ([`crate::limits::MAX_TRACED_FLOWS`]).
    trimmed: usize,
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
    /// The sender as its story names it.
    sender: SenderRef,
    /// The translations nodes made (conntrack entries to un-NAT the reply).
    nat_nodes: Vec<(NodeId, ConntrackEntry)>,
    /// The endpoints kube-proxy sent this new connection to, per node (ipvs lc counts
    /// it as active until the request is over).
    opened: Vec<(NodeId, crate::net::SockAddr)>,
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

    /// The outcome `reason` implies.
    fn because(reason: Reason) -> End {
        End::failed(reason.outcome(), reason)
    }
}

impl Walk {
    /// Record a step that does not change the packet.
    fn note(&mut self, place: Place, step: Step) {
        self.hops.push(Hop {
            at_ns: self.t_ns,
            place,
            packet: Some(self.tuple),
            nat: None,
            step,
        });
    }

    /// Record a step that rewrote the packet from `before` to what it is now.
    fn rewrite(&mut self, place: Place, step: Step, kind: NatKind, before: FiveTuple) {
        self.hops.push(Hop {
            at_ns: self.t_ns,
            place,
            packet: Some(self.tuple),
            nat: Some(Nat {
                kind,
                before,
                after: self.tuple,
            }),
            step,
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
            ports: ports::Ports::new(seed),
            rng: ChaCha8Rng::seed_from_u64(seed),
            flows: Vec::new(),
            diagnostics: Vec::new(),
            now_ns: 0,
            trace: TraceLevel::Full,
            stories: std::collections::BTreeMap::new(),
            kept: 0,
            trimmed: 0,
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
                self.sync();
            }
            match item {
                QueueItem::Event(i) => {
                    if let Some((_, action)) = events.get(i) {
                        self.apply_event(i, action);
                        self.sync();
                    }
                }
                QueueItem::Request { plan, index } => {
                    let Some(p) = plans.get(plan) else { continue };
                    let mut flow = self.request(plan, p, index);
                    if !self.keeps_story(plan, &flow) {
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

    /// The cluster changed: kube-proxy resyncs (and cleans stale UDP conntrack entries),
    /// the topology is redrawn.
    fn sync(&mut self) {
        self.proxy.sync(&self.cluster);
        let stale = stale_udp(&self.cluster);
        self.conntrack
            .clean_udp(|t, endpoint| stale.is_stale(t, endpoint));
        self.topology = Topology::new(&self.cluster);
    }

    /// Whether a flow keeps its hops: the first of its story (traffic, outcome, reason)
    /// always; under `--trace full` also the next ones, up to
    /// [`crate::limits::MAX_TRACES_PER_STORY`] per story and
    /// [`crate::limits::MAX_TRACED_FLOWS`] per run, so memory stays bounded however many
    /// requests a run sends ([`Engine::traces_note`] says so).
    fn keeps_story(&mut self, plan: usize, flow: &Flow) -> bool {
        let count = self
            .stories
            .entry((plan, flow.outcome, flow.reason))
            .or_default();
        *count += 1;
        let keep = *count == 1
            || (self.trace == TraceLevel::Full
                && *count <= crate::limits::MAX_TRACES_PER_STORY
                && self.kept < crate::limits::MAX_TRACED_FLOWS);
        if keep {
            self.kept += 1;
        } else if self.trace == TraceLevel::Full {
            self.trimmed += 1;
        }
        keep
    }

    /// The note a `--trace full` run gives when it kept fewer traces than flows.
    fn traces_note(&self) -> Option<Diagnostic> {
        (self.trimmed > 0).then(|| {
            let g = |n: usize| crate::limits::grouped(n as u64);
            Diagnostic::note(
                "TracesLimited",
                format!(
                    "{} of {} flows keep their outcome, reason and backend but not their hops: simctl keeps every hop of at most {} flows per traffic entry and outcome, and {} per run",
                    g(self.trimmed),
                    g(self.flows.len()),
                    g(crate::limits::MAX_TRACES_PER_STORY),
                    g(crate::limits::MAX_TRACED_FLOWS)
                ),
            )
            .help("`--trace summary` keeps one full story per traffic entry and outcome; fewer `requests` keep every hop of every flow")
        })
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

/// What kube-proxy's conntrack cleanup keeps (pkg/proxy/conntrack/cleanup.go,
/// `CleanStaleEntries`): for each UDP Service port with serving endpoints, the serving
/// endpoint addresses, by frontend (ClusterIP, load-balancer IPs and externalIPs with the
/// port) and by nodePort. An entry to such a frontend whose reply comes from another
/// address is stale. A port without serving endpoints cleans nothing.
#[derive(Default)]
struct StaleUdp {
    frontends:
        std::collections::BTreeMap<crate::net::SockAddr, std::collections::BTreeSet<Ipv4Addr>>,
    node_ports: std::collections::BTreeMap<u16, std::collections::BTreeSet<Ipv4Addr>>,
}

impl StaleUdp {
    fn is_stale(&self, original: &FiveTuple, endpoint: Ipv4Addr) -> bool {
        let stale_in = |set: Option<&std::collections::BTreeSet<Ipv4Addr>>| {
            set.is_some_and(|s| !s.contains(&endpoint))
        };
        stale_in(self.frontends.get(&original.dst))
            || stale_in(self.node_ports.get(&original.dst.port))
    }
}

fn stale_udp(c: &Cluster) -> StaleUdp {
    let mut out = StaleUdp::default();
    for (si, s) in c.services.iter().enumerate().filter(|(_, s)| s.alive) {
        for (pi, p) in s.ports.iter().enumerate() {
            if p.protocol != Protocol::Udp {
                continue;
            }
            let serving: std::collections::BTreeSet<Ipv4Addr> = c
                .endpoints(si, pi)
                .iter()
                .filter(|e| e.serving)
                .map(|e| e.ip)
                .collect();
            if serving.is_empty() {
                continue;
            }
            for ip in s.cluster_ip.iter().chain(&s.lb_ips).chain(&s.external_ips) {
                out.frontends.insert(
                    crate::net::SockAddr {
                        ip: *ip,
                        port: p.port,
                    },
                    serving.clone(),
                );
            }
            if let Some(np) = p.node_port {
                out.node_ports.insert(np, serving);
            }
        }
    }
    out
}
