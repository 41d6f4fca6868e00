//! Ephemeral source ports, picked as Linux picks them, from `ip_local_port_range`'s
//! default 32768-60999, deterministic per seed.
//!
//! TCP `connect()`: `__inet_hash_connect` (net/ipv4/inet_hashtables.c, RFC 6056
//! algorithm 4, "double-hash"): a keyed hash of (source address, destination address,
//! destination port) gives an index into `table_perturb` (random at boot) and an offset;
//! the scan starts at `low + (table_perturb[index] + hash >> 32) % remaining`, ports of
//! `low`'s parity first, stepping by 2, and takes the first port whose 4-tuple is not in
//! use (`__inet_check_established`: an established or TIME_WAIT socket of that 4-tuple
//! makes it unusable, `tcp_tw_reuse` allowing reuse on loopback only). Then
//! `table_perturb[index] += max(i, random(8) * 2) + 2`: the next connection to the same
//! destination starts further on, so consecutive connections get distinct ports until the
//! range wraps, and a port still held is never reused.
//!
//! UDP: `udp_lib_get_port` (net/ipv4/udp.c): a random port of the range, skipping ports
//! bound by live sockets. Each request here is its own socket, closed once answered, so
//! no UDP port stays bound and two datagrams may share a 5-tuple (conntrack then gives
//! the second the first one's translation, as it does on Linux).
//!
//! The randomness comes from a ChaCha stream of its own, seeded by the run's seed, so
//! ports do not shift the choices the rest of the run draws.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::net::{FiveTuple, Protocol, SockAddr};

const LOW: u32 = 32768;
/// One past the last port: [32768, 61000[.
const HIGH: u32 = 61000;
/// `remaining`, even as `__inet_hash_connect` makes it for the two-parity scan.
const REMAINING: u32 = (HIGH - LOW) & !1;
/// `INET_TABLE_PERTURB_SIZE`: 1 << CONFIG_INET_TABLE_PERTURB_ORDER (16).
const PERTURB_MASK: u64 = (1 << 16) - 1;
/// Ports of one parity a scan tries before it takes the first (Linux tries all): a
/// run this long of held ports means the range is crowded (see `pick`), and a full
/// scan per request would make a busy client's run quadratic.
const MAX_PROBES: u32 = 128;
/// `TCP_TIMEWAIT_LEN`: how long the side that closes first holds the 4-tuple.
const TIME_WAIT_NS: u64 = 60_000_000_000;

/// The ephemeral ports of every host of a run.
#[derive(Clone, Debug)]
pub struct Ports {
    rng: ChaCha8Rng,
    /// `net_secret` and `table_perturb` of each kernel (a client, or a node with its pods).
    secret: u64,
    perturb: BTreeMap<(u32, u16), u32>,
    /// TCP 4-tuples a sender still holds (TIME_WAIT), until when; the same by expiry;
    /// and how many each (source address, destination) holds.
    held: BTreeMap<FiveTuple, u64>,
    expiry: BTreeSet<(u64, FiveTuple)>,
    per_destination: BTreeMap<(Ipv4Addr, SockAddr), u32>,
}

impl Ports {
    pub fn new(seed: u64) -> Ports {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // A stream of its own: the engine's RNG (stream 0) draws the same as before.
        rng.set_stream(1);
        let secret = rng.random();
        Ports {
            rng,
            secret,
            perturb: BTreeMap::new(),
            held: BTreeMap::new(),
            expiry: BTreeSet::new(),
            per_destination: BTreeMap::new(),
        }
    }

    /// The source port for a new connection (TCP) or datagram (UDP, SCTP as UDP) from
    /// `src` on `kernel` to `dst`, at `now_ns`.
    pub fn pick(
        &mut self,
        kernel: u32,
        protocol: Protocol,
        src: Ipv4Addr,
        dst: SockAddr,
        now_ns: u64,
    ) -> u16 {
        if protocol != Protocol::Tcp {
            return self.rng.random_range(LOW..HIGH) as u16;
        }
        self.expire(now_ns);
        let port_offset = mix(self.secret ^ u64::from(kernel), src, dst);
        let index = (port_offset & PERTURB_MASK) as u16;
        // table_perturb starts random (`get_random_sleepable_once`): from the secret.
        let secret = self.secret;
        let perturb = *self.perturb.entry((kernel, index)).or_insert_with(|| {
            let slot = SockAddr {
                ip: Ipv4Addr::UNSPECIFIED,
                port: index,
            };
            mix(secret, Ipv4Addr::from(kernel), slot) as u32
        });
        let mut offset = perturb.wrapping_add((port_offset >> 32) as u32) % REMAINING;
        offset &= !1;
        let start = offset;
        // A client holding half the range for this destination opens hundreds of
        // connections a second to it: Linux's connect() is about to fail with
        // EADDRNOTAVAIL. simctl takes the scan's first port then (the SYN reopens that
        // tuple's ended conntrack entry) instead of scanning a nearly full range per
        // request.
        let holding = self.per_destination.get(&(src, dst)).copied().unwrap_or(0);
        if holding >= REMAINING / 2 {
            return (LOW + start) as u16;
        }
        let in_use = |port: u32| {
            let t = FiveTuple {
                protocol,
                src: SockAddr {
                    ip: src,
                    port: port as u16,
                },
                dst,
            };
            self.held.contains_key(&t)
        };
        // Ports of low's parity first, then the others.
        for _parity in 0..2 {
            let mut port = LOW + offset;
            let mut i = 0;
            while i < REMAINING.min(2 * MAX_PROBES) {
                if port >= HIGH {
                    port -= REMAINING;
                }
                if !in_use(port) {
                    let jump = i.max(self.rng.random_range(0..8u32) * 2);
                    let p = self.perturb.entry((kernel, index)).or_default();
                    *p = p.wrapping_add(jump + 2);
                    return port as u16;
                }
                i += 2;
                port += 2;
            }
            offset += 1;
        }
        // A crowded range (every port held, where connect() fails with EADDRNOTAVAIL on
        // Linux, or MAX_PROBES held in a row of each parity): simctl reuses the scan's first
        // port rather than invent a failure no scenario asks for; the SYN reopens that
        // tuple's ended conntrack entry.
        (LOW + start) as u16
    }

    /// The sender closed the TCP connection `tuple` at `now_ns`: it holds the 4-tuple in
    /// TIME_WAIT for `TCP_TIMEWAIT_LEN`.
    pub fn hold(&mut self, tuple: FiveTuple, now_ns: u64) {
        if tuple.protocol != Protocol::Tcp {
            return;
        }
        self.expire(now_ns);
        let until = now_ns.saturating_add(TIME_WAIT_NS);
        match self.held.insert(tuple, until) {
            Some(old) => {
                self.expiry.remove(&(old, tuple));
            }
            None => {
                *self
                    .per_destination
                    .entry((tuple.src.ip, tuple.dst))
                    .or_default() += 1;
            }
        }
        self.expiry.insert((until, tuple));
    }

    /// TIME_WAIT over: the tuples whose time passed are free again.
    fn expire(&mut self, now_ns: u64) {
        while let Some(&(until, tuple)) = self.expiry.first() {
            if until > now_ns {
                break;
            }
            self.expiry.pop_first();
            self.held.remove(&tuple);
            let key = (tuple.src.ip, tuple.dst);
            if let Some(n) = self.per_destination.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.per_destination.remove(&key);
                }
            }
        }
    }
}

/// A keyed 64-bit hash of (source, destination address, destination port): the
/// `secure_ipv4_port_ephemeral` siphash stands in as splitmix64 rounds.
fn mix(key: u64, src: Ipv4Addr, dst: SockAddr) -> u64 {
    let mut h = key;
    for word in [
        u64::from(u32::from(src)),
        u64::from(u32::from(dst.ip)),
        u64::from(dst.port),
    ] {
        h = splitmix(h ^ word);
    }
    h
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

    fn dst(port: u16) -> SockAddr {
        SockAddr {
            ip: Ipv4Addr::new(172, 18, 0, 2),
            port,
        }
    }

    fn tcp(sport: u16, d: SockAddr) -> FiveTuple {
        FiveTuple {
            protocol: Protocol::Tcp,
            src: SockAddr {
                ip: CLIENT,
                port: sport,
            },
            dst: d,
        }
    }

    #[test]
    fn tcp_ports_to_one_destination_are_distinct_in_range_and_seeded() {
        for seed in 0..20 {
            let mut p = Ports::new(seed);
            let mut seen = std::collections::BTreeSet::new();
            for i in 0..2000u64 {
                let port = p.pick(7, Protocol::Tcp, CLIENT, dst(30080), i * 1_000_000);
                assert!((32768..=60999).contains(&port), "{port}");
                assert!(seen.insert(port), "seed {seed}: port {port} twice");
                p.hold(tcp(port, dst(30080)), i * 1_000_000);
            }
            let again: Vec<u16> = {
                let mut q = Ports::new(seed);
                (0..5)
                    .map(|_| q.pick(7, Protocol::Tcp, CLIENT, dst(30080), 0))
                    .collect()
            };
            let mut r = Ports::new(seed);
            let same: Vec<u16> = (0..5)
                .map(|_| r.pick(7, Protocol::Tcp, CLIENT, dst(30080), 0))
                .collect();
            assert_eq!(again, same, "same seed, same ports");
        }
    }

    #[test]
    fn a_held_tuple_is_skipped_and_free_again_after_time_wait() {
        // Three pickers in the same state: their scans start at the same port.
        let first = Ports::new(3).pick(1, Protocol::Tcp, CLIENT, dst(80), 0);
        let mut held = Ports::new(3);
        held.hold(tcp(first, dst(80)), 0);
        let second = held.pick(1, Protocol::Tcp, CLIENT, dst(80), 1);
        assert_ne!(second, first, "a tuple in TIME_WAIT is not reused");
        assert_eq!(
            u32::from(second),
            (u32::from(first) + 2 - LOW) % REMAINING + LOW
        );
        let mut later = Ports::new(3);
        later.hold(tcp(first, dst(80)), 0);
        let third = later.pick(1, Protocol::Tcp, CLIENT, dst(80), TIME_WAIT_NS + 1);
        assert_eq!(third, first, "free again after TIME_WAIT");
        // Another destination's tuple with that port is another 4-tuple.
        let mut other = Ports::new(3);
        other.hold(tcp(first, dst(81)), 0);
        assert_eq!(other.pick(1, Protocol::Tcp, CLIENT, dst(80), 1), first);
    }

    #[test]
    fn a_client_holding_half_the_range_gets_ports_without_a_scan() {
        // 100,000 connections in 10 s to one destination: more than the range holds in
        // TIME_WAIT. Each pick stays cheap, and the held count is exact.
        let mut p = Ports::new(0);
        for i in 0..100_000u64 {
            let now = i * 100_000;
            let port = p.pick(0, Protocol::Tcp, CLIENT, dst(80), now);
            assert!((32768..=60999).contains(&port));
            p.hold(tcp(port, dst(80)), now);
        }
        let held = p.per_destination[&(CLIENT, dst(80))];
        assert_eq!(held as usize, p.held.len());
        assert!(held >= REMAINING / 2, "{held}");
        // 60 s later every tuple is free again.
        p.expire(100_000 * 100_000 + TIME_WAIT_NS);
        assert!(p.held.is_empty() && p.expiry.is_empty() && p.per_destination.is_empty());
    }

    #[test]
    fn udp_ports_are_drawn_from_the_range() {
        let mut p = Ports::new(0);
        for _ in 0..1000 {
            let port = p.pick(0, Protocol::Udp, CLIENT, dst(53), 0);
            assert!((32768..=60999).contains(&port));
        }
    }
}
