import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { codeIcon, copyIcon, launchIcon, refreshIcon } from '@jupyterlab/ui-components';

import { getSummary, listDatasets } from './api';
import { button, el, ellipsized, renderError } from './dom';
import { formatBytes, summaryLine } from './format';
import { PromethiumAPIError } from './handler';
import { KIND_LABELS, dirname } from './paths';
import type { IDataset, IDatasetList } from './types.gen';

/** What a dataset card can do (the plugin's commands). */
export interface IDatasetActions {
  /** Open the seismic viewer (the card's click). */
  open(dataset: IDataset): void;
  /** Open a section view in the main area. */
  sectionView(dataset: IDataset): void;
  /** Insert the code that opens it in the active notebook. */
  insertCode(dataset: IDataset): void;
  /** Prepare an ingest job into a store (files). */
  ingest(dataset: IDataset): void;
  /** Copy its path, with a confirmation. */
  copyPath(dataset: IDataset): void;
}

/** Summaries asked at once at most (each reads a file's trace headers). */
const SUMMARY_CONCURRENCY = 2;

/**
 * The Datasets tab: the seismic files and stores under a folder of the server root, each
 * a card with its geometry summary (`datasets/summary`, headers only) and actions.
 */
export class DatasetsTab extends Widget {
  constructor(actions: IDatasetActions) {
    super();
    this._actions = actions;
    this.addClass('pl-Tab');
    this.addClass('pl-DatasetsTab');
    this.id = 'promethium-lab-datasets';
    this.title.label = 'Datasets';

    const bar = el('div', 'pl-Tab-toolbar');
    this._rootNode = ellipsized('span', 'pl-Panel-root', '');
    bar.appendChild(this._rootNode);
    this._refreshButton = button('pl-Panel-refresh', 'Refresh datasets', () => void this.refresh(), {
      icon: refreshIcon
    });
    bar.appendChild(this._refreshButton);
    this.node.appendChild(bar);

    this._statusNode = el('div', 'pl-Panel-status');
    this._statusNode.setAttribute('role', 'status');
    this.node.appendChild(this._statusNode);
    this._listNode = el('ul', 'pl-DatasetList');
    this.node.appendChild(this._listNode);
    this._renderRoot();
  }

  /** Folder scanned, relative to the server root ('' is the root). */
  get root(): string {
    return this._root;
  }
  set root(value: string) {
    const root = value.replace(/^\/+|\/+$/g, '');
    if (root !== this._root) {
      this._root = root;
      this._renderRoot();
      if (this._loaded) {
        void this.refresh();
      }
    }
  }

  /** The datasets listed. */
  get datasets(): IDataset[] {
    return this._datasets;
  }

  /** The dataset of a card node (for context-menu commands). */
  datasetOf(node: HTMLElement): IDataset | undefined {
    const path = node.closest<HTMLElement>('.pl-Dataset')?.dataset.path;
    return this._datasets.find(d => d.path === path);
  }

  /** List the datasets again (and their summaries). */
  async refresh(): Promise<void> {
    const request = ++this._request;
    this._loaded = true;
    this.node.setAttribute('aria-busy', 'true');
    this._refreshButton.disabled = true;
    this._statusNode.className = 'pl-Panel-status';
    this._statusNode.textContent = 'Looking for datasets…';
    try {
      const list = await listDatasets(this._root);
      if (request === this._request) {
        this._renderList(list);
      }
    } catch (error) {
      if (request === this._request) {
        this._listNode.replaceChildren();
        renderError(this._statusNode, error);
        if (!(error instanceof PromethiumAPIError)) {
          this._statusNode.appendChild(
            el('div', 'pl-Error-hint', 'check that `jupyter server extension list` shows promethium_lab enabled')
          );
        }
      }
    } finally {
      if (request === this._request) {
        this.node.removeAttribute('aria-busy');
        this._refreshButton.disabled = false;
      }
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (!this._loaded) {
      void this.refresh();
    }
  }

  private _renderRoot(): void {
    this._rootNode.textContent = `in /${this._root}`;
    this._rootNode.title = `Folder scanned, relative to the server root: /${this._root}`;
  }

  private _renderList(list: IDatasetList): void {
    this._datasets = list.datasets;
    const n = list.datasets.length;
    this._statusNode.className = 'pl-Panel-status';
    this._statusNode.textContent =
      n === 0
        ? 'No SEG-Y, SU, miniSEED, SAC files or promethium/MDIO Zarr stores ' +
          `within ${list.max_depth} folder levels.`
        : `${n} dataset${n === 1 ? '' : 's'}` +
          (list.truncated ? ' (listing stopped early: narrow the folder)' : '');
    const cards = list.datasets.map(d => this._renderItem(d));
    this._listNode.replaceChildren(...cards.map(c => c.item));
    void this._summarize(cards);
  }

  /** Fill in the cards' geometry summaries, a few at a time. */
  private async _summarize(cards: { dataset: IDataset; summary: HTMLElement }[]): Promise<void> {
    const request = this._request;
    const queue = [...cards];
    const worker = async (): Promise<void> => {
      for (let card = queue.shift(); card; card = queue.shift()) {
        if (request !== this._request) {
          return;
        }
        if (card.dataset.kind === 'zarr' && card.dataset.consolidated === false) {
          card.summary.textContent = 'unfinished store (ingest running or interrupted)';
          continue;
        }
        try {
          const summary = await getSummary(card.dataset.path);
          card.summary.textContent = summaryLine(summary);
          card.summary.title = `${summary.live_traces} live of ${summary.traces} traces · ${summary.headers_digest}`;
        } catch (error) {
          card.summary.classList.add('pl-mod-error');
          const e = error as PromethiumAPIError;
          card.summary.textContent = e.code ? `${e.code}: ${e.message}` : String(error);
          card.summary.title = e.hint ?? '';
        }
      }
    };
    await Promise.all(Array.from({ length: SUMMARY_CONCURRENCY }, worker));
  }

  private _renderItem(dataset: IDataset): { dataset: IDataset; item: HTMLLIElement; summary: HTMLElement } {
    const item = el('li', 'pl-Dataset');
    item.dataset.kind = dataset.kind;
    item.dataset.path = dataset.path;
    item.tabIndex = 0;
    item.title = `${dataset.path}\nmodified ${dataset.modified}\nclick: open the viewer · right-click: more`;

    const label =
      dataset.kind === 'zarr' && dataset.flavor === 'mdio' ? 'MDIO' : KIND_LABELS[dataset.kind] ?? dataset.kind;
    item.appendChild(el('span', `pl-Dataset-badge pl-mod-${dataset.kind}`, label));

    const body = el('div', 'pl-Dataset-body');
    body.appendChild(ellipsized('span', 'pl-Dataset-name', dataset.name, dataset.path));
    const details: string[] = [];
    const folder = dirname(dataset.path);
    details.push(folder ? `${folder}/` : '/');
    if (dataset.size !== null) {
      details.push(formatBytes(dataset.size));
    }
    if (dataset.geometry) {
      details.push(dataset.geometry);
    }
    if (dataset.shape) {
      details.push(dataset.shape.join(' × '));
    }
    if (dataset.kind === 'zarr' && dataset.consolidated === false) {
      details.push('not consolidated');
    }
    const detail = details.join(' · ');
    body.appendChild(ellipsized('span', 'pl-Dataset-detail', detail));
    const summary = ellipsized('span', 'pl-Dataset-summary', 'reading headers…');
    body.appendChild(summary);
    item.appendChild(body);

    const tools = el('div', 'pl-Dataset-tools');
    tools.append(
      button('pl-Dataset-section', `Section view of ${dataset.name}`, () => this._actions.sectionView(dataset), {
        icon: launchIcon,
        title: 'Open a section view in the main area'
      }),
      button('pl-Dataset-insert', `Insert code opening ${dataset.name}`, () => this._actions.insertCode(dataset), {
        icon: codeIcon,
        title: 'Insert the code that opens it in the active notebook'
      }),
      button('pl-Dataset-copy', `Copy the path of ${dataset.name}`, () => this._actions.copyPath(dataset), {
        icon: copyIcon,
        title: 'Copy the path (relative to the server root)'
      })
    );
    if (dataset.kind !== 'zarr') {
      tools.appendChild(
        button('pl-Dataset-ingest', 'Ingest', () => this._actions.ingest(dataset), {
          text: true,
          title: 'Ingest into a chunked, compressed Zarr store (a job)'
        })
      );
    }
    item.appendChild(tools);
    item.addEventListener('click', () => this._actions.open(dataset));
    item.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        this._actions.open(dataset);
      }
    });
    return { dataset, item, summary };
  }

  private _actions: IDatasetActions;
  private _root = '';
  private _datasets: IDataset[] = [];
  private _request = 0;
  private _loaded = false;
  private _refreshButton: HTMLButtonElement;
  private _rootNode: HTMLElement;
  private _statusNode: HTMLDivElement;
  private _listNode: HTMLUListElement;
}
