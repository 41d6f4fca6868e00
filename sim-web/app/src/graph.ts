// The topology, drawn with Cytoscape.js: clients and the network on the left, each node a
// box holding its pods, Services as dashed virtual boxes above, links between them. The
// layout is computed here (no force layout, no randomness): same topology, same picture.
import cytoscape, { type Core, type ElementDefinition, type NodeSingular } from 'cytoscape';
import type { Hop, Place, Sandbox } from './types';

const COLORS = {
  ink: '#1d2433',
  muted: '#5b6473',
  line: '#b8bec8',
  accent: '#2458c6',
  ok: '#1a7f37',
  bad: '#c0362c',
  drop: '#6e40c9',
};

export interface Graph {
  cy: Core;
  draw(doc: Sandbox): void;
  showHop(hops: Hop[], step: number, animate: boolean): void;
  clearPath(): void;
}

/// Long names (generated pod names, namespaces) shortened in the middle to fit a box; the
/// whole name is in the place's tooltip and in the hop table.
function shorten(label: string, max = 22): string {
  return label
    .split('\n')
    .map((l) => (l.length <= max ? l : `${l.slice(0, max - 8)}…${l.slice(-7)}`))
    .join('\n');
}

export function createGraph(container: HTMLElement): Graph {
  const cy = cytoscape({
    container,
    elements: [],
    autoungrabify: false,
    boxSelectionEnabled: false,
    wheelSensitivity: 0.3,
    minZoom: 0.2,
    maxZoom: 3,
    style: [
      {
        selector: 'node',
        style: {
          label: 'data(label)',
          'font-size': 10,
          'text-wrap': 'wrap',
          'text-valign': 'center',
          'text-halign': 'center',
          color: COLORS.ink,
          'background-color': '#ffffff',
          'border-width': 1.5,
          'border-color': COLORS.line,
          shape: 'round-rectangle',
          width: 118,
          height: 38,
        },
      },
      {
        selector: 'node[kind = "node"]',
        style: {
          'text-valign': 'top',
          'text-halign': 'center',
          'font-weight': 'bold',
          'background-color': '#f1f4f9',
          'border-color': '#8c97a8',
          padding: '14px',
        },
      },
      { selector: 'node[kind = "pod"]', style: { 'background-color': '#e9f3ec', 'border-color': '#7fb08c' } },
      { selector: 'node[kind = "pod"][?down]', style: { 'background-color': '#f2f2f2', 'border-color': '#aaaaaa', 'border-style': 'dashed', color: COLORS.muted } },
      { selector: 'node[kind = "client"]', style: { shape: 'ellipse', 'background-color': '#eef2fb', 'border-color': '#8aa2d8', width: 110 } },
      { selector: 'node[kind = "internet"]', style: { shape: 'ellipse', 'border-style': 'dashed', width: 96, height: 48, color: COLORS.muted } },
      { selector: 'node[kind = "loadbalancer"]', style: { shape: 'round-tag', 'background-color': '#fdf5e6', 'border-color': '#c99a3b', width: 120 } },
      { selector: 'node[kind = "external"]', style: { 'border-style': 'dashed', color: COLORS.muted } },
      { selector: 'node[kind = "service"]', style: { 'border-style': 'dashed', 'border-color': COLORS.accent, 'background-color': '#f6f8fe', width: 124 } },
      { selector: 'node[kind = "node"][?down]', style: { 'border-color': COLORS.bad, 'border-style': 'dashed' } },
      {
        selector: 'edge',
        style: { width: 1.2, 'line-color': '#d0d4db', 'curve-style': 'bezier' },
      },
      { selector: 'edge[kind = "endpoint"]', style: { 'line-style': 'dashed', 'line-color': '#9db3e6', 'target-arrow-shape': 'triangle', 'target-arrow-color': '#9db3e6', 'arrow-scale': 0.7 } },
      // A pod is drawn inside its node: the veth between them would be a loop.
      { selector: 'edge[kind = "veth"]', style: { display: 'none' } },
      { selector: '.here', style: { 'border-width': 3.5, 'border-color': COLORS.accent, 'background-color': '#fff6d6' } },
      { selector: '.visited', style: { 'border-color': COLORS.accent } },
      { selector: 'node.service-hit', style: { 'border-width': 3, 'border-style': 'solid' } },
      { selector: 'edge.path', style: { width: 3.5, 'line-color': COLORS.accent, 'z-index': 9 } },
      { selector: '.failed', style: { 'border-color': COLORS.bad, 'border-width': 3.5 } },
      { selector: '.delivered', style: { 'border-color': COLORS.ok, 'border-width': 3.5 } },
      {
        selector: 'node.packet',
        style: {
          shape: 'ellipse',
          width: 14,
          height: 14,
          label: '',
          'background-color': '#f0a400',
          'border-color': '#8a5d00',
          'border-width': 1.5,
          'z-index': 99,
          events: 'no',
        },
      },
    ],
    layout: { name: 'preset' },
  });

  let drawnKey = '';
  let positions = new Map<string, { x: number; y: number }>();

  function layout(places: Place[]): Map<string, { x: number; y: number }> {
    const pos = new Map<string, { x: number; y: number }>();
    const nodes = places.filter((p) => p.kind === 'node');
    const byParent = new Map<string, Place[]>();
    for (const p of places) {
      if (p.kind === 'pod' && p.parent) {
        const list = byParent.get(p.parent) ?? [];
        list.push(p);
        byParent.set(p.parent, list);
      }
    }
    const COL = 190;
    const ROW = 58;
    const left = places.filter((p) => p.kind === 'client');
    const x0 = 0;
    const xNet = 170;
    const xNodes = 380;
    const tallest = Math.max(1, ...nodes.map((n) => (byParent.get(n.id) ?? []).length));
    const mid = ((tallest - 1) * ROW) / 2;
    left.forEach((c, i) => pos.set(c.id, { x: x0, y: mid + (i - (left.length - 1) / 2) * 70 }));
    for (const p of places) {
      if (p.kind === 'internet') pos.set(p.id, { x: xNet, y: mid });
      if (p.kind === 'loadbalancer') pos.set(p.id, { x: xNet, y: mid + 110 });
      if (p.kind === 'external') pos.set(p.id, { x: xNet, y: mid - 110 });
    }
    nodes.forEach((n, i) => {
      const pods = byParent.get(n.id) ?? [];
      const x = xNodes + i * COL;
      if (pods.length === 0) pos.set(n.id, { x, y: mid });
      pods.forEach((p, j) => pos.set(p.id, { x, y: j * ROW }));
    });
    const services = places.filter((p) => p.kind === 'service');
    const span = Math.max(nodes.length, 2) * COL;
    services.forEach((s, i) => {
      const perRow = Math.max(1, Math.floor(span / 140));
      const row = Math.floor(i / perRow);
      const col = i % perRow;
      pos.set(s.id, { x: xNodes + col * 140, y: -110 - row * 56 });
    });
    // Anything else (unknown kinds): a row below.
    let extra = 0;
    for (const p of places) {
      if (!pos.has(p.id) && !(p.kind === 'node' && (byParent.get(p.id) ?? []).length > 0)) {
        pos.set(p.id, { x: x0 + extra++ * 140, y: tallest * ROW + 80 });
      }
    }
    return pos;
  }

  function draw(doc: Sandbox): void {
    const { places, links } = doc.topology;
    const key = JSON.stringify(doc.topology);
    if (key === drawnKey) return;
    drawnKey = key;
    positions = layout(places);
    const els: ElementDefinition[] = [];
    for (const p of places) {
      els.push({
        group: 'nodes',
        data: {
          id: p.id,
          parent: p.kind === 'pod' && p.parent ? p.parent : undefined,
          label: shorten(p.label),
          kind: p.kind,
          down: !p.up,
          detail: p.detail.join('\n'),
        },
        position: positions.get(p.id) ?? { x: 0, y: 0 },
      });
    }
    const ids = new Set(places.map((p) => p.id));
    links.forEach((l, i) => {
      if (!ids.has(l.from) || !ids.has(l.to)) return;
      els.push({ group: 'edges', data: { id: `link-${i}`, source: l.from, target: l.to, kind: l.kind } });
    });
    cy.batch(() => {
      cy.elements().remove();
      cy.add(els);
    });
    cy.fit(undefined, 24);
    container.dataset.places = String(places.length);
  }

  function edgeBetween(a: string, b: string) {
    return cy.edges().filter((e) => {
      const s = e.source().id();
      const t = e.target().id();
      return (s === a && t === b) || (s === b && t === a);
    });
  }

  function clearPath(): void {
    cy.$('.packet').remove();
    cy.elements().removeClass('here visited path service-hit failed delivered');
  }

  function showHop(hops: Hop[], step: number, animate: boolean): void {
    clearPath();
    if (step <= 0 || hops.length === 0) return;
    const shown = hops.slice(0, step);
    let prev: string | null = null;
    for (const hop of shown) {
      const n = cy.getElementById(hop.place);
      if (n.nonempty()) n.addClass('visited');
      if (prev && prev !== hop.place) {
        const direct = edgeBetween(prev, hop.place);
        if (direct.nonempty()) direct.addClass('path');
        else {
          // Clients and nodes meet through the network between them.
          edgeBetween(prev, 'the network').addClass('path');
          edgeBetween('the network', hop.place).addClass('path');
        }
      }
      // A pod sits in its node: the hop from node to pod is the veth; from another node's
      // pod, the hop is node to node (drawn by the node ids the table names too).
      const svc = /Service ([a-z0-9.-]+)\/([a-z0-9.-]+)/.exec(hop.detail);
      if (svc) cy.getElementById(`svc/${svc[1]}/${svc[2]}`).addClass('service-hit');
      prev = hop.place;
    }
    const cur = shown[shown.length - 1];
    const here = cy.getElementById(cur.place);
    if (here.nonempty()) {
      here.addClass('here');
      if (step === hops.length) {
        const last = cur.action;
        if (['deliver', 'accept'].includes(last)) here.addClass('delivered');
        else if (['refuse', 'drop', 'reject', 'timeout'].includes(last)) here.addClass('failed');
      }
      const to = (here as NodeSingular).position();
      const from = shown.length > 1 ? cy.getElementById(shown[shown.length - 2].place) : here;
      const start = from.nonempty() ? (from as NodeSingular).position() : to;
      const packet = cy.add({ group: 'nodes', data: { id: '__packet' }, classes: 'packet', position: { ...start } });
      if (animate && (start.x !== to.x || start.y !== to.y)) {
        packet.animate({ position: { ...to } }, { duration: 380, easing: 'ease-in-out-sine' });
      } else {
        packet.position({ ...to });
      }
    }
  }

  // Hovering or focusing a place shows its detail in the container's title (a tooltip
  // without HTML).
  cy.on('mouseover', 'node', (ev) => {
    const d = ev.target.data('detail') as string | undefined;
    container.title = d ? `${ev.target.id()}\n${d}` : ev.target.id();
  });
  cy.on('mouseout', 'node', () => {
    container.title = '';
  });

  new ResizeObserver(() => {
    cy.resize();
    cy.fit(undefined, 24);
  }).observe(container);

  return { cy, draw, showHop, clearPath };
}
