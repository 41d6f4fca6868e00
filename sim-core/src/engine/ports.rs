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

use std::collections::BTreeMap;
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
/// `TCP_TIMEWAIT_LEN`: how long the side that closes first holds the 4-tuple.
const TIME_WAIT_NS: u64 = 60_000_000_000;
/// Tuples held at once before the expired ones are swept.
const SWEEP_AT: usize = 1 << 16;

/// The ephemeral ports of every host of a run.
#[derive(Clone, Debug)]
pub struct Ports {
    rng: ChaCha8Rng,
    /// `net_secret` and `table_perturb` of each kernel (a client, or a node with its pods).
    secret: u64,
    perturb: BTreeMap<(u32, u16), u32>,
    /// TCP 4-tuples a sender still holds (TIME_WAIT), until when.
    held: BTreeMap<FiveTuple, u64>,
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
        if self.held.len() >= SWEEP_AT {
            self.held.retain(|_, until| *until > now_ns);
        }
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
        let in_use = |port: u32| {
            let t = FiveTuple {
                protocol,
                src: SockAddr {
                    ip: src,
                    port: port as u16,
                },
                dst,
            };
            self.held.get(&t).is_some_and(|until| *until > now_ns)
        };
        // Ports of low's parity first, then the others.
        for _parity in 0..2 {
            let mut port = LOW + offset;
            let mut i = 0;
            while i < REMAINING {
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
        // Every port held (connect() fails with EADDRNOTAVAIL on Linux): simctl reuses
        // the scan's first port rather than invent a failure no scenario asks for.
        (LOW + start) as u16
    }

    /// The sender holds `tuple` (a TCP connection it closed) until `until_ns`.
    pub fn hold(&mut self, tuple: FiveTuple, now_ns: u64) {
        if tuple.protocol == Protocol::Tcp {
            self.held.insert(tuple, now_ns.saturating_add(TIME_WAIT_NS));
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
    fn udp_ports_are_drawn_from_the_range() {
        let mut p = Ports::new(0);
        for _ in 0..1000 {
            let port = p.pick(0, Protocol::Udp, CLIENT, dst(53), 0);
            assert!((32768..=60999).contains(&port));
        }
    }
}
