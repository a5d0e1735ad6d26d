import { signIn } from '../api.ts';
import { field, h, replace } from '../dom.ts';

export function renderSignIn(main: HTMLElement, done: () => void): void {
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false' });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'card narrow',
      // never GET: were the handler ever skipped, the token would land in the URL (history, logs, Referer)
      method: 'post',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        submit.disabled = true;
        error.textContent = '';
        try {
          await signIn(token.value.trim());
          token.value = '';
          done();
        } catch (err) {
          error.textContent = (err as Error).message;
          submit.disabled = false;
          token.focus();
        }
      },
    },
    field('Token', token, 'The operator’s root token (FAAS_ADMIN_TOKEN) or a tenant token (faas tenant token <tenant>). It is sent once; the session lives in an HttpOnly cookie.'),
    submit,
    error,
  );
  replace(main, h('h1', null, 'Sign in'), form);
  token.focus();
}
