// The YAML editor: CodeMirror 6 with the simulator's diagnostics inline, at their line and
// column, and helpers to jump to a line and to apply a proposed fix as a minimal change.
import { basicSetup } from 'codemirror';
import { EditorView, keymap } from '@codemirror/view';
import { EditorState, type Text } from '@codemirror/state';
import { indentWithTab } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { lintGutter, setDiagnostics, type Diagnostic as CmDiagnostic } from '@codemirror/lint';
import type { Diagnostic } from './types';

export interface Editor {
  view: EditorView;
  text(): string;
  setText(text: string): void;
  replaceMinimal(next: string): void;
  showDiagnostics(diags: Diagnostic[]): void;
  gotoLine(line: number, column?: number): void;
}

export function createEditor(parent: HTMLElement, onChange: () => void): Editor {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: '',
      extensions: [
        basicSetup,
        // Tab indents inside the editor; Escape then Tab leaves it (CodeMirror's own
        // convention), so the page stays keyboard-usable.
        keymap.of([indentWithTab]),
        yaml(),
        lintGutter(),
        EditorView.contentAttributes.of({ 'aria-label': 'Scenario YAML' }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange();
        }),
      ],
    }),
  });

  const pos = (doc: Text, line: number, column = 1): number => {
    const l = doc.line(Math.min(Math.max(1, line), doc.lines));
    return Math.min(l.from + Math.max(0, column - 1), l.to);
  };

  return {
    view,
    text: () => view.state.doc.toString(),
    setText(text: string) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    // Replace only what differs (common prefix and suffix kept), so the cursor, the undo
    // history and the scroll position survive a one-line fix.
    replaceMinimal(next: string) {
      const cur = view.state.doc.toString();
      if (cur === next) return;
      let a = 0;
      const max = Math.min(cur.length, next.length);
      while (a < max && cur.charCodeAt(a) === next.charCodeAt(a)) a++;
      let b = 0;
      while (b < max - a && cur.charCodeAt(cur.length - 1 - b) === next.charCodeAt(next.length - 1 - b)) b++;
      view.dispatch({
        changes: { from: a, to: cur.length - b, insert: next.slice(a, next.length - b) },
        selection: { anchor: a },
        scrollIntoView: true,
      });
    },
    showDiagnostics(diags: Diagnostic[]) {
      const doc = view.state.doc;
      const out: CmDiagnostic[] = [];
      for (const d of diags) {
        if (d.line === null || d.line === undefined) continue;
        const from = pos(doc, d.line, d.column ?? 1);
        const lineEnd = doc.lineAt(from).to;
        out.push({
          from,
          to: Math.max(from, lineEnd),
          severity: d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warning' : 'info',
          source: d.code,
          message: d.field ? `${d.message}  (${d.field})` : d.message,
        });
      }
      view.dispatch(setDiagnostics(view.state, out));
    },
    gotoLine(line: number, column = 1) {
      const doc = view.state.doc;
      const at = pos(doc, line, column);
      const l = doc.lineAt(at);
      view.dispatch({
        selection: { anchor: l.from, head: l.to },
        effects: EditorView.scrollIntoView(at, { y: 'center' }),
      });
      view.focus();
    },
  };
}
