//! The simulated packets as a classic libpcap capture (`simctl run --pcap FILE`).
//!
//! - Format: libpcap 2.4 with nanosecond timestamps (magic `0xa1b23c4d`), link type
//!   `LINKTYPE_RAW` (101): each record is a bare IPv4 packet. Timestamps are the run's
//!   virtual time since the epoch (a capture of a run that starts at 0 begins on
//!   1970-01-01).
//! - One record per wire crossing: whenever a flow's packet moves from one place to the
//!   next (client, load balancer, node, pod: veths count as wires), with its addresses
//!   and ports as they are on that wire, so a DNAT shows as the packet arriving with the
//!   Service address and leaving with the pod's. Packets that never leave a host (a
//!   node talking to itself) are not on a wire and not captured.
//! - The handshake's first two packets: TCP SYN, then SYN-ACK when delivered or RST-ACK
//!   when refused; UDP datagrams (empty), refused with ICMP port unreachable; SCTP INIT,
//!   INIT-ACK or ABORT. An address no host has gets ICMP host unreachable from the
//!   network's router, shown as 192.0.2.1 (TEST-NET-1). A dropped packet has no answer.
//! - IPv4, TCP, UDP and ICMP checksums are correct; SCTP's CRC32c too. Sequence numbers
//!   and IP ids are derived from the flow, so the same run gives the same bytes.
//! - Flows kept without hops (`--trace summary`) contribute nothing.

use std::net::Ipv4Addr;

use crate::engine::RunResult;
use crate::net::{FiveTuple, Protocol};
use crate::trace::{Action, Flow, Outcome};

/// LINKTYPE_RAW: raw IPv4/IPv6.
pub const LINKTYPE_RAW: u32 = 101;
/// The router that answers ICMP host unreachable.
pub const ROUTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

/// One captured packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub at_ns: u64,
    /// The IPv4 packet.
    pub bytes: Vec<u8>,
}

/// The whole capture file.
pub fn capture(run: &RunResult) -> Vec<u8> {
    let mut packets: Vec<Packet> = Vec::new();
    for (i, f) in run.flows.iter().enumerate() {
        packets.extend(flow_packets(f, i));
    }
    // In time order; ties keep flow order (a stable sort).
    packets.sort_by_key(|p| p.at_ns);
    write_pcap(&packets)
}

/// The file: global header, then a record per packet.
pub fn write_pcap(packets: &[Packet]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(24 + packets.iter().map(|p| 16 + p.bytes.len()).sum::<usize>());
    out.extend_from_slice(&0xa1b2_3c4d_u32.to_le_bytes()); // nanosecond resolution
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    for p in packets {
        let secs = u32::try_from(p.at_ns / 1_000_000_000).unwrap_or(u32::MAX);
        let nanos = (p.at_ns % 1_000_000_000) as u32;
        let len = u32::try_from(p.bytes.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&secs.to_le_bytes());
        out.extend_from_slice(&nanos.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&p.bytes);
    }
    out
}

/// The packets of one flow on the wires it crossed. `n` (the flow's position in the run)
/// seeds sequence numbers and IP ids.
pub fn flow_packets(f: &Flow, n: usize) -> Vec<Packet> {
    let mut out = Vec::new();
    let seed = fnv(&[
        &(n as u64).to_be_bytes()[..],
        &(f.traffic as u64).to_be_bytes(),
        &f.index.to_be_bytes(),
    ]);
    let isn = seed as u32;
    let isn_reply = (seed >> 32) as u32;
    // A forwarded packet keeps its IP id; each router on the way takes one from its TTL.
    let id_request = (seed >> 16) as u16;
    let id_reply = id_request.wrapping_add(1);
    let mut ttl: u8 = 64;
    let refused = f.outcome == Outcome::Refused;
    let mut replying = false;
    for pair in f.hops.windows(2) {
        let [prev, h] = pair else { continue };
        if prev.action() == Action::Reply && !replying {
            replying = true;
            ttl = 64;
        }
        if h.place == prev.place
            || h.action() == Action::Resolve
            || prev.action() == Action::Resolve
        {
            continue;
        }
        // An egress policy drop happens in the sender before the wire.
        if h.action() == Action::PolicyDrop && Some(h.place) == f.hops.first().map(|x| x.place) {
            continue;
        }
        // A step that sent nothing put nothing on a wire.
        let Some(t) = prev.packet else {
            continue;
        };
        let at_ns = if h.action() == Action::Lost {
            prev.at_ns
        } else {
            h.at_ns
        };
        let mut bytes = if replying {
            answer(&t, refused, isn, isn_reply, id_reply, id_request)
        } else {
            request(&t, isn, id_request)
        };
        set_ttl(&mut bytes, ttl);
        ttl = ttl.saturating_sub(1).max(1);
        out.push(Packet { at_ns, bytes });
        if h.action() == Action::Unreachable {
            let quoted = request(&t, isn, id_request);
            out.push(Packet {
                at_ns: h.at_ns,
                bytes: icmp(ROUTER, t.src.ip, 3, 1, &quoted, id_reply),
            });
        }
    }
    out
}

/// The first packet of a connection: SYN, a datagram, INIT.
fn request(t: &FiveTuple, isn: u32, ip_id: u16) -> Vec<u8> {
    match t.protocol {
        Protocol::Tcp => ipv4(t, 6, ip_id, &tcp(t, isn, 0, 0x02)),
        Protocol::Udp => ipv4(t, 17, ip_id, &udp(t, &[])),
        Protocol::Sctp => ipv4(t, 132, ip_id, &sctp(t, 0, &init_chunk(1, isn))),
    }
}

/// The answer: SYN-ACK / RST-ACK, ICMP port unreachable, INIT-ACK / ABORT.
fn answer(
    t: &FiveTuple,
    refused: bool,
    isn: u32,
    isn_reply: u32,
    ip_id: u16,
    request_id: u16,
) -> Vec<u8> {
    match (t.protocol, refused) {
        (Protocol::Tcp, false) => ipv4(t, 6, ip_id, &tcp(t, isn_reply, isn.wrapping_add(1), 0x12)),
        (Protocol::Tcp, true) => ipv4(t, 6, ip_id, &tcp(t, 0, isn.wrapping_add(1), 0x14)),
        (Protocol::Udp, false) => ipv4(t, 17, ip_id, &udp(t, &[])),
        (Protocol::Udp, true) => {
            // The datagram being refused is the reverse of the answer's addressing.
            let quoted = request(&t.reversed(), isn, request_id);
            icmp(t.src.ip, t.dst.ip, 3, 3, &quoted, ip_id)
        }
        (Protocol::Sctp, false) => ipv4(t, 132, ip_id, &sctp(t, isn, &init_chunk(2, isn_reply))),
        (Protocol::Sctp, true) => ipv4(t, 132, ip_id, &sctp(t, isn, &[6, 0, 0, 4])),
    }
}

/// Set an IPv4 packet's TTL and fix its header checksum.
fn set_ttl(p: &mut [u8], ttl: u8) {
    if p.len() < 20 {
        return;
    }
    p[8] = ttl;
    p[10] = 0;
    p[11] = 0;
    let sum = checksum(&[&p[..20]]);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
}

/// An IPv4 header (20 bytes, DF, TTL 64) in front of `payload`.
fn ipv4(t: &FiveTuple, proto: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    ipv4_raw(t.src.ip, t.dst.ip, proto, id, payload)
}

fn ipv4_raw(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap_or(u16::MAX);
    let mut h = Vec::with_capacity(20 + payload.len());
    h.extend_from_slice(&[0x45, 0]);
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&0x4000u16.to_be_bytes()); // DF
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let sum = checksum(&[&h[..20]]);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// A TCP header without options.
fn tcp(t: &FiveTuple, seq: u32, ack: u32, flags: u8) -> Vec<u8> {
    let mut s = Vec::with_capacity(20);
    s.extend_from_slice(&t.src.port.to_be_bytes());
    s.extend_from_slice(&t.dst.port.to_be_bytes());
    s.extend_from_slice(&seq.to_be_bytes());
    s.extend_from_slice(&ack.to_be_bytes());
    s.push(5 << 4);
    s.push(flags);
    let window: u16 = if flags & 0x04 != 0 { 0 } else { 64240 };
    s.extend_from_slice(&window.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    let sum = checksum(&[&pseudo(t, 6, s.len()), &s]);
    s[16..18].copy_from_slice(&sum.to_be_bytes());
    s
}

fn udp(t: &FiveTuple, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
    let mut s = Vec::with_capacity(8 + payload.len());
    s.extend_from_slice(&t.src.port.to_be_bytes());
    s.extend_from_slice(&t.dst.port.to_be_bytes());
    s.extend_from_slice(&len.to_be_bytes());
    s.extend_from_slice(&[0, 0]);
    s.extend_from_slice(payload);
    let mut sum = checksum(&[&pseudo(t, 17, s.len()), &s]);
    if sum == 0 {
        sum = 0xffff;
    }
    s[6..8].copy_from_slice(&sum.to_be_bytes());
    s
}

/// An ICMP error quoting the offending packet's header and first 8 bytes.
fn icmp(src: Ipv4Addr, dst: Ipv4Addr, kind: u8, code: u8, quoted: &[u8], id: u16) -> Vec<u8> {
    let mut m = vec![kind, code, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&quoted[..quoted.len().min(28)]);
    let sum = checksum(&[&m]);
    m[2..4].copy_from_slice(&sum.to_be_bytes());
    ipv4_raw(src, dst, 1, id, &m)
}

/// An SCTP packet: the common header and one chunk; the checksum is CRC32c, stored as
/// Linux stores it.
fn sctp(t: &FiveTuple, tag: u32, chunk: &[u8]) -> Vec<u8> {
    let mut s = Vec::with_capacity(12 + chunk.len());
    s.extend_from_slice(&t.src.port.to_be_bytes());
    s.extend_from_slice(&t.dst.port.to_be_bytes());
    s.extend_from_slice(&tag.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 0]);
    s.extend_from_slice(chunk);
    let crc = crc32c(&s);
    s[8..12].copy_from_slice(&crc.to_le_bytes());
    s
}

/// INIT (1) or INIT-ACK (2, with a 4-byte state cookie).
fn init_chunk(kind: u8, tag: u32) -> Vec<u8> {
    let len: u16 = if kind == 2 { 28 } else { 20 };
    let mut c = vec![kind, 0];
    c.extend_from_slice(&len.to_be_bytes());
    c.extend_from_slice(&tag.to_be_bytes()); // initiate tag
    c.extend_from_slice(&106_496u32.to_be_bytes()); // a_rwnd
    c.extend_from_slice(&10u16.to_be_bytes()); // outbound streams
    c.extend_from_slice(&65535u16.to_be_bytes()); // inbound streams
    c.extend_from_slice(&tag.to_be_bytes()); // initial TSN
    if kind == 2 {
        c.extend_from_slice(&7u16.to_be_bytes()); // State Cookie
        c.extend_from_slice(&8u16.to_be_bytes());
        c.extend_from_slice(&tag.to_be_bytes());
    }
    c
}

/// The TCP/UDP pseudo-header.
fn pseudo(t: &FiveTuple, proto: u8, len: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(12);
    p.extend_from_slice(&t.src.ip.octets());
    p.extend_from_slice(&t.dst.ip.octets());
    p.push(0);
    p.push(proto);
    p.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    p
}

/// The Internet checksum (RFC 1071) over the concatenation of `parts`.
pub fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// CRC32c (Castagnoli), bitwise.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc: u32 = !0;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82f6_3b78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::SockAddr;

    fn t() -> FiveTuple {
        FiveTuple {
            protocol: Protocol::Tcp,
            src: SockAddr {
                ip: Ipv4Addr::new(203, 0, 113, 10),
                port: 40000,
            },
            dst: SockAddr {
                ip: Ipv4Addr::new(172, 18, 0, 2),
                port: 30080,
            },
        }
    }

    #[test]
    fn headers_checksum_to_zero() {
        let p = request(&t(), 1000, 7);
        assert_eq!(p.len(), 40);
        assert_eq!(checksum(&[&p[..20]]), 0, "IPv4 header");
        assert_eq!(checksum(&[&pseudo(&t(), 6, 20), &p[20..]]), 0, "TCP");
        assert_eq!(p[33], 0x02, "SYN");
        let mut u = t();
        u.protocol = Protocol::Udp;
        let d = request(&u, 0, 1);
        assert_eq!(checksum(&[&pseudo(&u, 17, 8), &d[20..]]), 0, "UDP");
        let i = answer(&u.reversed(), true, 0, 0, 2, 1);
        assert_eq!(i[9], 1, "ICMP");
        assert_eq!(checksum(&[&i[20..]]), 0, "ICMP checksum");
        assert_eq!((i[20], i[21]), (3, 3), "port unreachable");
    }

    #[test]
    fn crc32c_known_value() {
        // RFC 3720 B.4: 32 bytes of zeros.
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
    }

    #[test]
    fn file_header() {
        let f = write_pcap(&[Packet {
            at_ns: 1_500_000_000,
            bytes: vec![0x45; 20],
        }]);
        assert_eq!(&f[..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes([f[20], f[21], f[22], f[23]]), 101);
        assert_eq!(u32::from_le_bytes([f[24], f[25], f[26], f[27]]), 1);
        assert_eq!(
            u32::from_le_bytes([f[28], f[29], f[30], f[31]]),
            500_000_000
        );
        assert_eq!(f.len(), 24 + 16 + 20);
    }
}
