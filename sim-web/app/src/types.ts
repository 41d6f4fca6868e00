// The documents sim-web's WebAssembly module returns (see sim-web/src/sandbox.rs and
// docs/web.md). `run` is byte for byte what `simctl run --output json` prints.

export interface Diagnostic {
  severity: 'error' | 'warning' | 'note' | 'help' | string;
  code: string;
  message: string;
  field: string | null;
  file: string | null;
  line: number | null;
  column: number | null;
  help?: string | null;
  [extra: string]: unknown;
}

export interface Tuple {
  protocol: string;
  src: string;
  dst: string;
}

export interface Hop {
  node: string | null;
  place: string;
  at: number;
  action: string;
  packet: Tuple;
  detail: string;
  nat?: { kind: string; before: Tuple; after: Tuple };
  rules?: { table: string; chain: string; rule: string }[];
  source?: { field: string; at: string };
}

export interface Flow {
  traffic: string;
  index: number;
  protocol: string;
  src: { ip: string; port: number };
  dst: { ip: string; port: number };
  outcome: string;
  reason: string | null;
  backend?: { pod?: string | null; ip: string; port: number; node?: string | null } | null;
  hops: Hop[];
  [extra: string]: unknown;
}

export interface RunDoc {
  seed: number;
  proxyMode: string;
  diagnostics: Diagnostic[];
  services: unknown[];
  flows: Flow[];
  expectations: { passed: boolean; message: string }[];
}

export interface Place {
  id: string;
  kind: 'internet' | 'loadbalancer' | 'external' | 'client' | 'node' | 'pod' | 'service' | string;
  label: string;
  parent: string | null;
  ip: string | null;
  up: boolean;
  detail: string[];
}

export interface Link {
  from: string;
  to: string;
  kind: 'network' | 'veth' | 'endpoint' | string;
}

export interface Explanation {
  traffic: string;
  index: number;
  outcome: string;
  reason: string;
  hop: number | null;
  where: string;
  what: string;
  fix: string;
  summary: string;
  cause?: { object: string; field: string; at: string | null } | null;
  nearMisses?: string[];
  line: number | null;
  file: string | null;
  [extra: string]: unknown;
}

export interface ScenarioInfo {
  name: string | null;
  title: string | null;
  description: string | null;
  seed: number | null;
}

export interface Sandbox {
  version: string;
  valid: boolean;
  check: { valid: boolean; diagnostics: Diagnostic[]; objects: unknown[]; scenario: unknown };
  run: RunDoc | null;
  lint: Diagnostic[];
  story: string;
  topology: { places: Place[]; links: Link[] };
  explanations: Explanation[];
  scenario?: ScenarioInfo | null;
}

export interface Fix {
  description: string;
  diff: string;
  edit: { startLine: number; removeLines: number; lines: string[] };
  text: string;
}

// Messages between the page and its worker (src/worker.ts).
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type Ask = DistributiveOmit<Request, 'id'>;
export type Request =
  | { id: number; kind: 'sandbox'; text: string; seed: string; mode: string }
  | { id: number; kind: 'fixes'; text: string; seed: string; mode: string; traffic: string; index: number };

export type Response =
  | { id: number; kind: 'ready'; version: string }
  | { id: number; kind: 'sandbox'; json: string; ms: number }
  | { id: number; kind: 'fixes'; json: string; ms: number }
  | { id: number; kind: 'error'; message: string };
