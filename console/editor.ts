/**
 * The playground's editor: CodeMirror 6 with TypeScript highlighting and the guest API's
 * completions, mounted in a shadow root so that its styles go into a constructed stylesheet (the
 * console's CSP allows no inline <style>). Compile errors are shown as diagnostics at their line.
 */
import { autocompletion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { javascript, javascriptLanguage } from '@codemirror/lang-javascript';
import { setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorView, basicSetup } from 'codemirror';
import { guestCompletions } from './guest-api.ts';

export interface Editor {
  el: HTMLElement;
  get value(): string;
  set value(text: string);
  /** Marks `file:line:col: message` lines of a compile error; returns the lines it could place. */
  showErrors(message: string): { line: number; column: number; message: string }[];
  clearErrors(): void;
  focus(): void;
}

function complete(ctx: CompletionContext): CompletionResult | null {
  const word = ctx.matchBefore(/[A-Za-z_$][\w$]*\.?[\w$]*/);
  if (!word || (word.from === word.to && !ctx.explicit)) return null;
  const dot = word.text.lastIndexOf('.');
  const object = dot < 0 ? undefined : word.text.slice(0, dot);
  const options = guestCompletions(object).map((c) => ({ label: c.label, type: c.type, detail: c.detail, info: c.info }));
  return options.length ? { from: dot < 0 ? word.from : word.from + dot + 1, options, validFor: /^[\w$]*$/ } : null;
}

const theme = EditorView.theme({
  '&': { fontSize: '14px', border: '1px solid #6b7280', borderRadius: '4px', backgroundColor: '#fff', color: '#111827' },
  '&.cm-focused': { outline: '2px solid #1f5fbf', outlineOffset: '1px' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', minHeight: '300px', maxHeight: '60vh' },
  '.cm-gutters': { backgroundColor: '#f3f4f6', color: '#374151', borderRight: '1px solid #d1d5db' },
  '.cm-lintRange-error': { backgroundColor: '#fde8e8' },
});

export function createEditor(label: string, doc: string): Editor {
  const el = document.createElement('div');
  el.className = 'editor-host';
  const shadow = el.attachShadow({ mode: 'open' });
  const view = new EditorView({
    doc,
    root: shadow,
    parent: shadow,
    extensions: [
      basicSetup,
      javascript({ typescript: true }),
      javascriptLanguage.data.of({ autocomplete: complete }),
      autocompletion(),
      theme,
      EditorView.contentAttributes.of({ 'aria-label': label }),
    ],
  });
  return {
    el,
    get value() {
      return view.state.doc.toString();
    },
    set value(text: string) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    showErrors(message) {
      const found: { line: number; column: number; message: string }[] = [];
      const diagnostics: Diagnostic[] = [];
      for (const m of message.matchAll(/^[^\n:]*:(\d+):(\d+):\s*(.*)$/gm)) {
        const line = Number(m[1]);
        const column = Number(m[2]);
        if (line < 1 || line > view.state.doc.lines) continue;
        const l = view.state.doc.line(line);
        const from = Math.min(l.from + Math.max(0, column - 1), l.to);
        found.push({ line, column, message: m[3]! });
        diagnostics.push({ from, to: Math.max(from, l.to), severity: 'error', message: m[3]! });
      }
      view.dispatch(setDiagnostics(view.state, diagnostics));
      if (found[0]) view.dispatch({ selection: { anchor: view.state.doc.line(found[0].line).from }, scrollIntoView: true });
      return found;
    },
    clearErrors() {
      view.dispatch(setDiagnostics(view.state, []));
    },
    focus() {
      view.focus();
    },
  };
}
