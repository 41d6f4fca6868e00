// The browser sandbox, driven in Debian's Chromium through playwright-core.
//
//   node sim-web/app/tests/browser.mjs URL SCREENSHOT_DIR [TEST...]
//
// URL is the page as `simctl serve` serves it. Runs each test in a fresh page (one browser,
// fresh profile, no network but the page's origin), writes a screenshot of each state under
// SCREENSHOT_DIR, and prints one JSON line last: {"test": {"ok": bool, "error"?: str}, ...,
// "lessonTimings": [...]}. tests/browser.rs runs it and turns each entry into a cargo test.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lz from 'lz-string';

const [url, shots, ...only] = process.argv.slice(2);
if (!url || !shots) {
  console.error('usage: browser.mjs URL SCREENSHOT_DIR [TEST...]');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const origin = new URL(url).origin;

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// playwright-core's launch() gives Chromium a fresh, empty profile directory of its own
// (it refuses --user-data-dir) and deletes it on close.

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/// Wait until the page has drawn more than `n` runs; returns the new count.
async function runsAfter(page, n, timeout = 20000) {
  await page.waitForFunction((k) => Number(document.body.dataset.runs ?? 0) > k, n, { timeout });
  return Number(await page.evaluate(() => document.body.dataset.runs));
}
const runsNow = (page) => page.evaluate(() => Number(document.body.dataset.runs ?? 0));

async function flowButton(page, traffic) {
  return page.locator(`#flow-list button[data-traffic="${traffic}"]`).first();
}

async function outcomeOf(page, traffic) {
  return (await flowButton(page, traffic)).getAttribute('data-outcome');
}

/// Replace the text of the editor's line `line` (1-based), after its indentation, by
/// typing, as a learner would.
async function retypeLine(page, line, text) {
  await page.evaluate(() => document.querySelector('.cm-content').focus());
  // Ctrl+Home, then down to the line; End, then Shift+Home selects the line's text after
  // its indentation (CodeMirror's Home stops there); type over it.
  await page.keyboard.press('Control+Home');
  for (let i = 1; i < line; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('End');
  await page.keyboard.press('Shift+Home');
  await page.keyboard.type(text);
}

const tests = {
  // The main story: the misconfigured example fails, its hops are stepped through, the
  // targetPort is fixed in the editor and the flow is delivered.
  async misconfigured(page) {
    await page.goto(url);
    await runsAfter(page, 0);
    await page.screenshot({ path: join(shots, '01-misconfigured-loaded.png') });
    assert((await outcomeOf(page, 'laptop-to-web')) === 'refused', 'laptop-to-web is not refused at first');
    assert(Number(await page.locator('#graph').getAttribute('data-places')) >= 5, 'the topology has too few places');
    await (await flowButton(page, 'laptop-to-web')).click();
    assert((await page.locator('#step-label').textContent()).startsWith('hop 1 of '), 'the player does not start at hop 1');
    const total = Number((await page.locator('#step-label').textContent()).split(' of ')[1]);
    for (let i = 1; i < total; i++) await page.click('#step-fwd');
    assert((await page.locator('#step-label').textContent()) === `hop ${total} of ${total}`, 'stepping did not reach the last hop');
    const dnat = page.locator('#hops tbody tr[data-action="dnat"]').first();
    const natText = await dnat.locator('td.nat').textContent();
    assert(natText.includes('DNAT') && natText.includes('30080') && natText.includes('10.244.'), `the DNAT hop shows no rewrite: ${natText}`);
    const masq = await page.locator('#hops tbody tr[data-action="masquerade"] td.nat').first().textContent();
    // To the node's address, or its bridge's (the podCIDR's first) when the endpoint is local.
    assert(masq.includes('MASQUERADE') && /⇒ (172\.18\.0\.\d+|10\.244\.\d+\.1):/.test(masq), `the SNAT to the node is not shown: ${masq}`);
    assert(await page.locator('#hops tbody tr[data-action="refuse"]').count() >= 1, 'no refuse hop');
    await page.click('#step-back');
    assert((await page.locator('#step-label').textContent()) === `hop ${total - 1} of ${total}`, 'stepping back failed');
    await page.click('#step-last');
    await page.screenshot({ path: join(shots, '02-misconfigured-hops.png') });
    // The explanation names the line; its button jumps there.
    await page.waitForSelector('#explanation:not([hidden]) #goto-cause');
    const why = await page.locator('#explanation').textContent();
    assert(why.includes('targetPort'), `the explanation does not name targetPort: ${why}`);
    await page.click('#goto-cause');
    const active = await page.locator('.cm-activeLine').first().textContent();
    assert(active.includes('targetPort: 8080'), `jumped to the wrong line: ${active}`);
    await page.waitForSelector('#fixes .apply-fix');
    await page.screenshot({ path: join(shots, '03-misconfigured-explained.png') });
    // Fix it by typing, as a learner would.
    const line = Number((await page.locator('#goto-cause').textContent()).replace(/\D+/g, ''));
    // Half-typed YAML: the picture stays, faded, and comes back when the YAML is valid.
    let before = await runsNow(page);
    await retypeLine(page, line, 'targetPort: [');
    before = await runsAfter(page, before);
    assert((await page.locator('body').getAttribute('data-valid')) === 'false', 'half-typed YAML is not invalid');
    assert(await page.locator('#graph.stale').count() === 1, 'the last picture is not kept, faded');
    assert(Number(await page.locator('#graph').getAttribute('data-places')) >= 5, 'the last picture is gone');
    await retypeLine(page, line, 'targetPort: 80');
    await runsAfter(page, before);
    await page.waitForFunction(() => document.querySelector('#flow-list button[data-traffic="laptop-to-web"]')?.getAttribute('data-outcome') === 'delivered');
    await (await flowButton(page, 'laptop-to-web')).click();
    await page.click('#step-last');
    assert(await page.locator('#hops tbody tr[data-action="deliver"]').count() >= 1, 'the fixed flow has no deliver hop');
    await page.screenshot({ path: join(shots, '04-misconfigured-fixed.png') });
  },

  // A proven fix applied with one click.
  async apply_fix(page, report) {
    await page.goto(url);
    await runsAfter(page, 0);
    await (await flowButton(page, 'laptop-to-api')).click();
    await page.click('#step-last');
    await page.waitForSelector('#fixes .apply-fix');
    report.fixSearchMs = await page.evaluate(() => window.__simctl.fixTimings.at(-1));
    const before = await runsNow(page);
    await page.locator('#fixes .apply-fix').first().click();
    await runsAfter(page, before);
    await page.waitForFunction(() => document.querySelector('#flow-list button[data-traffic="laptop-to-api"]')?.getAttribute('data-outcome') === 'delivered');
    const text = await page.evaluate(() => document.querySelector('.cm-content').textContent);
    assert(text.includes('app: api-server'), 'the applied fix is not in the editor');
  },

  // A lesson from the sidebar passes its Check; its exercise says what still fails.
  async lesson(page) {
    await page.goto(url);
    await runsAfter(page, 0);
    let n = await runsNow(page);
    await page.click('#lesson-list button[data-id="02-targetport"]');
    n = await runsAfter(page, n);
    const title = await page.locator('#lesson-title').textContent();
    assert(title.includes('port and targetPort'), `lesson title: ${title}`);
    assert((await page.locator('#lesson-description').textContent()).includes('targetPort'), 'no lesson description');
    await page.click('#check');
    await page.waitForSelector('#check-result.ok');
    assert((await page.locator('#check-result').textContent()).startsWith('Passed'), 'the lesson does not pass its Check');
    await page.screenshot({ path: join(shots, '05-lesson-check.png') });
    await page.click('#lesson-list button[data-id="02-targetport.exercise"]');
    await runsAfter(page, n);
    await page.click('#check');
    await page.waitForSelector('#check-result.bad');
    const says = await page.locator('#check-result').textContent();
    assert(says.includes('still fail') && says.includes('client-to-greeter'), `the exercise's Check: ${says}`);
  },

  // Challenge mode: predict each hop before it is revealed.
  async challenge(page) {
    await page.goto(url);
    await runsAfter(page, 0);
    await (await flowButton(page, 'laptop-to-web')).click();
    await page.check('#challenge');
    assert((await page.locator('#step-label').textContent()).startsWith('hop 0 of'), 'challenge does not start before hop 1');
    await page.click('#step-fwd');
    await page.waitForSelector('#quiz:not([hidden]) .choice');
    assert((await page.locator('#quiz .choice').count()) === 4, 'not four choices');
    const first = await page.evaluate(() => {
      const d = window.__simctl.doc();
      const f = d.run.flows.find((x) => x.traffic === 'laptop-to-web');
      return `${f.hops[0].place}: ${f.hops[0].action}`;
    });
    await page.locator('#quiz .choice', { hasText: first }).click();
    await page.waitForSelector('#quiz .right');
    assert((await page.locator('#step-label').textContent()).includes('1/1 predicted'), 'the right answer is not counted');
    await page.click('#quiz button.primary');
    const second = await page.evaluate(() => {
      const d = window.__simctl.doc();
      const f = d.run.flows.find((x) => x.traffic === 'laptop-to-web');
      return `${f.hops[1].place}: ${f.hops[1].action}`;
    });
    const wrong = page.locator('#quiz .choice').filter({ hasNotText: second }).first();
    await wrong.click();
    await page.waitForSelector('#quiz .wrong');
    assert((await page.locator('#quiz').textContent()).includes(`it was ${second}`), 'the wrong answer is not corrected');
    assert(await page.locator('#explanation').isHidden(), 'the explanation gives the answers away mid-challenge');
    await page.screenshot({ path: join(shots, '06-challenge.png') });
  },

  // The share link carries the scenario, the seed and the mode.
  async share(page) {
    await page.goto(url);
    let n = await runsAfter(page, 0);
    await page.fill('#seed', '42');
    n = await runsAfter(page, n);
    await page.selectOption('#mode', 'ipvs');
    await runsAfter(page, n);
    await retypeLine(page, 1, '# shared with a friend');
    await page.click('#share');
    await page.waitForFunction(() => location.hash.startsWith('#s='));
    const link = await page.evaluate(() => location.href);
    const other = await page.context().newPage();
    await other.goto(link);
    await runsAfter(other, 0);
    const text = await other.evaluate(() => document.querySelector('.cm-content').textContent);
    assert(text.startsWith('# shared with a friend'), 'the shared link lost the edit');
    assert((await other.inputValue('#seed')) === '42', 'the shared link lost the seed');
    assert((await other.locator('#status').textContent()).includes('seed 42 · ipvs'), 'the shared run is not seed 42 in ipvs');
    await other.close();
  },

  // A scenario that carries HTML shows it as text.
  async xss(page) {
    const evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
    const scenario = [
      'apiVersion: simctl/v1alpha1',
      'kind: Scenario',
      'metadata:',
      '  name: demo',
      'spec:',
      `  title: '${evil}'`,
      '  description: |',
      `    ${evil} and **bold** <b>not bold</b>`,
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      `  name: '${evil}'`,
      'spec:',
      '  ports: [{port: 80}]',
      '',
    ].join('\n');
    await page.goto(`${url}#s=${lz.compressToEncodedURIComponent(scenario)}`);
    await runsAfter(page, 0);
    const title = await page.locator('#lesson-title').textContent();
    assert(title === evil, `the title is not shown as text: ${title}`);
    assert((await page.locator('#lesson-description').textContent()).includes('<b>not bold</b>'), 'the description is not text');
    assert((await page.locator('#lesson-info img, #lesson-info script, #lesson-info b, #problems img').count()) === 0, 'HTML from the scenario reached the DOM');
    const problems = await page.locator('#problems').textContent();
    assert(problems.includes('<script>'), `the invalid name is not shown as text: ${problems}`);
    assert((await page.evaluate(() => window.__pwned)) === undefined, 'a script from the scenario ran');
    await page.screenshot({ path: join(shots, '07-xss-as-text.png') });
  },

  // Keyboard only: reach a flow, step with the arrow keys, switch tabs.
  async keyboard(page) {
    await page.goto(url);
    await runsAfter(page, 0);
    await page.locator('#flow-list button').first().focus();
    await page.keyboard.press('Enter');
    const start = await page.locator('#step-label').textContent();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    const after = await page.locator('#step-label').textContent();
    assert(start.startsWith('hop 1 ') && after.startsWith('hop 3 '), `arrow keys did not step: ${start} -> ${after}`);
    await page.keyboard.press('End');
    const total = (await page.locator('#step-label').textContent()).split(' of ')[1];
    assert((await page.locator('#step-label').textContent()) === `hop ${total} of ${total}`, 'End did not jump to the last hop');
    await page.locator('#tab-flows').focus();
    await page.keyboard.press('ArrowRight');
    assert(await page.locator('#pane-expect').isVisible(), 'arrow keys do not switch tabs');
    // Every control can be reached with Tab: a handful of presses from the top reach the
    // lessons, the editor and the controls.
    const seen = new Set();
    await page.locator('body').focus();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      seen.add(await page.evaluate(() => document.activeElement?.id || document.activeElement?.className || document.activeElement?.tagName));
    }
    assert(seen.has('seed') && seen.has('mode') && seen.has('share'), `Tab does not reach the controls: ${[...seen].join(', ')}`);
  },

  // A phone-width screen: one column, nothing wider than the screen.
  async phone(page) {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(url);
    await runsAfter(page, 0);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= 391, `the page is ${width}px wide on a 390px screen`);
    await page.click('#lessons-toggle');
    assert(await page.locator('#lessons').isVisible(), 'the lessons do not open on a phone');
    await page.screenshot({ path: join(shots, '08-phone.png'), fullPage: true });
  },

  // edit -> diagnostics -> simulation -> redraw, for each lesson (BENCHMARKS.md).
  async timings(page, report) {
    await page.goto(url);
    let n = await runsAfter(page, 0);
    const ids = await page.locator('#lesson-list button.lesson:not(.exercise)').evaluateAll((bs) => bs.map((b) => b.dataset.id));
    assert(ids.length >= 14, `only ${ids.length} lessons in the sidebar`);
    const out = [];
    for (const id of ids) {
      await page.click(`#lesson-list button[data-id="${id}"]`);
      n = await runsAfter(page, n);
      const samples = [];
      for (let k = 0; k < 5; k++) {
        await page.evaluate(() => document.querySelector('.cm-content').focus());
        await page.keyboard.press('Control+End');
        await page.keyboard.type(k % 2 ? 'x' : '#');
        n = await runsAfter(page, n);
        samples.push(await page.evaluate(() => window.__simctl.timings.at(-1)));
      }
      const med = (key) => samples.map((s) => s[key]).sort((a, b) => a - b)[2];
      out.push({ lesson: id, totalMs: med('totalMs'), debounceMs: med('debounceMs'), simMs: med('simMs'), drawMs: med('drawMs') });
    }
    report.lessonTimings = out;
  },
};

const report = {};
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-gpu',
  ],
});
try {
  for (const [name, test] of Object.entries(tests)) {
    if (only.length && !only.includes(name)) continue;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // Nothing leaves the page's origin, ever; after the first run, nothing at all.
    const problems = [];
    const watch = (page) => {
      // The page, its worker and its module are fetched on load; from its first drawn run
      // on, the page asks for nothing more.
      let loaded = false;
      page.on('load', () => {
        page.waitForFunction(() => Number(document.body.dataset.runs ?? 0) > 0, null, { timeout: 30000 })
          .then(() => { loaded = true; }, () => {});
      });
      page.on('framenavigated', (f) => {
        if (f === page.mainFrame()) loaded = false;
      });
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (r) => {
        const u = r.url();
        if (u.startsWith('data:') || u.startsWith('blob:')) return;
        if (!u.startsWith(origin)) problems.push(`request outside the origin: ${u}`);
        else if (loaded && r.resourceType() !== 'document') problems.push(`request after load: ${u}`);
      });
      page.on('dialog', (d) => {
        problems.push(`a dialog opened: ${d.message()}`);
        void d.dismiss();
      });
    };
    context.on('page', watch);
    const page = await context.newPage();
    page.setDefaultTimeout(20000);
    const t0 = Date.now();
    try {
      await test(page, report);
      assert(problems.length === 0, problems.join('; '));
      report[name] = { ok: true, ms: Date.now() - t0 };
    } catch (e) {
      try {
        await page.screenshot({ path: join(shots, `failed-${name}.png`) });
      } catch {}
      report[name] = { ok: false, error: String(e?.message ?? e) + (problems.length ? ` [also: ${problems.join('; ')}]` : '') };
    }
    await context.close();
  }
} finally {
  await browser.close();
}
writeFileSync(join(shots, 'report.json'), JSON.stringify(report, null, 2));
process.stdout.write(`${JSON.stringify(report)}\n`);
