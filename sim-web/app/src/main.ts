// simctl's browser sandbox. The editor's text goes to sim-core (WebAssembly, in a worker) a
// moment after each edit; what comes back (diagnostics, topology, flows with their hops,
// explanations, expectations) is drawn here. Everything user-written reaches the DOM as
// text, never as HTML (src/dom.ts).
import './style.css';
import { compressToEncodedURIComponent, decompressFromEncodedURIComponent } from 'lz-string';
import { $, h, prose } from './dom';
import { createEditor } from './editor';
import { createGraph } from './graph';
import { Player, lineOf } from './player';
import { EXAMPLES, LESSONS, MISCONFIGURED, findShipped, type Shipped } from './scenarios';
import type { Ask, Diagnostic, Explanation, Fix, Flow, Request, Response, Sandbox } from './types';

// ---- The simulator's worker ------------------------------------------------------------

let worker: Worker;
let nextId = 1;
const waiting = new Map<number, (r: Response) => void>();
let onReady: (version: string) => void = () => {};

function startWorker(): void {
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (ev: MessageEvent<Response>) => {
    const r = ev.data;
    if (r.kind === 'ready') return onReady(r.version);
    if (r.id === 0 && r.kind === 'error') return fail(r.message);
    const k = waiting.get(r.id);
    waiting.delete(r.id);
    k?.(r);
  };
  worker.onerror = (ev) => fail(`the simulator stopped: ${ev.message}`);
}

function ask(req: Ask): Promise<Response> {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, (r) => {
      // A panic leaves a WebAssembly instance unusable: start a fresh one, and answer what
      // the old one still owed.
      if (r.kind === 'error' && /unreachable|RuntimeError|panicked/.test(r.message)) {
        const owed = [...waiting];
        waiting.clear();
        worker.terminate();
        startWorker();
        for (const [id, k] of owed) k({ id, kind: 'error', message: 'the simulator restarted' });
      }
      resolve(r);
    });
    worker.postMessage({ ...req, id } as Request);
  });
}

// ---- State ----------------------------------------------------------------------------

const layout = document.querySelector('.layout') as HTMLElement;
const status = $('status');
const seedInput = $('seed') as HTMLInputElement;
const modeSelect = $('mode') as HTMLSelectElement;
let doc: Sandbox | null = null;
let current: Shipped | null = null;
let selected: { traffic: string; index: number } | null = null;
let runs = 0;
let editAt: number | null = null;
let debounce: number | null = null;
let generation = 0;

/// One edit's way to the screen: `debounceMs` waiting for typing to pause, `simMs` in the
/// worker (check, simulate, explain, lint: `sandbox()`), `drawMs` from the answer to the
/// next painted frame, `totalMs` from the keystroke to that frame (messaging included).
interface Timing { lesson: string | null; debounceMs: number; simMs: number; drawMs: number; totalMs: number }
const timings: Timing[] = [];
const fixTimings: number[] = [];
// For the browser tests and the curious: how many runs were drawn, how long each took, and
// how long each search for proven fixes took in the worker.
(window as unknown as { __simctl: unknown }).__simctl = { timings, fixTimings, runs: () => runs, doc: () => doc };

function fail(message: string): void {
  status.textContent = message;
  status.classList.add('bad');
  console.warn(message);
}

const editor = createEditor($('editor'), () => schedule());
const graph = createGraph($('graph'));
const player = new Player({
  table: ($('hops') as HTMLTableElement).tBodies[0],
  label: $('step-label'),
  play: $('play') as HTMLButtonElement,
  quiz: $('quiz'),
  onStep: (hops, step, animate) => {
    graph.showHop(hops, step, animate);
    showExplanationIfDone();
  },
  onGoto: (line) => editor.gotoLine(line),
});

// ---- Running -------------------------------------------------------------------------

/// How long typing must pause before a simulation: long enough that a burst of keys costs
/// one run, short enough that the answer lands within 100 ms of the last key (a run takes
/// 4 to 27 ms for the lessons; see BENCHMARKS.md).
const DEBOUNCE_MS = 50;

function schedule(): void {
  editAt ??= performance.now();
  if (debounce !== null) window.clearTimeout(debounce);
  debounce = window.setTimeout(() => {
    debounce = null;
    void simulate();
  }, DEBOUNCE_MS);
}

async function simulate(): Promise<Sandbox | null> {
  const gen = ++generation;
  const started = editAt ?? performance.now();
  const sent = performance.now();
  editAt = null;
  const text = editor.text();
  const r = await ask({ kind: 'sandbox', text, seed: seedInput.value.trim(), mode: modeSelect.value });
  if (gen !== generation) return null; // a newer edit is on its way
  if (r.kind === 'error') {
    fail(r.message);
    return null;
  }
  if (r.kind !== 'sandbox') return null;
  const t0 = performance.now();
  const next = JSON.parse(r.json) as Sandbox;
  draw(next);
  // Redrawn means painted: the graph's canvas is drawn on the next animation frame.
  await new Promise<void>((k) => requestAnimationFrame(() => k()));
  const drawn = performance.now();
  runs++;
  document.body.dataset.runs = String(runs);
  timings.push({
    lesson: current?.id ?? null,
    debounceMs: sent - started,
    simMs: r.ms,
    drawMs: drawn - t0,
    totalMs: drawn - started,
  });
  if (timings.length > 200) timings.shift();
  return next;
}

// ---- Drawing -------------------------------------------------------------------------

function allDiagnostics(d: Sandbox): Diagnostic[] {
  return [...d.check.diagnostics, ...(d.run?.diagnostics ?? [])].filter(
    (x, i, xs) => xs.findIndex((y) => y.message === x.message && y.line === x.line && y.code === x.code) === i,
  );
}

function draw(d: Sandbox): void {
  doc = d;
  status.classList.remove('bad');
  const diags = allDiagnostics(d);
  // A failed flow is marked at the line that caused it, as a diagnostic would be.
  const causes: Diagnostic[] = d.explanations
    .filter((x) => x.line !== null)
    .map((x) => ({
      severity: 'warning',
      code: x.reason,
      message: `${x.traffic} is ${x.outcome}: ${x.fix}`,
      field: x.cause?.field ?? null,
      file: x.file,
      line: x.line,
      column: 1,
    }));
  editor.showDiagnostics([...diags, ...causes, ...d.lint]);
  drawProblems(diags);
  drawScenarioInfo(d);
  // While the YAML is invalid the last good picture stays, faded, instead of vanishing at
  // every half-typed line.
  if (d.run) graph.draw(d);
  $('graph').classList.toggle('stale', !d.run);
  drawFlows(d);
  drawExpectations(d);
  drawLint(d);
  $('story').textContent = d.story;
  const errors = diags.filter((x) => x.severity === 'error').length;
  if (!d.valid || !d.run) {
    status.textContent = `${errors} error${errors === 1 ? '' : 's'}: nothing was simulated`;
    status.classList.add('bad');
  } else {
    const ex = d.run.expectations;
    const passed = ex.filter((e) => e.passed).length;
    status.textContent =
      `${d.run.flows.length} flows · seed ${d.run.seed} · ${d.run.proxyMode}` +
      (ex.length ? ` · ${passed} of ${ex.length} expectations pass` : '');
  }
  document.body.dataset.valid = String(d.valid);
}

function drawProblems(diags: Diagnostic[]): void {
  const box = $('problems');
  box.replaceChildren();
  for (const d of diags) {
    const where = d.line ? `line ${d.line}${d.column ? `:${d.column}` : ''}` : '';
    const b = h('button', { type: 'button', class: d.severity, text: `${d.severity}[${d.code}] ${where}  ${d.message}${d.field ? `  (${d.field})` : ''}` });
    if (d.line) {
      const line = d.line;
      b.addEventListener('click', () => editor.gotoLine(line, d.column ?? 1));
    }
    box.append(b);
  }
}

function drawScenarioInfo(d: Sandbox): void {
  const info = d.scenario;
  const box = $('lesson-info');
  const title = info?.title ?? current?.title ?? (typeof d.check.scenario === 'string' ? d.check.scenario : null);
  const description = info?.description ?? null;
  box.hidden = !title && !description;
  $('lesson-title').textContent = title ?? '';
  $('lesson-description').replaceChildren(description ? prose(description) : '');
}

/// Flows grouped by what happened to them: one line per (traffic, outcome, reason, backend).
function drawFlows(d: Sandbox): void {
  const list = $('flow-list');
  list.replaceChildren();
  const flows = d.run?.flows ?? [];
  const groups: { key: string; first: Flow; count: number }[] = [];
  for (const f of flows) {
    const key = [f.traffic, f.outcome, f.reason ?? '', backendOf(f)].join('\u0000');
    const g = groups.find((x) => x.key === key);
    if (g) g.count++;
    else groups.push({ key, first: f, count: 1 });
  }
  for (const g of groups) {
    const f = g.first;
    const b = h('button', { type: 'button', class: f.outcome, 'aria-pressed': 'false', 'data-traffic': f.traffic, 'data-outcome': f.outcome, 'data-backend': backendOf(f) },
      h('span', { text: f.traffic }),
      h('span', { class: `outcome ${f.outcome}`, text: f.outcome }),
      f.reason ? h('span', { text: `(${f.reason})` }) : null,
      f.backend ? h('span', { text: `→ ${f.backend.pod ?? f.backend.ip}:${f.backend.port}` }) : null,
      h('span', { class: 'n', text: g.count > 1 ? `×${g.count}` : '' }),
    );
    b.addEventListener('click', () => choose(f));
    list.append(h('li', {}, b));
  }
  if (!flows.length) {
    list.append(h('li', { text: d.run ? 'No flows: the scenario sends no traffic.' : 'Fix the errors to simulate.' }));
  }
  // Keep the chosen flow across edits when it still exists; otherwise choose the first
  // failed one (the one a learner came for), or the first.
  const again = selected ? flows.find((f) => f.traffic === selected!.traffic && f.index === selected!.index) : undefined;
  const pick = again ?? flows.find((f) => f.outcome !== 'delivered') ?? flows[0];
  if (pick) choose(pick, again !== undefined ? player.step : undefined);
  else {
    $('player').hidden = true;
    graph.clearPath();
    selected = null;
  }
}

function choose(f: Flow, step?: number): void {
  selected = { traffic: f.traffic, index: f.index };
  for (const b of $('flow-list').querySelectorAll('button')) {
    b.setAttribute('aria-pressed', b === findFlowButton(f) ? 'true' : 'false');
  }
  $('player').hidden = false;
  fixesFor = null;
  player.load(f, step === undefined ? undefined : Math.min(step, f.hops.length));
}

function backendOf(f: Flow): string {
  return f.backend?.pod ?? f.backend?.ip ?? '';
}

function findFlowButton(f: Flow): Element | null {
  for (const b of $('flow-list').querySelectorAll('button')) {
    if (
      b.getAttribute('data-traffic') === f.traffic &&
      b.getAttribute('data-outcome') === f.outcome &&
      b.getAttribute('data-backend') === backendOf(f)
    ) {
      return b;
    }
  }
  return null;
}

// ---- Explanations and fixes ----------------------------------------------------------

let fixesFor: string | null = null;

function explanationFor(f: Flow): Explanation | null {
  if (!doc || f.outcome === 'delivered') return null;
  return (
    doc.explanations.find((x) => x.traffic === f.traffic && x.index === f.index) ??
    doc.explanations.find((x) => x.traffic === f.traffic && x.reason === f.reason) ??
    null
  );
}

function showExplanationIfDone(): void {
  const box = $('explanation');
  const f = player.flow;
  const x = f ? explanationFor(f) : null;
  // In challenge mode the explanation waits for the last hop: it would give the answers away.
  if (!f || !x || (player.challenge && !player.done)) {
    box.hidden = true;
    return;
  }
  const key = `${x.traffic}#${x.index}#${editor.text().length}`;
  if (fixesFor === key && !box.hidden) return;
  fixesFor = key;
  box.hidden = false;
  box.replaceChildren(
    h('h3', { text: `Why ${x.traffic} was ${x.outcome} (${x.reason})` }),
    h('p', {}, h('strong', { text: 'Where: ' }), x.where),
    h('p', {}, h('strong', { text: 'What: ' }), x.what),
  );
  if (x.cause) {
    const line = x.line ?? lineOf(x.cause.at);
    const p = h('p', {}, h('strong', { text: 'Cause: ' }), `${x.cause.object}, ${x.cause.field}${x.cause.at ? ` at ${x.cause.at}` : ''} `);
    if (line !== null) {
      const b = h('button', { type: 'button', id: 'goto-cause', text: `Go to line ${line}` });
      b.addEventListener('click', () => editor.gotoLine(line));
      p.append(b);
    }
    box.append(p);
  }
  for (const n of x.nearMisses ?? []) box.append(h('p', {}, h('strong', { text: 'Near miss: ' }), n));
  box.append(h('p', {}, h('strong', { text: 'Fix: ' }), x.fix));
  const fixes = h('div', { id: 'fixes', 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Looking for edits that fix it…' }));
  box.append(fixes);
  void loadFixes(x, fixes, key);
}

async function loadFixes(x: Explanation, box: HTMLElement, key: string): Promise<void> {
  // The search simulates up to 64 candidate edits: wait until typing pauses, so that it
  // never holds up the simulation of the next keystroke.
  const gen = generation;
  await new Promise((k) => window.setTimeout(k, 400));
  if (gen !== generation || debounce !== null || fixesFor !== key) return;
  const text = editor.text();
  const r = await ask({ kind: 'fixes', text, seed: seedInput.value.trim(), mode: modeSelect.value, traffic: x.traffic, index: x.index });
  if (fixesFor !== key || editor.text() !== text) return;
  if (r.kind !== 'fixes') {
    box.replaceChildren(h('p', { text: r.kind === 'error' ? r.message : '' }));
    return;
  }
  fixTimings.push(r.ms);
  const fixes = JSON.parse(r.json) as Fix[];
  box.replaceChildren();
  if (!fixes.length) {
    box.append(h('p', { text: 'No one-field edit was proven to fix it: the fix above says what to change.' }));
    return;
  }
  for (const fx of fixes) {
    const apply = h('button', { type: 'button', class: 'primary apply-fix', text: 'Apply' });
    apply.addEventListener('click', () => {
      editor.replaceMinimal(fx.text);
      editor.gotoLine(fx.edit.startLine);
    });
    const diff = h('pre', { class: 'diff' });
    for (const l of fx.diff.split('\n')) {
      if (l.startsWith('+++') || l.startsWith('---')) continue;
      diff.append(h('span', { class: l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : undefined, text: l + '\n' }));
    }
    box.append(h('div', { class: 'fix' }, h('p', {}, h('strong', { text: 'Proven fix: ' }), fx.description, ' ', apply), diff));
  }
}

// ---- Expectations, advice, lessons ---------------------------------------------------

function drawExpectations(d: Sandbox): void {
  const list = $('expectations');
  list.replaceChildren();
  const ex = d.run?.expectations ?? [];
  for (const e of ex) list.append(h('li', { class: e.passed ? 'passed' : 'failed', text: e.message }));
  if (!ex.length) list.append(h('li', { text: d.run ? 'This scenario states no expectations.' : 'Nothing was simulated.' }));
  const failing = ex.filter((e) => !e.passed).length;
  $('tab-expect').replaceChildren('Expectations ', h('span', { class: 'count', text: ex.length ? `${ex.length - failing}/${ex.length}` : '' }));
}

function drawLint(d: Sandbox): void {
  const list = $('lint');
  list.replaceChildren();
  for (const l of d.lint) {
    const li = h('li', {}, h('strong', { text: `${l.code} ` }), l.message);
    if (l.line) {
      const line = l.line;
      const b = h('button', { type: 'button', class: 'src-link', text: `line ${line}` });
      b.addEventListener('click', () => editor.gotoLine(line));
      li.append(' ', b);
    }
    list.append(li);
  }
  if (!d.lint.length) list.append(h('li', { text: 'No advice.' }));
  $('tab-lint').replaceChildren('Advice ', h('span', { class: 'count', text: d.lint.length ? String(d.lint.length) : '' }));
}

async function check(): Promise<void> {
  const out = $('check-result');
  out.className = '';
  out.textContent = 'Checking…';
  if (debounce !== null) {
    window.clearTimeout(debounce);
    debounce = null;
  }
  const d = await simulate();
  const now = d ?? doc;
  if (!now) return;
  out.replaceChildren();
  if (!now.run) {
    out.className = 'bad';
    out.textContent = 'The YAML has errors: fix them first (they are marked in the editor).';
    return;
  }
  const ex = now.run.expectations;
  const failing = ex.filter((e) => !e.passed);
  if (!ex.length) {
    out.textContent = 'This scenario states no expectations to check.';
  } else if (!failing.length) {
    out.className = 'ok';
    out.textContent = `Passed: all ${ex.length} expectation${ex.length === 1 ? '' : 's'} hold.`;
  } else {
    out.className = 'bad';
    out.append(`${failing.length} of ${ex.length} still fail${failing.length === 1 ? 's' : ''}:`);
    const ul = h('ul');
    for (const e of failing) ul.append(h('li', { text: e.message }));
    out.append(ul);
  }
}

function drawLessons(): void {
  const list = $('lesson-list');
  for (const l of LESSONS) {
    const li = h('li');
    const b = h('button', { type: 'button', class: 'lesson', 'data-id': l.lesson.id, text: l.lesson.title });
    b.addEventListener('click', () => open(l.lesson));
    li.append(b);
    if (l.exercise) {
      const ex = l.exercise;
      const e = h('button', { type: 'button', class: 'lesson exercise', 'data-id': ex.id, text: 'Exercise' });
      e.setAttribute('aria-label', `Exercise: ${ex.title}`);
      e.addEventListener('click', () => open(ex));
      li.append(e);
    }
    list.append(li);
  }
  const sel = $('example') as HTMLSelectElement;
  sel.append(h('option', { value: '', text: '—' }));
  for (const e of EXAMPLES) sel.append(h('option', { value: e.id, text: e.id === 'misconfigured' ? 'misconfigured (start here)' : e.id }));
  sel.addEventListener('change', () => {
    const s = findShipped(sel.value);
    if (s) open(s);
  });
}

function open(s: Shipped): void {
  current = s;
  selected = null;
  for (const b of $('lesson-list').querySelectorAll('button')) {
    b.setAttribute('aria-current', b.getAttribute('data-id') === s.id ? 'true' : 'false');
  }
  ($('example') as HTMLSelectElement).value = EXAMPLES.some((e) => e.id === s.id) ? s.id : '';
  $('check-result').replaceChildren();
  $('check-result').className = '';
  history.replaceState(null, '', `#open=${encodeURIComponent(s.id)}`);
  editor.setText(s.text);
}

// ---- Share links ---------------------------------------------------------------------

function shareLink(): string {
  const params = new URLSearchParams();
  params.set('s', compressToEncodedURIComponent(editor.text()));
  if (seedInput.value.trim()) params.set('seed', seedInput.value.trim());
  if (modeSelect.value) params.set('mode', modeSelect.value);
  return `${location.origin}${location.pathname}#${params.toString()}`;
}

async function share(): Promise<void> {
  const link = shareLink();
  history.replaceState(null, '', link);
  try {
    await navigator.clipboard.writeText(link);
    status.textContent = 'Link copied: it carries the whole scenario.';
  } catch {
    status.textContent = 'The link is in the address bar: it carries the whole scenario.';
  }
}

/// What the URL asks for: `#s=<lz-string>&seed=&mode=` (a shared scenario) or
/// `#open=<lesson or example id>`.
function fromLocation(): Shipped | { text: string } {
  const params = new URLSearchParams(location.hash.slice(1));
  const seed = params.get('seed');
  if (seed && /^\d+$/.test(seed)) seedInput.value = seed;
  const mode = params.get('mode');
  if (mode && ['iptables', 'ipvs', 'nftables'].includes(mode)) modeSelect.value = mode;
  const s = params.get('s');
  if (s) {
    const text = decompressFromEncodedURIComponent(s);
    if (text) return { text };
    fail('The link is damaged: its scenario could not be read.');
  }
  const id = params.get('open');
  return (id && findShipped(id)) || MISCONFIGURED;
}

// ---- Tabs and keys -------------------------------------------------------------------

function selectTab(tab: HTMLElement): void {
  for (const t of document.querySelectorAll<HTMLElement>('[role="tab"]')) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')!).hidden = !on;
  }
}

function wire(): void {
  const tabs = [...document.querySelectorAll<HTMLElement>('[role="tab"]')];
  tabs.forEach((t, i) => {
    t.tabIndex = i === 0 ? 0 : -1;
    t.addEventListener('click', () => selectTab(t));
    t.addEventListener('keydown', (e) => {
      const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (d) {
        const n = tabs[(i + d + tabs.length) % tabs.length];
        selectTab(n);
        n.focus();
        e.preventDefault();
      }
    });
  });
  $('play').addEventListener('click', () => player.toggle());
  $('step-fwd').addEventListener('click', () => player.forward());
  $('step-back').addEventListener('click', () => player.back());
  $('step-first').addEventListener('click', () => player.first());
  $('step-last').addEventListener('click', () => player.last());
  ($('challenge') as HTMLInputElement).addEventListener('change', (e) => player.setChallenge((e.target as HTMLInputElement).checked));
  $('check').addEventListener('click', () => void check());
  $('share').addEventListener('click', () => void share());
  seedInput.addEventListener('input', () => schedule());
  modeSelect.addEventListener('change', () => schedule());
  const toggle = $('lessons-toggle');
  const setLessons = (on: boolean) => {
    layout.classList.toggle('no-lessons', !on);
    toggle.setAttribute('aria-expanded', String(on));
  };
  toggle.addEventListener('click', () => setLessons(layout.classList.contains('no-lessons')));
  if (window.matchMedia('(max-width: 760px)').matches) setLessons(false);
  // The player's keys work anywhere but in a text field or the editor.
  document.addEventListener('keydown', (e) => {
    const t = e.target as HTMLElement;
    if (e.altKey && (e.key === 'l' || e.key === 'L')) {
      setLessons(layout.classList.contains('no-lessons'));
      e.preventDefault();
      return;
    }
    if (t.closest('.cm-editor, input, select, textarea, [role="tab"]') || e.ctrlKey || e.metaKey || e.altKey) return;
    const actions: Record<string, () => void> = {
      ArrowRight: () => player.forward(),
      ArrowLeft: () => player.back(),
      Home: () => player.first(),
      End: () => player.last(),
      ' ': () => player.toggle(),
    };
    const act = actions[e.key];
    if (act && player.flow && !(e.key === ' ' && t.tagName === 'BUTTON')) {
      act();
      e.preventDefault();
    }
  });
  window.addEventListener('hashchange', () => {
    const want = fromLocation();
    if ('id' in want) open(want);
    else editor.setText(want.text);
  });
}

// ---- Start ---------------------------------------------------------------------------

drawLessons();
wire();
let started = false;
onReady = (version) => {
  $('version').textContent = `simctl ${version}`;
  if (started) return; // a fresh worker after a panic: the editor keeps its text
  started = true;
  const want = fromLocation();
  if ('id' in want) open(want);
  else {
    current = null;
    editor.setText(want.text);
  }
};
startWorker();
