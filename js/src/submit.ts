import { Notification } from '@jupyterlab/apputils';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { listWorkflows, submitJob } from './api';
import { button, el, renderError } from './dom';
import { PromethiumAPIError } from './handler';
import { IFormField, collectParameters, formFields, initialText } from './schemaform';
import type { IJobRecord, IWorkflowKind } from './types.gen';

/** One field's inputs. */
interface IFieldView {
  field: IFormField;
  input: HTMLInputElement | HTMLSelectElement;
  error: HTMLDivElement;
}

/**
 * The Submit tab: a job kind picker and a form built from the kind's parameter JSON
 * Schema (`GET promethium/workflows`): one input per parameter by its type, with the
 * default and description; paths are relative to the server root. The server's refusal
 * (the 400 envelope) is shown on the field it is about, else above the button.
 */
export class SubmitTab extends Widget {
  constructor(onSubmitted: (record: IJobRecord) => void) {
    super();
    this._onSubmitted = onSubmitted;
    this.id = 'promethium-lab-submit';
    this.title.label = 'Submit';
    this.addClass('pl-Tab');
    this.addClass('pl-SubmitTab');

    const picker = el('label', 'pl-Form-row pl-Submit-kindRow');
    picker.appendChild(el('span', 'pl-Form-label', 'Task'));
    this._kind = el('select', 'pl-Submit-kind');
    this._kind.setAttribute('aria-label', 'Job kind');
    this._kind.addEventListener('change', () => this._renderForm());
    picker.appendChild(this._kind);
    this._description = el('div', 'pl-Submit-description');
    this._form = el('form', 'pl-Form');
    this._form.noValidate = true;
    this._form.addEventListener('submit', event => {
      event.preventDefault();
      void this.submit();
    });
    this._status = el('div', 'pl-Tab-status pl-Submit-status');
    this._status.setAttribute('role', 'status');
    this._button = button('pl-Submit-button', 'Submit', () => void this.submit(), { text: true });
    this._button.classList.add('jp-mod-accept');
    this.node.append(picker, this._description, this._form, this._status, this._button);
  }

  /** The kind selected. */
  get kind(): string {
    return this._kind.value;
  }

  /** Pick a kind and fill some fields (e.g. ingest of a dataset), then show the form. */
  async prefill(kind: string, values: Record<string, string>): Promise<void> {
    await this._load();
    if (![...this._kind.options].some(o => o.value === kind)) {
      return;
    }
    this._kind.value = kind;
    this._renderForm();
    for (const view of this._views) {
      if (view.field.name in values) {
        view.input.value = values[view.field.name];
      }
    }
    this._views[0]?.input.focus();
  }

  /** Check the form, then `POST promethium/jobs`. */
  async submit(): Promise<IJobRecord | null> {
    const fields = this._views.map(v => v.field);
    const raws: Record<string, string | boolean> = {};
    for (const view of this._views) {
      raws[view.field.name] =
        view.field.type === 'boolean' ? (view.input as HTMLInputElement).checked : view.input.value;
      this._setError(view, '');
    }
    this._status.className = 'pl-Tab-status pl-Submit-status';
    this._status.textContent = '';
    const { parameters, errors } = collectParameters(fields, raws);
    if (Object.keys(errors).length) {
      for (const view of this._views) {
        this._setError(view, errors[view.field.name] ?? '');
      }
      this._status.textContent = 'Fix the marked fields.';
      this._status.classList.add('pl-mod-error');
      return null;
    }
    this._button.disabled = true;
    this._status.textContent = 'Submitting…';
    try {
      const record = await submitJob({ kind: this.kind, parameters, executor: 'process' });
      this._status.textContent = `Submitted ${record.kind} job ${record.id}.`;
      Notification.info(`Submitted ${record.kind} job ${record.id}`, { autoClose: 4000 });
      this._onSubmitted(record);
      return record;
    } catch (error) {
      // the server names the parameter it refused (the envelope's `field`)
      const name = error instanceof PromethiumAPIError ? error.field : null;
      const view = this._views.find(v => v.field.name === name);
      if (view && error instanceof PromethiumAPIError) {
        this._setError(view, `${error.message}${error.hint ? ` — ${error.hint}` : ''}`);
        this._status.className = 'pl-Tab-status pl-Submit-status pl-mod-error';
        this._status.textContent = `${error.code}: see the field ${name}.`;
        view.input.focus();
      } else {
        renderError(this._status, error);
      }
      return null;
    } finally {
      this._button.disabled = false;
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._load();
  }

  private async _load(): Promise<void> {
    if (this._workflows.length) {
      return;
    }
    try {
      const { workflows } = await listWorkflows();
      if (this._workflows.length) {
        return;
      }
      this._workflows = workflows;
      this._kind.replaceChildren(
        ...workflows.map(w => {
          const option = el('option', '', w.error ? `${w.kind} (unavailable)` : w.kind);
          option.value = w.kind;
          option.disabled = w.error !== null;
          option.title = w.error ? `${w.error.code}: ${w.error.message}` : w.description;
          return option;
        })
      );
      const first = workflows.find(w => w.kind === 'reconstruct' && !w.error) ?? workflows.find(w => !w.error);
      if (first) {
        this._kind.value = first.kind;
      }
      this._renderForm();
    } catch (error) {
      renderError(this._status, error);
    }
  }

  private _renderForm(): void {
    const workflow = this._workflows.find(w => w.kind === this._kind.value);
    this._views = [];
    this._form.replaceChildren();
    this._status.textContent = '';
    if (!workflow) {
      return;
    }
    this._description.textContent = workflow.description;
    this._form.dataset.kind = workflow.kind;
    for (const field of formFields(workflow.parameters)) {
      if (field.pythonOnly) {
        continue;
      }
      const view = this._renderField(field);
      this._views.push(view);
    }
  }

  private _renderField(field: IFormField): IFieldView {
    const row = el('div', `pl-Form-row pl-Form-field pl-mod-${field.type}`);
    row.dataset.field = field.name;
    const id = `pl-submit-${this._kind.value}-${field.name}`;
    const label = el('label', 'pl-Form-label', field.title + (field.required ? ' *' : ''));
    label.htmlFor = id;
    label.title = field.name;
    let input: HTMLInputElement | HTMLSelectElement;
    if (field.type === 'enum') {
      const select = el('select', 'pl-Form-input');
      if (!field.required) {
        const auto = el('option', '', field.default === undefined || field.default === null ? '(default)' : `(default: ${String(field.default)})`);
        auto.value = '';
        select.appendChild(auto);
      }
      for (const option of field.options) {
        const node = el('option', '', String(option));
        node.value = String(option);
        select.appendChild(node);
      }
      select.value = field.default === undefined || field.default === null ? '' : String(field.default);
      input = select;
    } else if (field.type === 'boolean') {
      const box = el('input', 'pl-Form-checkbox');
      box.type = 'checkbox';
      box.checked = field.default === true;
      input = box;
    } else {
      const text = el('input', 'pl-Form-input');
      text.type = 'text';
      text.inputMode = field.type === 'number' ? 'decimal' : field.type === 'integer' ? 'numeric' : 'text';
      text.value = initialText(field);
      text.placeholder =
        field.type === 'path'
          ? field.output
            ? 'new path, relative to the server root'
            : 'path relative to the server root'
          : field.type === 'json'
            ? `JSON (${field.accepts.join(' or ')})${field.nullable ? ', or None' : ''}`
            : field.nullable
              ? 'None'
              : '';
      input = text;
    }
    input.id = id;
    input.name = field.name;
    input.title = field.description;
    const error = el('div', 'pl-Form-error');
    error.id = `${id}-error`;
    error.setAttribute('aria-live', 'polite');
    input.setAttribute('aria-describedby', error.id);
    row.append(label, input);
    if (field.description) {
      row.appendChild(el('div', 'pl-Form-help', field.description));
    }
    row.appendChild(error);
    this._form.appendChild(row);
    return { field, input, error };
  }

  private _setError(view: IFieldView, text: string): void {
    view.error.textContent = text;
    view.input.setAttribute('aria-invalid', text ? 'true' : 'false');
    view.error.parentElement?.classList.toggle('pl-mod-invalid', Boolean(text));
  }

  private _onSubmitted: (record: IJobRecord) => void;
  private _workflows: IWorkflowKind[] = [];
  private _views: IFieldView[] = [];
  private _kind: HTMLSelectElement;
  private _description: HTMLDivElement;
  private _form: HTMLFormElement;
  private _status: HTMLDivElement;
  private _button: HTMLButtonElement;
}
