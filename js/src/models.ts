import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { refreshIcon } from '@jupyterlab/ui-components';

import { getModel, listModels } from './api';
import { button, el, ellipsized, renderError } from './dom';
import type { IModelDetail, IModelSummary } from './types.gen';

function compact(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : JSON.stringify(v)}`)
    .join(', ');
}

/**
 * The Models tab: the model registry (the user's, then the shipped models), each version
 * with its lineage — the survey it was trained on, training parameters, seed, metrics,
 * software versions — and, on opening, all versions and its configuration.
 */
export class ModelsTab extends Widget {
  constructor() {
    super();
    this.id = 'promethium-lab-models';
    this.title.label = 'Models';
    this.addClass('pl-Tab');
    this.addClass('pl-ModelsTab');
    const bar = el('div', 'pl-Tab-toolbar');
    bar.append(el('span', 'pl-Tab-hint', 'Registry with lineage'), button('pl-Models-refresh', 'Refresh models', () => void this.refresh(), { icon: refreshIcon }));
    this._status = el('div', 'pl-Tab-status');
    this._status.setAttribute('role', 'status');
    this._list = el('ul', 'pl-ModelList');
    this.node.append(bar, this._status, this._list);
  }

  /** Read the registry again. */
  async refresh(): Promise<void> {
    this._loaded = true;
    this._status.className = 'pl-Tab-status';
    this._status.textContent = 'Reading the registry…';
    try {
      const { models } = await listModels();
      this._status.textContent = `${models.length} model version${models.length === 1 ? '' : 's'}`;
      this._list.replaceChildren(...models.map(m => this._renderModel(m)));
    } catch (error) {
      renderError(this._status, error);
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this._loaded) {
      void this.refresh();
    }
  }

  private _renderModel(model: IModelSummary): HTMLLIElement {
    const item = el('li', 'pl-Model');
    item.dataset.ref = model.ref;
    const details = el('details', 'pl-Model-details');
    const summary = el('summary', 'pl-Model-summary');
    summary.append(
      ellipsized('span', 'pl-Model-name', model.ref),
      el('span', `pl-Badge pl-mod-${model.builtin ? 'builtin' : 'user'}`, model.builtin ? 'shipped' : 'trained'),
      el('span', 'pl-Model-arch', model.architecture)
    );
    details.appendChild(summary);
    const rows: [string, string][] = [
      ['What', model.description || '—'],
      ['Trained on', model.trained_on],
      ['Seed', model.seed === null ? '—' : String(model.seed)],
      ['Parameters', compact(model.parameters) || '—'],
      ['Metrics', compact(model.metrics) || '—'],
      ['Saved', model.created ?? '—'],
      ['Software', compact(model.software) || '—'],
      ['Weights', model.weights_sha256 ?? '—']
    ];
    const table = el('table', 'pl-Model-lineage');
    for (const [label, text] of rows) {
      const tr = el('tr', '');
      const td = el('td', '');
      td.appendChild(ellipsized('span', 'pl-Model-value', text));
      tr.append(el('th', '', label), td);
      table.appendChild(tr);
    }
    details.appendChild(table);
    const more = el('div', 'pl-Model-more');
    details.appendChild(more);
    details.addEventListener('toggle', () => {
      if (details.open && !more.childElementCount) {
        more.textContent = 'Reading versions…';
        getModel(model.ref)
          .then(detail => this._renderDetail(more, detail))
          .catch(error => renderError(more, error));
      }
    });
    item.appendChild(details);
    return item;
  }

  private _renderDetail(node: HTMLElement, detail: IModelDetail): void {
    node.replaceChildren(
      el('div', 'pl-Model-versions', `Versions: ${detail.versions.map(v => `v${v}`).join(', ')}`),
      ellipsized('div', 'pl-Model-config', `Config: ${compact(detail.config) || '—'}`)
    );
  }

  private _loaded = false;
  private _status: HTMLDivElement;
  private _list: HTMLUListElement;
}
