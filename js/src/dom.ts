import { LabIcon } from '@jupyterlab/ui-components';

/** A new element with a class and, optionally, its text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** A text that is cut with an ellipsis when too long, the whole of it in its tooltip. */
export function ellipsized(tag: 'span' | 'div', className: string, text: string, title = text): HTMLElement {
  const node = el(tag, `${className} pl-mod-ellipsis`, text);
  node.title = title;
  return node;
}

/** A button with a label and/or an icon; `label` is also its accessible name. */
export function button(
  className: string,
  label: string,
  onClick: (event: MouseEvent) => void,
  options: { icon?: LabIcon; text?: boolean; title?: string } = {}
): HTMLButtonElement {
  const node = el('button', `jp-Button pl-Button ${className}`);
  node.type = 'button';
  node.title = options.title ?? label;
  node.setAttribute('aria-label', label);
  if (options.icon) {
    options.icon.element({ container: node, tag: 'span' });
  }
  if (options.text ?? !options.icon) {
    node.appendChild(el('span', 'pl-Button-label', label));
  }
  node.addEventListener('click', event => {
    event.stopPropagation();
    onClick(event);
  });
  return node;
}

/** Show an error envelope (code, message, hint) in `node`. */
export function renderError(node: HTMLElement, error: unknown): void {
  node.replaceChildren();
  node.classList.add('pl-mod-error');
  const e = error as { code?: string; message?: string; hint?: string };
  const head = e && typeof e.code === 'string' ? `${e.code}: ${e.message ?? ''}` : String(error);
  node.appendChild(el('div', 'pl-Error-message', head));
  if (e && e.hint) {
    node.appendChild(el('div', 'pl-Error-hint', e.hint));
  }
}
