// One flow, hop by hop: the hop table, play/pause/step, and the challenge mode in which the
// learner predicts each hop (where it happens and what happens) before it is revealed.
import { h } from './dom';
import type { Flow, Hop, Tuple } from './types';

export interface PlayerView {
  table: HTMLTableSectionElement;
  label: HTMLElement;
  play: HTMLButtonElement;
  quiz: HTMLElement;
  onStep(hops: Hop[], step: number, animate: boolean): void;
  onGoto(line: number): void;
}

const FAILED = new Set(['refuse', 'drop', 'reject', 'timeout', 'unresolved', 'error']);

export function lineOf(at: string | null | undefined): number | null {
  const m = /:(\d+)$/.exec(at ?? '');
  return m ? Number(m[1]) : null;
}

function micros(ns: number): string {
  if (ns === 0) return '0';
  if (ns < 1_000_000) return `+${(ns / 1000).toFixed(0)}µs`;
  return `+${(ns / 1_000_000).toFixed(ns < 10_000_000 ? 2 : 1)}ms`;
}

/// `a -> b` with the part a rewrite changed marked.
function tupleCell(t: Tuple, changed?: { src: boolean; dst: boolean }): HTMLElement {
  const cell = h('span');
  cell.append(h('span', { class: changed?.src ? 'changed' : undefined, text: t.src }));
  cell.append(' → ');
  cell.append(h('span', { class: changed?.dst ? 'changed' : undefined, text: t.dst }));
  return cell;
}

export class Player {
  flow: Flow | null = null;
  step = 0;
  private timer: number | null = null;
  challenge = false;
  score = { right: 0, asked: 0 };
  private answered = new Set<number>();

  constructor(private v: PlayerView) {}

  load(flow: Flow, step?: number): void {
    this.pause();
    this.flow = flow;
    this.answered.clear();
    this.score = { right: 0, asked: 0 };
    this.step = step ?? (this.challenge ? 0 : 1);
    this.render(false);
  }

  get hops(): Hop[] {
    return this.flow?.hops ?? [];
  }

  get done(): boolean {
    return this.step >= this.hops.length;
  }

  forward(): void {
    if (!this.flow || this.done) return;
    if (this.challenge && !this.answered.has(this.step)) {
      this.ask();
      return;
    }
    this.step++;
    this.render(true);
  }

  back(): void {
    if (this.step > (this.challenge ? 0 : 1)) {
      this.step--;
      this.render(false);
    }
  }

  first(): void {
    this.pause();
    this.step = this.challenge ? 0 : 1;
    this.render(false);
  }

  last(): void {
    this.pause();
    if (this.challenge) {
      // Skipping ahead gives the answers away: they count as not predicted.
      for (let i = this.step; i < this.hops.length; i++) this.answered.add(i);
    }
    this.step = this.hops.length;
    this.render(false);
  }

  toggle(): void {
    if (this.timer !== null) this.pause();
    else this.playOn();
  }

  playOn(): void {
    if (!this.flow) return;
    if (this.done) {
      this.step = this.challenge ? 0 : 1;
      this.render(false);
    }
    this.v.play.textContent = 'Pause';
    this.v.play.setAttribute('aria-pressed', 'true');
    const tick = () => {
      if (this.challenge && !this.answered.has(this.step)) {
        this.pause();
        this.ask();
        return;
      }
      this.forward();
      if (this.done) this.pause();
    };
    this.timer = window.setInterval(tick, 700);
  }

  pause(): void {
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
    this.v.play.textContent = 'Play';
    this.v.play.setAttribute('aria-pressed', 'false');
  }

  setChallenge(on: boolean): void {
    this.challenge = on;
    if (this.flow) this.load(this.flow);
  }

  /// The hop's answer as the learner picks it: where it happens and what happens.
  static answer(hop: Hop): string {
    return `${hop.place}: ${hop.action}`;
  }

  /// Three wrong answers, chosen deterministically: the same place with another action,
  /// another place of the flow with this action, and a plausible mix of both.
  static choices(hops: Hop[], i: number): string[] {
    const hop = hops[i];
    const right = Player.answer(hop);
    const actions = ['forward', 'dnat', 'masquerade', 'deliver', 'refuse', 'drop', 'reject', 'un-nat', 'reply'];
    const places = [...new Set(hops.map((x) => x.place))];
    const wrong: string[] = [];
    const add = (s: string) => {
      if (s !== right && !wrong.includes(s) && wrong.length < 3) wrong.push(s);
    };
    const rot = <T>(xs: T[], k: number) => xs.map((_, j) => xs[(j + k) % xs.length]);
    for (const a of rot(actions, i)) if (a !== hop.action) { add(`${hop.place}: ${a}`); break; }
    for (const p of rot(places, i + 1)) if (p !== hop.place) { add(`${p}: ${hop.action}`); break; }
    for (const p of rot(places, i + 2)) {
      for (const a of rot(actions, i + 3)) add(`${p}: ${a}`);
      if (wrong.length >= 3) break;
    }
    const all = [...wrong];
    all.splice(i % (wrong.length + 1), 0, right);
    return all;
  }

  private ask(): void {
    const i = this.step;
    const hop = this.hops[i];
    if (!hop) return;
    const q = this.v.quiz;
    q.hidden = false;
    q.replaceChildren(
      h('p', {}, h('strong', { text: `Hop ${i + 1} of ${this.hops.length}: ` }), 'where does it happen, and what happens?'),
    );
    const row = h('div', { class: 'choices', role: 'group', 'aria-label': 'Your prediction' });
    for (const c of Player.choices(this.hops, i)) {
      const b = h('button', { type: 'button', class: 'choice', text: c });
      b.addEventListener('click', () => this.judge(c));
      row.append(b);
    }
    q.append(row);
    (row.firstElementChild as HTMLElement | null)?.focus();
  }

  private judge(choice: string): void {
    const i = this.step;
    const hop = this.hops[i];
    const right = Player.answer(hop);
    this.answered.add(i);
    this.score.asked++;
    const ok = choice === right;
    if (ok) this.score.right++;
    this.step++;
    this.render(true);
    const q = this.v.quiz;
    q.hidden = false;
    q.replaceChildren(
      h('p', {},
        h('span', { class: ok ? 'right' : 'wrong', text: ok ? 'Right: ' : 'Not quite: ' }),
        ok ? hop.detail : `it was ${right}. ${hop.detail}`),
      h('p', { class: 'score', text: `${this.score.right} of ${this.score.asked} predicted${this.done ? ' — the flow is complete' : ''}` }),
    );
    if (!this.done) {
      const next = h('button', { type: 'button', class: 'primary', text: 'Next hop' });
      next.addEventListener('click', () => this.forward());
      q.append(next);
      next.focus();
    }
  }

  render(animate: boolean): void {
    const hops = this.hops;
    if (!this.challenge) this.v.quiz.hidden = true;
    this.v.label.textContent = hops.length
      ? `hop ${this.step} of ${hops.length}${this.challenge ? ` · ${this.score.right}/${this.score.asked} predicted` : ''}`
      : '';
    const body = this.v.table;
    body.replaceChildren();
    hops.slice(0, this.step).forEach((hop, i) => {
      const tr = h('tr', { class: i === this.step - 1 ? 'current' : undefined, 'data-action': hop.action });
      tr.append(h('td', { text: String(i + 1) }));
      tr.append(h('td', { class: 'mono', text: micros(hop.at) }));
      tr.append(h('td', { text: hop.place }));
      tr.append(h('td', { class: FAILED.has(hop.action) ? 'outcome refused' : hop.action === 'deliver' ? 'outcome delivered' : undefined, text: hop.action }));
      // The packet as it leaves this hop; a rewrite shows before ⇒ after instead.
      const packet = h('td', { class: hop.nat ? 'mono nat' : 'mono' });
      if (hop.nat) {
        const n = hop.nat;
        const changed = { src: n.before.src !== n.after.src, dst: n.before.dst !== n.after.dst };
        packet.append(h('strong', { text: `${n.kind} ` }), tupleCell(n.before, changed), h('br'), '⇒ ', tupleCell(n.after, changed));
      } else {
        packet.append(tupleCell(hop.packet), ` ${hop.packet.protocol}`);
      }
      tr.append(packet);
      body.append(tr);
      // The hop's story on a row of its own, under it: the table stays narrow enough for
      // the panel.
      const detail = h('td', { colspan: 4, class: 'detail', text: hop.detail });
      const line = lineOf(hop.source?.at);
      if (line !== null) {
        const b = h('button', { type: 'button', class: 'src-link', title: `${hop.source?.field} at ${hop.source?.at}`, text: `line ${line}` });
        b.addEventListener('click', () => this.v.onGoto(line));
        detail.append(' ', b);
      }
      if (hop.rules?.length) {
        detail.title = hop.rules.map((r) => `${r.table} ${r.chain}: ${r.rule}`).join('\n');
      }
      body.append(h('tr', { class: i === this.step - 1 ? 'detail current' : 'detail' }, h('td'), detail));
    });
    body.lastElementChild?.scrollIntoView?.({ block: 'nearest' });
    this.v.onStep(hops, this.step, animate);
  }
}
