// The simulator's thread: sim-web's WebAssembly module runs here, so typing never waits for
// a simulation. One request at a time; the page drops answers it no longer wants.
import init, { fixes, sandbox, version } from './pkg/sim_web.js';
import type { Request, Response } from './types';

const NAME = 'scenario.yaml';
const post = (r: Response) => (self as unknown as Worker).postMessage(r);

const ready = init().then(
  () => post({ id: 0, kind: 'ready', version: version() }),
  (e: unknown) => post({ id: 0, kind: 'error', message: `could not load the simulator: ${String(e)}` }),
);

self.onmessage = async (ev: MessageEvent<Request>) => {
  await ready;
  const r = ev.data;
  const t0 = performance.now();
  try {
    if (r.kind === 'sandbox') {
      const json = sandbox(NAME, r.text, r.seed || null, r.mode || null);
      post({ id: r.id, kind: 'sandbox', json, ms: performance.now() - t0 });
    } else {
      const json = fixes(NAME, r.text, r.seed || null, r.mode || null, r.traffic, r.index);
      post({ id: r.id, kind: 'fixes', json, ms: performance.now() - t0 });
    }
  } catch (e) {
    post({ id: r.id, kind: 'error', message: e instanceof Error ? e.message : String(e) });
  }
};
