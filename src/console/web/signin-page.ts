/** The sign-in page (`/signin`): a personal token from `plan-runner users add NAME` becomes a session cookie. */
import { describeError, signIn } from './api.js';
import { h, notice, replace } from './dom.js';

export function signinPage(root: HTMLElement, done: () => void): void {
  const token = h('input', { type: 'password', name: 'token', id: 'token', autocomplete: 'current-password', placeholder: 'prt_…', required: true });
  const message = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'signin', onsubmit: async (event: Event) => {
    event.preventDefault();
    try {
      await signIn(token.value.trim());
      done();
    } catch (error) {
      replace(message, notice('error', `Sign-in refused: ${describeError(error)}`));
    }
  } }, h('label', { for: 'token' }, 'Personal token'), token, h('button', { type: 'submit' }, 'Sign in'));
  replace(root, h('h1', {}, 'Sign in'), h('p', {}, 'Paste the token that ', h('code', {}, 'plan-runner users add YOUR-NAME'), ' printed. It is kept by the console as a hash only.'), form, message);
}
