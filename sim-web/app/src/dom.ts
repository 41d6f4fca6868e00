// Building DOM from user data without ever parsing it as HTML: every string goes in as a
// text node (`textContent`), so a scenario named `<script>` shows as the text `<script>`.

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined | null> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = String(v);
    else if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el;
}

/// Text with `code` spans and blank-line paragraphs, as scenario descriptions are written;
/// everything else stays text.
export function prose(text: string): DocumentFragment {
  const frag = document.createDocumentFragment();
  for (const para of text.trim().split(/\n\s*\n/)) {
    const lines = para.split('\n');
    const isList = lines.every((l) => /^\s*([-*]|\d+\.)\s/.test(l) || /^\s{2,}\S/.test(l));
    if (isList) {
      const ul = h('ul');
      let li: HTMLLIElement | null = null;
      for (const l of lines) {
        if (/^\s*([-*]|\d+\.)\s/.test(l)) {
          li = h('li');
          ul.append(li);
          inline(li, l.replace(/^\s*([-*]|\d+\.)\s/, ''));
        } else if (li) {
          inline(li, ' ' + l.trim());
        }
      }
      frag.append(ul);
    } else {
      const p = h('p');
      inline(p, lines.join(' '));
      frag.append(p);
    }
  }
  return frag;
}

function inline(parent: HTMLElement, text: string): void {
  const parts = text.split(/(`[^`]*`|\*\*[^*]+\*\*)/);
  for (const part of parts) {
    if (part.startsWith('`') && part.endsWith('`') && part.length >= 2) {
      parent.append(h('code', { text: part.slice(1, -1) }));
    } else if (part.startsWith('**') && part.endsWith('**') && part.length >= 4) {
      parent.append(h('strong', { text: part.slice(2, -2) }));
    } else if (part) {
      parent.append(document.createTextNode(part));
    }
  }
}
