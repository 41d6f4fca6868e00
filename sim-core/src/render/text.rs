//! A flow's hops as the terminal's story prints them: time, place, action and the
//! sentence, the rewrite on the line below, and the YAML line of a decisive hop.

use std::fmt::Write as _;

use crate::engine::fmt_ns;
use crate::trace::{Action, Cause, Flow};

use super::words::nat_line;
use super::{View, place_name};

/// Append the hop table of `flow` to `out`; `locate` gives a cause's `file:line`.
pub fn write_hops(out: &mut String, v: &View, f: &Flow, locate: &dyn Fn(&Cause) -> Option<String>) {
    let c = v.cluster;
    let t0 = f.started_ns;
    let width = f
        .hops
        .iter()
        .map(|h| place_name(c, h.place).len())
        .max()
        .unwrap_or(0);
    for h in &f.hops {
        let at = format!("+{}", fmt_ns(h.at_ns.saturating_sub(t0)));
        let place = place_name(c, h.place);
        // The place is its own column: a sentence that starts with it shows the rest.
        let short = place.strip_prefix("pod/").unwrap_or(&place);
        let words = v.words(f, h);
        let detail = match &words.lead {
            Some(lead) if *lead == place || lead == short => words.body.clone(),
            _ => words.detail(),
        };
        let mut line = format!(
            "  {at:>8}  {}  {:<12} {detail}",
            crate::text::pad_right(&place, width),
            h.action().as_str()
        );
        if matches!(
            h.action(),
            Action::Dnat | Action::Refuse | Action::PolicyDrop | Action::Reject | Action::Drop
        ) && let Some(at) = h.cause(c).as_ref().and_then(locate)
        {
            let _ = write!(line, "  ({at})");
        }
        let _ = writeln!(out, "{}", line.trim_end());
        if let Some(nat) = &h.nat {
            let _ = writeln!(
                out,
                "  {:>8}  {}  {:<12} {}",
                "",
                crate::text::pad_right("", width),
                "",
                nat_line(nat)
            );
        }
    }
}
